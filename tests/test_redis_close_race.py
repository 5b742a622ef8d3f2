"""``RedisStore.aclose()`` ends even when a cancellation of its tasks is swallowed.

On Python 3.11, ``asyncio.wait_for`` (which redis-py sends every command through when the
client has a socket timeout, as the store's writers do) swallows a cancellation that lands
just as the send completes. A heartbeat or inbox reader cancelled at that moment carried on,
and ``aclose()`` waited for it forever; found by acceptance test A10, whose extra instance
closes right after it started.
"""

from __future__ import annotations

import asyncio

from bwnumbers.redis import RedisStore
from tests.redis_server import RedisServer

CYCLES = 40


async def test_stores_closed_right_after_they_started_all_close(
    redis_server: RedisServer,
) -> None:
    """Open and close stores at once, each a little later into its start-up; every close
    ends (the timeout is a bound for a hang, not a speed assertion)."""
    for cycle in range(CYCLES):
        store = RedisStore(redis_server.url, instance_id=f"s{cycle}", namespace="close-race")
        await store.__aenter__()
        await asyncio.sleep((cycle % 20) * 0.001)  # spread the close over the start-up
        # Not asyncio.timeout: its cancellation would be swallowed the same way.
        closing = asyncio.ensure_future(store.aclose())
        done, _ = await asyncio.wait({closing}, timeout=10)
        assert done, f"aclose() of a store closed {(cycle % 20)} ms into its start hung"
        closing.result()
    async with redis_server.inspect() as redis:
        assert await redis.zcard("bwn:{close-race}:hb") == 0  # each handed its lease back
