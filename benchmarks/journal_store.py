"""The order journal alone: a burst of begin() + placed() + finish() on SQLiteStore vs MemoryStore.

No HTTP and no emulator: this measures what journaling costs an order, the three store calls
``order_and_wait`` makes around its POST, all orders at once as in a burst. SQLiteStore commits
each write to disk (WAL, ``synchronous=FULL``) before the call returns; group commit is what
keeps a burst from paying one fsync per call, and ``commits`` shows how many it took.

Run on its own with ``python -m benchmarks.journal_store [--quick]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bwnumbers
from bwnumbers._store import OrderIntent, request_digest, request_fields

OUTCOME = bwnumbers.StoredOutcome(
    status=bwnumbers.OrderStatus.COMPLETE, completed_numbers=["+19195550100"]
)


def _intent(i: int) -> OrderIntent:
    customer_order_id = f"bench-{i:06d}"
    request = bwnumbers.OrderRequest.build(
        site_id="12345", numbers=["+19195550100"], customer_order_id=customer_order_id
    )
    return OrderIntent(
        customer_order_id=customer_order_id,
        request_digest=request_digest(request),
        request=request_fields(request),
        request_xml="<Order>" + "x" * 400 + "</Order>",  # about the size of a real body
        metadata={"chat_id": i, "user": "someone"},
        created_at=time.time(),
    )


async def _burst(store: bwnumbers.OrderStore, count: int) -> dict[str, Any]:
    intents = [_intent(i) for i in range(count)]

    async def one(intent: OrderIntent) -> bool:
        await store.begin(intent)
        await store.placed(intent.customer_order_id, f"order-{intent.customer_order_id}")
        return await store.finish(intent.customer_order_id, OUTCOME)

    started = time.perf_counter()
    finished = await asyncio.gather(*(one(intent) for intent in intents))
    wall = time.perf_counter() - started
    return {
        "orders": count,
        "finished": sum(finished),
        "wall_s": round(wall, 4),
        "orders_per_s": round(count / wall, 1),
    }


async def bench_journal_store(quick: bool = False, count: int | None = None) -> dict[str, Any]:
    """A burst of *count* orders (1,000; 200 with *quick*) journaled by each store.

    Returns ``{"memory": {...}, "sqlite": {...}, "ratio": sqlite/memory orders per second}``,
    where ``sqlite`` also has ``commits`` (write transactions, one fsync each) and
    ``writes`` (store calls that wrote: three per order).
    """
    count = count or (200 if quick else 1000)
    async with bwnumbers.MemoryStore() as memory:
        memory_result = await _burst(memory, count)
    with tempfile.TemporaryDirectory(prefix="bwnumbers-journal-") as directory:
        async with bwnumbers.SQLiteStore(Path(directory) / "orders.db") as sqlite:
            opened = sqlite.commits
            sqlite_result = await _burst(sqlite, count)
            sqlite_result["commits"] = sqlite.commits - opened
            sqlite_result["writes"] = 3 * count
    return {
        "memory": memory_result,
        "sqlite": sqlite_result,
        "ratio": round(sqlite_result["orders_per_s"] / memory_result["orders_per_s"], 3),
    }


if __name__ == "__main__":
    results = asyncio.run(bench_journal_store(quick="--quick" in sys.argv))
    print(json.dumps(results, indent=2))
