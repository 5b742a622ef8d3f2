"""Redis fails under load: restarted empty (A4), restarted with its AOF (A5), blips (A6).

1,000 orders go through three in-process instances behind a load balancer while Redis is
SIGKILLed or its connections are cut. Whatever happens, each call gets its own order's result
or a ``StoreUnavailableError`` with nothing ordered, and no order is placed twice.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bwnumbers import OrderResult, ResultSource
from tests.redis_cluster import Cluster, cluster
from tests.redis_failing import (
    assert_all_ordered,
    check_once_each,
    connections_back_to,
    eventually,
    every,
    order_many,
    retry_unavailable,
    settled,
)
from tests.redis_server import RedisServer

ORDERS = 1000
#: Redis is SIGKILLed when this call starts, halfway through.
KILL_AT = 500
DOWNTIME = 2.0
#: Orders placed before the blips, to warm the connection pools.
WARM = 100


async def assert_reseeded(group: Cluster) -> None:
    """Once every instance saw the epoch change and wrote its orders again, Redis holds an
    intent for every order an instance still leads (each in flight at the restart, or
    since)."""

    async def resynced() -> bool:
        return all(
            i.store.bus.stats["epoch_changes"] >= 1 and not i.store.bus.dirty
            for i in group.instances
        )

    await eventually(
        resynced,
        "every instance saw the epoch change and re-wrote its orders",
        lambda: [(i.store.bus.stats, i.store.bus.dirty, i.store.healthy) for i in group.instances],
    )
    leading = [coid for i in group.instances for coid in list(i.store.mirror)]
    assert leading, "no order was in flight after the restart: the test proves nothing"
    async with group.server.inspect() as redis, redis.pipeline(transaction=False) as pipe:
        for coid in leading:
            pipe.exists(group.instances[0].store.key(f"i:{coid}"))
        found = await pipe.execute()
    missing = [coid for coid, there in zip(leading, found, strict=True) if not there]
    assert missing == [], f"{len(missing)} of {len(leading)} live intents not re-seeded"


@pytest.mark.slow
async def test_a4_redis_restarted_empty(redis_server: RedisServer) -> None:
    async with cluster(redis_server) as group:
        numbers = group.numbers(ORDERS)

        async def crash() -> None:
            await redis_server.restart(downtime=DOWNTIME, keep_data=False)
            await assert_reseeded(group)

        results, _ = await order_many(group, numbers, fault_at=KILL_AT, fault=crash)
        check_once_each(group, numbers, results)
        results = await retry_unavailable(group, numbers, results)
        check_once_each(group, numbers, results)
        await settled(group)
        assert_all_ordered(group, results)
        await group.assert_quiescent()


async def callback_share_after(group: Cluster, results: list[object], since: float) -> float:
    """The share of CALLBACK results among the orders the emulator finished after *since*."""
    later = [
        r
        for r in results
        if isinstance(r, OrderResult) and (group.emulator.finished_at(r.order_id) or 0) > since
    ]
    assert len(later) > ORDERS // 3, f"only {len(later)} orders finished after the restart"
    by_callback = sum(1 for r in later if r.source is ResultSource.CALLBACK)
    return by_callback / len(later)


@pytest.mark.slow
async def test_a5_redis_restarted_with_its_aof(tmp_path: Path, redis_required: None) -> None:
    async with RedisServer(tmp_path, appendonly=True) as server, cluster(server) as group:
        numbers = group.numbers(ORDERS)
        back_at: list[float] = []

        async def crash() -> None:
            await server.restart(downtime=DOWNTIME, keep_data=True)
            back_at.append(time.time())

        results, _ = await order_many(group, numbers, fault_at=KILL_AT, fault=crash)
        check_once_each(group, numbers, results)
        share = await callback_share_after(group, list(results), back_at[0])
        assert share >= 0.95, f"{share:.1%} by CALLBACK after the restart"
        # The AOF kept the epoch: nothing was lost, so nothing is written again.
        assert [i.store.bus.stats["epoch_changes"] for i in group.instances] == [0, 0, 0]
        results = await retry_unavailable(group, numbers, results)
        await settled(group)
        assert_all_ordered(group, results)
        await group.assert_quiescent()


@pytest.mark.slow
async def test_a6_blips_lose_nothing(redis_server: RedisServer) -> None:
    async with cluster(redis_server) as group:
        numbers = group.numbers(ORDERS)
        # Traffic first, so that the pools hold what they hold under load: the baseline.
        warm, _ = await order_many(group, group.numbers(WARM, prefix="985"), tag="warm")
        assert all(isinstance(r, OrderResult) for r in warm)
        baseline = await redis_server.client_count()
        cuts: list[int] = []

        async def blip() -> None:
            cuts.append(await redis_server.blip())

        async with every(0.2, blip):
            results, _ = await order_many(group, numbers)
        assert len(cuts) >= 3, f"too few blips: {cuts}"
        assert sum(cuts) > 0, f"the blips cut nothing: {cuts}"
        check_once_each(group, numbers, results)
        results = await retry_unavailable(group, numbers, results)
        await settled(group)
        assert_all_ordered(group, results, before=WARM)
        margin = 3 * len(group.instances)
        # The pools replace cut connections as traffic needs them: the same traffic again.
        again, _ = await order_many(group, group.numbers(WARM, prefix="986"), tag="again")
        assert all(isinstance(r, OrderResult) for r in again)

        await connections_back_to(redis_server, baseline, margin)
        await group.assert_quiescent()
