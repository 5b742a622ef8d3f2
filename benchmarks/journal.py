"""The journal's cost: a burst with ``SQLiteStore`` against ``MemoryStore``, and ``recover()``.

1. A burst of N concurrent ``order_and_wait`` calls (default confirming mode, callbacks to a
   ``CallbackReceiver``) whose store is a ``SQLiteStore`` on a file, against the same burst with
   the default ``MemoryStore``, alternating on the same emulator (in its own process); the
   median of the per-round ratios of orders/s counts. Goal: >= 0.8.
2. ``recover()`` of N pending orders: N back-ordered orders exist at the emulator and the
   journal holds them as PLACED (as a killed process leaves them). Timed from calling
   ``recover()`` on a store just opened on the file until every ``pending.wait()`` has its
   waiter registered, so that a callback or a poll would finish it. Goal: <= 2 s. The same with
   a ``MemoryStore`` holding the same intents is the reference.
3. The store calls alone (``benchmarks/journal_store.py``): N orders' ``begin``, ``placed``
   and ``finish`` at once, no HTTP, with the number of commits (one fsync each) they took.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import bwnumbers
from bwnumbers._store import OrderIntent, request_digest, request_fields
from bwnumbers._xml import encode_order

from ._emulator_process import STOCK, EmulatorProcess, emulator_process
from .burst import _measure
from .journal_store import bench_journal_store

StoreFactory = Callable[[], Any]  # a fresh MemoryStore or SQLiteStore
GOAL_BURST_RATIO = 0.8
GOAL_RECOVER_S = 2.0
EMPTY_AREA = "332"  # nothing in stock there: orders by area code are back-ordered


async def _burst(emulator: EmulatorProcess, numbers: list[str], store: Any) -> dict[str, Any]:
    site_id = emulator.settings["site_id"]
    async with (
        emulator.client() as client,
        store,
        bwnumbers.CallbackReceiver(store=store) as receiver,
    ):
        # Creating the subscription also obtains the access token, before the timing starts.
        subscription = await client.create_subscription(receiver.url)

        async def one(i: int) -> bool:
            result = await bwnumbers.order_and_wait(
                client, receiver, site_id=site_id, numbers=[numbers[i]], metadata={"user": i}
            )
            return result.completed_numbers == (numbers[i],)

        try:
            return await _measure(emulator, len(numbers), one)
        finally:
            await client.delete_subscription(subscription.id)


async def _pending_orders(
    client: bwnumbers.NumbersClient, site_id: str, count: int
) -> list[OrderIntent]:
    """*count* back-ordered orders at the emulator, as a killed process's journal holds them."""

    async def one(i: int) -> OrderIntent:
        request = bwnumbers.OrderRequest.build(
            site_id=site_id, search=bwnumbers.Search(area_code=EMPTY_AREA),
            back_order_requested=True,
        )  # fmt: skip
        order = await client.place_order(request)
        return OrderIntent(
            customer_order_id=request.customer_order_id,
            request_digest=request_digest(request),
            request=request_fields(request),
            request_xml=encode_order(request).decode(),
            metadata={"user": i},
            order_id=order.id,
            created_at=time.time(),
            state=bwnumbers.IntentState.PLACED,
        )

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def _journal(store: Any, intents: list[OrderIntent]) -> None:
    async with store:
        for intent in intents:
            await store.begin(intent)
            assert intent.order_id is not None
            await store.placed(intent.customer_order_id, intent.order_id)


async def _recover(emulator: EmulatorProcess, store: Any, count: int) -> float:
    """Seconds from ``recover()`` until all *count* waits are armed."""
    waiters = bwnumbers.OrderWaiters(store=store)
    async with emulator.client() as client, store:
        await client.authenticate()  # the token is fetched before the timing starts
        started = time.perf_counter()
        pending = await bwnumbers.recover(client, waiters)
        waits = [asyncio.create_task(order.wait()) for order in pending]
        try:
            # The registry has no event to wait on; yielding is the finest step there is.
            while len(waiters) < count and not any(w.done() for w in waits):  # noqa: ASYNC110
                await asyncio.sleep(0)
            armed = time.perf_counter() - started
            if len(pending) != count or len(waiters) != count:
                raise RuntimeError(f"{len(pending)} recovered, {len(waiters)} armed of {count}")
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
            waiters.close()
    return armed


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


async def _timed_rounds(rounds: int, run: Callable[[], Awaitable[float]]) -> list[float]:
    return [await run() for _ in range(rounds)]


async def bench_journal(*, quick: bool) -> dict[str, Any]:
    """SQLiteStore/MemoryStore burst ratio, and recover() seconds until armed."""
    # Five rounds: on two shared cores one round's ratio moves by 0.1 or more.
    count, rounds = (100, 1) if quick else (1000, 5)
    batches = iter([STOCK[i : i + count] for i in range(0, len(STOCK), count)])
    runs: dict[str, list[dict[str, Any]]] = {"memory": [], "sqlite": []}
    with tempfile.TemporaryDirectory() as directory, emulator_process() as emulator:
        folder = Path(directory)
        await _burst(emulator, next(batches), bwnumbers.MemoryStore())  # warm up
        for r in range(rounds):
            runs["memory"].append(await _burst(emulator, next(batches), bwnumbers.MemoryStore()))
            store = bwnumbers.SQLiteStore(folder / f"burst-{r}.sqlite3")
            runs["sqlite"].append(await _burst(emulator, next(batches), store))

        async with emulator.client() as client:
            intents = await _pending_orders(client, emulator.settings["site_id"], count)
        memory = bwnumbers.MemoryStore()
        await _journal(_Kept(memory), intents)
        journal = folder / "recover.sqlite3"
        await _journal(bwnumbers.SQLiteStore(journal), intents)
        memory_s = await _timed_rounds(rounds, lambda: _recover(emulator, _Kept(memory), count))
        sqlite_s = await _timed_rounds(
            rounds, lambda: _recover(emulator, bwnumbers.SQLiteStore(journal), count)
        )

    def median_run(kind: str) -> dict[str, Any]:
        return sorted(runs[kind], key=lambda run: run["orders_per_s"])[rounds // 2]

    ratios = [
        sqlite["orders_per_s"] / memory["orders_per_s"]
        for sqlite, memory in zip(runs["sqlite"], runs["memory"], strict=True)
    ]
    return {
        "n": count,
        "rounds": rounds,
        "memory": median_run("memory"),
        "sqlite": median_run("sqlite"),
        "burst_ratio": round(_median(ratios), 3),
        "burst_ratios": [round(ratio, 3) for ratio in ratios],
        "goal_burst_ratio": GOAL_BURST_RATIO,
        "lost": sum(run["orders"] - run["completed"] for kind in runs.values() for run in kind),
        "recover_sqlite_s": round(_median(sqlite_s), 3),
        "recover_memory_s": round(_median(memory_s), 3),
        "recover_rounds_s": {
            "sqlite": [round(t, 3) for t in sqlite_s],
            "memory": [round(t, 3) for t in memory_s],
        },
        "goal_recover_s": GOAL_RECOVER_S,
        # The store calls alone, no HTTP: what the journal costs an order, and its commits.
        "store_only": await bench_journal_store(count=count),
    }


class _Kept:
    """A MemoryStore that outlives ``async with``: its intents are all it has."""

    def __init__(self, store: bwnumbers.MemoryStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def __aenter__(self) -> bwnumbers.MemoryStore:
        return self._store

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def aclose(self) -> None:
        return None


if __name__ == "__main__":
    import json

    print(json.dumps(asyncio.run(bench_journal(quick=False)), indent=1))
