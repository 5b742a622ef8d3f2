"""A cancellation storm during blips (A14): 1,000 calls wait, half are cancelled while Redis's
connections are cut; the others get their own orders' results and nothing is left behind."""

from __future__ import annotations

import asyncio

import pytest

from bwnumbers import OrderResult
from tests.redis_cluster import cluster
from tests.redis_failing import CONCURRENCY, coid, connections_back_to, eventually, order_many
from tests.redis_server import RedisServer

ORDERS = 1000
#: Long enough for every call to be waiting when the storm starts.
ORDER_DELAY = 8.0
WARM = 100


@pytest.mark.slow
async def test_a14_cancellation_storm_during_blips(redis_server: RedisServer) -> None:
    async with cluster(redis_server, order_delay=0.05) as group:
        # Traffic first, so that the pools hold what they hold under load: the baseline.
        warm, _ = await order_many(group, group.numbers(WARM, prefix="985"), tag="warm")
        assert all(isinstance(r, OrderResult) for r in warm)
        baseline = await redis_server.client_count()

        group.emulator.order_delay = ORDER_DELAY
        numbers = group.numbers(ORDERS)
        calls: list[asyncio.Task[OrderResult]] = []
        for start in range(0, ORDERS, CONCURRENCY):  # in waves, as real traffic arrives
            calls += [
                asyncio.create_task(
                    group.instances[i % 3].order(numbers[i], customer_order_id=coid(i))
                )
                for i in range(start, start + CONCURRENCY)
            ]

            async def wave_placed(expected: int = WARM + start + CONCURRENCY) -> bool:
                return group.emulator.order_count == expected

            await eventually(wave_placed, f"orders up to {start + CONCURRENCY} placed")
        assert not any(call.done() for call in calls), "a call ended before the storm"

        cuts = 0
        for index in range(0, ORDERS, 2 * CONCURRENCY):  # every other call, cut by cut
            cuts += await redis_server.blip()
            for call in calls[index : index + 2 * CONCURRENCY : 2]:
                call.cancel()
            await asyncio.sleep(0)
        assert cuts > 0
        outcomes = await asyncio.gather(*calls, return_exceptions=True)

        for index, (call, outcome) in enumerate(zip(calls, outcomes, strict=True)):
            if index % 2 == 0:
                assert call.cancelled(), f"{coid(index)} was not cancelled: {outcome!r}"
                continue
            assert isinstance(outcome, OrderResult), f"{coid(index)}: {outcome!r}"
            assert outcome.customer_order_id == coid(index)
            assert outcome.completed_numbers == (numbers[index],)
        for instance in group.instances:
            assert len(instance.receiver.waiters) == 0, f"{instance.name} left a waiter"

        group.emulator.order_delay = 0.05
        again, _ = await order_many(group, group.numbers(WARM, prefix="986"), tag="again")
        assert all(isinstance(r, OrderResult) for r in again)
        margin = 3 * len(group.instances)
        await connections_back_to(redis_server, baseline, margin)
