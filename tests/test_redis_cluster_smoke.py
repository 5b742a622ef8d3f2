"""The multi-instance harness itself: three instances order through one Redis."""

from __future__ import annotations

import asyncio

from bwnumbers import ResultSource
from tests.redis_cluster import cluster, sources
from tests.redis_server import RedisServer


async def test_three_instances_resolve_by_callback(redis_server: RedisServer) -> None:
    async with cluster(redis_server) as group:
        numbers = group.numbers(30)
        results = await asyncio.gather(
            *(group.instances[i % 3].order(n) for i, n in enumerate(numbers))
        )
        assert sources(results) == {ResultSource.CALLBACK.name: 30}
        assert sum(i.store.finished_here for i in group.instances) == 30
        await group.assert_quiescent()
