"""Scale of waiting: memory per pending order and the time to resolve them all."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import bwnumbers
from bwnumbers import Notification, Order, OrderDetails, OrderRequest, OrderStatus, OrderWaiters
from bwnumbers._waiters import LocalWaiter


async def _measure_memory(build: Callable[[], Awaitable[object]], count: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = await build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return (after - before) / count


class _InstantBandwidth:
    """Accepts every order at once; an order is COMPLETE when asked (the confirming GET)."""

    async def place_order(self, request: OrderRequest) -> Order:
        order_id = request.customer_order_id.replace("c-", "o-")
        return Order(id=order_id, customer_order_id=request.customer_order_id)

    async def get_order(self, order_id: str) -> OrderDetails:
        return OrderDetails(
            id=order_id, status=OrderStatus.COMPLETE, order=Order(id=order_id),
            completed_numbers=("2125550000",),
        )  # fmt: skip

    async def find_order(self, customer_order_id: str) -> Order | None:
        return None  # never asked: place_order never fails here


async def bench_waiting(*, quick: bool) -> dict[str, Any]:
    """Bytes per pending waiter and per pending order_and_wait; time to resolve them."""
    count = 10_000 if quick else 100_000
    loop = asyncio.get_running_loop()
    notes = [
        Notification(order_id=f"o-{i}", customer_order_id=f"c-{i}", status=OrderStatus.COMPLETE)
        for i in range(count)
    ]

    waiters = OrderWaiters()

    async def register_all() -> list[LocalWaiter]:
        # What `async with waiters.register(key) as waiter` enters, kept open.
        registered = [waiters.register(("orders", f"c-{i}")) for i in range(count)]
        for i, waiter in enumerate(registered):
            await waiter.__aenter__()
            await waiter.bind(f"o-{i}")
        return registered

    per_waiter = await _measure_memory(register_all, count)
    for waiter in list(waiters._waiters):
        waiter.release()

    async def futures_only() -> dict[str, asyncio.Future[Notification]]:
        return {f"o-{i}": loop.create_future() for i in range(count)}

    per_reference = await _measure_memory(futures_only, count)

    registered = await register_all()
    started = time.perf_counter()
    for note in notes:
        waiters.deliver(note)
    await asyncio.gather(*(w.final() for w in registered))
    resolve_s = time.perf_counter() - started
    for waiter in registered:
        waiter.release()

    futures = await futures_only()
    started = time.perf_counter()
    for note in notes:
        future = futures.get(note.order_id or "")
        if future is not None and not future.done():
            future.set_result(note)
    await asyncio.gather(*futures.values())
    reference_resolve_s = time.perf_counter() - started

    # Whole pending order_and_wait calls: waiter, poller task and the coroutine itself.
    orders = count // 10
    fake = _InstantBandwidth()
    pending = OrderWaiters()
    tasks: list[asyncio.Task[bwnumbers.OrderResult]] = []

    async def start_orders() -> None:
        for i in range(orders):
            tasks.append(
                asyncio.ensure_future(
                    bwnumbers.order_and_wait(
                        fake,
                        pending,
                        site_id="1",
                        numbers=[f"212555{i % 10_000:04d}"],
                        customer_order_id=f"c-{i}",
                    )
                )
            )
        await asyncio.sleep(0.05)  # let every call reach its wait

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    await start_orders()
    gc.collect()
    per_order = (tracemalloc.get_traced_memory()[0] - before) / orders
    tracemalloc.stop()
    started = time.perf_counter()
    for note in notes[:orders]:
        pending.deliver(note)
    results = await asyncio.gather(*tasks)
    orders_resolve_s = time.perf_counter() - started
    return {
        "pending_waiters": count,
        "bytes_per_waiter": round(per_waiter),
        "bytes_per_bare_future": round(per_reference),
        "goal_bytes_per_waiter": 2048,
        "resolve_all_s": round(resolve_s, 3),
        "reference_resolve_all_s": round(reference_resolve_s, 3),
        "resolve_ratio": round(reference_resolve_s / resolve_s, 3),
        "pending_order_and_wait": orders,
        "bytes_per_pending_order_and_wait": round(per_order),
        "resolve_orders_s": round(orders_resolve_s, 3),
        "all_resolved": len(results) == orders and len(pending) == 0 and len(waiters) == 0,
    }
