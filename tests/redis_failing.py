"""Helpers of the Redis failure tests: many orders through a cluster while something breaks.

:func:`order_many` orders one explicit number per call (searches cost the emulator ~70 ms of
CPU each), each under its own customer order id, at most :data:`CONCURRENCY` at a time as a
real service's traffic would be, and can run a fault when the n-th call starts.
:func:`check_once_each` is the test of the outcome every failure test shares: every call got
its own order, or a ``StoreUnavailableError`` that ordered nothing, and no order was placed
twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any

from bwnumbers import CallbackReceiver, OrderResult, StoreUnavailableError
from bwnumbers.redis import RedisStore
from bwnumbers.testing import BandwidthEmulator
from tests.redis_cluster import CB_PASSWORD, CB_USER, Cluster, Instance
from tests.redis_server import RedisServer

#: Calls in flight at once: 1,000 at once starve the loop past BEGIN's 2 s budget.
CONCURRENCY = 100

#: Seconds a state reached in the background may take (reconnections back off up to 30 s).
WITHIN = 20.0
#: Seconds after which a call counts as lost (polling every 3 s ends any order well before).
CALL_TIMEOUT = 60.0

Outcome = OrderResult | BaseException


def coid(index: int, tag: str = "fail") -> str:
    return f"{tag}-{index:04d}"


async def order_many(
    group: Cluster,
    numbers: Sequence[str],
    *,
    fault_at: int | None = None,
    fault: Callable[[], Coroutine[Any, Any, None]] | None = None,
    tag: str = "fail",
) -> tuple[list[Outcome], asyncio.Task[None] | None]:
    """Order ``numbers[i]`` under :func:`coid` ``(i)`` from instance ``i % size``.

    When call *fault_at* starts, *fault* starts in the background (the other calls go on);
    its task is returned, finished, so the test sees its exception if it raised.
    """
    gate = asyncio.Semaphore(CONCURRENCY)
    fault_task: asyncio.Task[None] | None = None

    async def one(index: int) -> OrderResult:
        nonlocal fault_task
        async with gate:
            if index == fault_at and fault is not None:
                fault_task = asyncio.create_task(fault())
            instance = group.instances[index % len(group.instances)]
            # A call that never returns is a lost order: it shows as a TimeoutError.
            async with asyncio.timeout(CALL_TIMEOUT):
                return await instance.order(numbers[index], customer_order_id=coid(index, tag))

    results = await asyncio.gather(*(one(i) for i in range(len(numbers))), return_exceptions=True)
    if fault_task is not None:
        await fault_task
    return list(results), fault_task


async def retry_unavailable(
    group: Cluster, numbers: Sequence[str], results: list[Outcome]
) -> list[Outcome]:
    """Call again, with the same customer order id, every call the store refused."""
    retried = list(results)
    for index, result in enumerate(results):
        if isinstance(result, StoreUnavailableError):
            instance = group.instances[index % len(group.instances)]
            retried[index] = await instance.order(numbers[index], customer_order_id=coid(index))
    return retried


def check_once_each(group: Cluster, numbers: Sequence[str], results: Sequence[Outcome]) -> None:
    """Each call has its own order's result, or was refused with nothing ordered; no order
    was placed twice for one customer order id."""
    for index, result in enumerate(results):
        placed = group.emulator.orders_with_customer_order_id(coid(index))
        if isinstance(result, StoreUnavailableError):
            assert placed == [], f"{coid(index)} was refused but ordered: {placed}"
            continue
        assert isinstance(result, OrderResult), f"{coid(index)} raised {result!r}"
        assert result.customer_order_id == coid(index)
        assert result.completed_numbers == (numbers[index],), result
        assert placed == [result.order_id], f"{coid(index)} placed {placed}"


def assert_all_ordered(group: Cluster, results: Sequence[Outcome], before: int = 0) -> None:
    """Every call has a result, the emulator holds exactly one order per call (plus the
    *before* orders placed earlier), and FINISH was true once for each."""
    failed = [r for r in results if not isinstance(r, OrderResult)]
    assert failed == [], f"{len(failed)} calls failed, the first: {failed[:1]}"
    assert group.emulator.order_count == before + len(results), "an order was placed twice"
    finished = [i.store.finished_here for i in group.instances]
    assert sum(finished) == before + len(results), f"FINISH was first {finished} times"


@contextlib.asynccontextmanager
async def every(seconds: float, action: Callable[[], Awaitable[object]]) -> AsyncIterator[None]:
    """Run *action* every *seconds* in the background while the block runs."""

    async def repeat() -> None:
        while True:
            await asyncio.sleep(seconds)
            await action()

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, state: Callable[[], object] = lambda: ""
) -> None:
    """Wait until *check* is true (a state reached in the background); fail after
    :data:`WITHIN` s, saying *what* was awaited and the *state* it was in."""
    try:
        async with asyncio.timeout(WITHIN):
            while not await check():  # noqa: ASYNC110 - Redis and the stores have no event
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not reached within {WITHIN:g} s: {what}; {state()}") from None


async def settled(group: Cluster) -> None:
    """Wait until every instance has written what Redis refused during an outage.

    A FINISH refused while Redis was away is written by the instance's next heartbeat after
    the call returned (the journal's own retries last only while the call does): the count
    of FINISH calls that were first is only final then. The heartbeats are woken now.
    """

    async def nothing_left() -> bool:
        for instance in group.instances:
            instance.store.bus.beat_now.set()
        return all(not i.store.mirror and not i.store.bus.dirty for i in group.instances)

    await eventually(
        nothing_left,
        "every instance wrote its refused writes again",
        lambda: [(len(i.store.mirror), len(i.store.bus.dirty)) for i in group.instances],
    )


async def connections_back_to(server: RedisServer, baseline: int, margin: int) -> None:
    """Wait until Redis counts *baseline* ± *margin* client connections again."""
    counts: list[int] = []

    async def back_to_baseline() -> bool:
        counts.append(await server.client_count())
        return abs(counts[-1] - baseline) <= margin

    await eventually(
        back_to_baseline, f"{baseline} ± {margin} connections", lambda: f"now {counts[-1]}"
    )


async def start_on(
    url: str, emulator: BandwidthEmulator, name: str, *, lease_ttl: float = 30.0
) -> Instance:
    """One instance whose store reaches Redis at *url* (a proxy's), as start_instance does."""
    store = RedisStore(url, instance_id=name, lease_ttl=lease_ttl)
    client = emulator.client(store=store)
    await client.__aenter__()
    receiver = CallbackReceiver(username=CB_USER, password=CB_PASSWORD, store=store)
    await receiver.start()
    return Instance(name, store, client, receiver)
