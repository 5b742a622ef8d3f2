"""A partition longer than the lease (A15): instance *a* loses Redis, *b* adopts its orders.

*a* reaches Redis through a :class:`DelayProxy`; pausing it is a partition (commands hang,
connections stay open). Past the lease, *b* declares *a* dead and adopts its unfinished
orders; when the partition heals, both *a*'s callers and *b*'s adopted orders wait for the same
orders. FINISH must still be true once per order, and every one of *a*'s callers must return.

Measured (and asserted): *b* adopts all 20 orders, so all 20 are waited for twice, by *a*'s
caller and by *b*'s adoption; each is still finished once (FINISH true for one of them).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bwnumbers import OrderResult
from bwnumbers.testing import BandwidthEmulator
from tests.load_balancer import LoadBalancer
from tests.redis_cluster import CB_PASSWORD, CB_USER, SLOW_POLLING, start_instance
from tests.redis_failing import eventually, start_on
from tests.redis_server import RedisServer
from tests.tcp_proxy import DelayProxy

LEASE_TTL = 1.5
ORDERS = 20
#: The orders stay pending through the partition, so there is something to adopt.
ORDER_DELAY = 2 * LEASE_TTL + 1.0


@pytest.mark.slow
async def test_a15_partition_longer_than_the_lease(redis_server: RedisServer) -> None:
    async with contextlib.AsyncExitStack() as stack:
        proxy = await stack.enter_async_context(DelayProxy(redis_server.socket_path))
        emulator = await stack.enter_async_context(BandwidthEmulator(order_delay=ORDER_DELAY))
        # b first: it may declare a dead only after being connected for 4/3 of a lease.
        b = await start_instance(redis_server, emulator, "b", lease_ttl=LEASE_TTL)
        stack.push_async_callback(b.aclose)
        a = await start_on(proxy.url, emulator, "a", lease_ttl=LEASE_TTL)
        stack.push_async_callback(a.aclose)
        balancer = await stack.enter_async_context(
            LoadBalancer([a.receiver.url, b.receiver.url], seed=15)
        )
        await a.client.ensure_subscription(balancer.url, username=CB_USER, password=CB_PASSWORD)

        numbers = emulator.add_numbers([f"98455{6000 + i:05d}" for i in range(ORDERS)])
        calls = [
            asyncio.create_task(a.order(n, customer_order_id=f"p-{i}", polling=SLOW_POLLING))
            for i, n in enumerate(numbers)
        ]

        async def all_placed() -> bool:
            return not any(intent.order_id is None for intent in a.store.mirror.values()) and (
                len(a.store.mirror) == ORDERS
            )

        await eventually(all_placed, "a placed every order")
        proxy.pause()
        try:
            await asyncio.sleep(2 * LEASE_TTL)  # the partition itself, twice the lease

            async def adopted() -> bool:
                return b.store.bus.stats["adopted"] == ORDERS

            await eventually(adopted, "b adopted all of a's orders", lambda: b.store.bus.stats)
        finally:
            proxy.resume()

        async with asyncio.timeout(60):
            results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(r, OrderResult) for r in results), results

        async def b_done() -> bool:
            return not b.store.mirror

        await eventually(b_done, "b finished the orders it adopted")
        twice = b.store.bus.stats["adopted"]
        finished = [a.store.finished_here, b.store.finished_here]
        assert sum(finished) == ORDERS, (
            f"FINISH was first {finished} times for {ORDERS} orders; {twice} were waited for "
            "by both instances"
        )
        assert emulator.order_count == ORDERS
