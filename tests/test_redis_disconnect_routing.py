"""RedisStore carries a disconnect's notification to the instance waiting for it, and never to
an order of the same customer order id; a survivor adopts a disconnect a stopped instance left.

Two instances share a real redis-server (``tests.redis_cluster``). The disconnect's intent is
kept under ``disconnects:<customer order id>`` and its id under ``o:disconnects:<id>``, so an
order and a disconnect may share a customer order id (or, in principle, an id) without either
taking the other's notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import bwnumbers
from bwnumbers import (
    DisconnectRequest,
    IntentState,
    Notification,
    OrderStatus,
    PollPolicy,
    ResultSource,
    StoredOutcome,
)
from bwnumbers._store import OrderIntent, journal_key
from bwnumbers.redis._store import KEEP_FINISHED
from bwnumbers.testing import BandwidthEmulator
from tests.disconnect_fakes import dead_intent
from tests.redis_acceptance import all_healthy
from tests.redis_cluster import CB_PASSWORD, CB_USER, SLOW_POLLING, cluster, start_instance
from tests.redis_failing import eventually
from tests.redis_server import RedisServer

LEASE_TTL = 1.5


def intent(kind: str, coid: str) -> OrderIntent:
    """An intent as the flow writes it before its POST (the request is not read here)."""
    return OrderIntent(
        kind=kind,
        customer_order_id=coid,
        request_digest="0" * 64,
        request={},
        request_xml="",
        created_at=time.time(),
    )


def by_id(order_type: str, order_id: str) -> Notification:
    """A final notification that names its order by ``OrderId`` alone, as Bandwidth may."""
    return Notification(order_type=order_type, order_id=order_id, status=OrderStatus.COMPLETE)


async def test_a_disconnect_notification_on_the_wrong_instance_reaches_its_waiter(
    redis_server: RedisServer,
) -> None:
    """A waits for an order and a disconnect under one customer order id, both placed under
    the same id; B gets the disconnect's notification and routes it to A's disconnect waiter.
    The order's waiter stays waiting until its own notification comes."""
    async with cluster(redis_server, size=2) as group:
        a, b = group.instances
        await all_healthy(group)
        coid, same_id = "shared-coid", "same-id-1"
        order, disconnect = intent("orders", coid), intent("disconnects", coid)
        async with (
            a.receiver.waiters.register(("orders", coid)) as order_waiter,
            a.receiver.waiters.register(("disconnects", coid)) as disconnect_waiter,
        ):
            assert await a.store.begin(order) is None
            assert await a.store.begin(disconnect) is None  # no conflict: another entry
            await a.store.placed(order.key, same_id)
            await a.store.placed(disconnect.key, same_id)

            await b.receiver.waiters.adeliver(by_id("disconnects", same_id))
            assert b.store.bus.stats["routed"] == 1
            async with asyncio.timeout(10):
                note = await asyncio.shield(disconnect_waiter.future)
            assert (note.order_type, note.customer_order_id) == ("disconnects", coid)
            assert not order_waiter.future.done()

            await b.receiver.waiters.adeliver(by_id("orders", same_id))
            async with asyncio.timeout(10):
                note = await asyncio.shield(order_waiter.future)
            assert note.order_type == "orders"
            await a.store.never_created(order.key)
            await a.store.never_created(disconnect.key)
        await group.assert_quiescent()


async def test_a_disconnect_notification_before_placed_is_parked_for_the_disconnect(
    redis_server: RedisServer,
) -> None:
    """B gets the disconnect's notification before A knows the id: parked under the
    disconnect's order key, PLACED of the disconnect hands it to A's waiter; PLACED of an
    order with that id would not have."""
    async with cluster(redis_server, size=2) as group:
        a, b = group.instances
        await all_healthy(group)
        coid, disconnect_id = "early-disc", "disc-early-1"
        disconnect = intent("disconnects", coid)
        order = intent("orders", "early-order")
        async with a.receiver.waiters.register(("disconnects", coid)) as waiter:
            assert await a.store.begin(disconnect) is None
            assert await a.store.begin(order) is None
            await b.receiver.waiters.adeliver(by_id("disconnect", disconnect_id))
            assert b.store.bus.stats["parked"] == 1

            await a.store.placed(order.key, disconnect_id)  # an order's id is another space
            assert not waiter.future.done()
            await a.store.placed(disconnect.key, disconnect_id)
            assert waiter.future.done(), "PLACED did not hand the parked note to the waiter"
            assert waiter.future.result().customer_order_id == coid
            await a.store.never_created(order.key)
            await a.store.never_created(disconnect.key)
        await group.assert_quiescent()


async def test_a_port_in_notification_is_not_routed(redis_server: RedisServer) -> None:
    async with cluster(redis_server, size=2) as group:
        _, b = group.instances
        await all_healthy(group)
        await b.receiver.waiters.adeliver(by_id("portins", "port-1"))
        assert b.store.bus.stats["ignored"] == 1
        assert b.store.bus.stats["parked"] == 0
        await group.assert_quiescent()


async def test_a_finished_disconnect_keeps_its_id_for_as_long_as_its_intent(
    redis_server: RedisServer,
) -> None:
    """FINISH shortens the id's key to the finished intent's lifetime, under the disconnect's
    own name (``o:disconnects:<id>``), as it does an order's."""
    async with cluster(redis_server, size=1) as group:
        (a,) = group.instances
        disconnect = intent("disconnects", "ttl-coid")
        assert await a.store.begin(disconnect) is None
        await a.store.placed(disconnect.key, "disc-ttl-1")
        await a.store.finish(disconnect.key, StoredOutcome(status=OrderStatus.COMPLETE))
        async with redis_server.inspect() as redis:
            ttl = await redis.ttl(a.store.key("o:disconnects:disc-ttl-1"))
            assert await redis.exists(a.store.key("o:disc-ttl-1")) == 0
        assert 0 < ttl <= KEEP_FINISHED
        await group.assert_quiescent()


async def test_disconnects_behind_a_load_balancer_end_by_callback(
    redis_server: RedisServer,
) -> None:
    """End to end: three instances behind a load balancer, subscribed for orders and
    disconnects on one URL; each instance orders then disconnects its numbers, and every
    disconnect ends by its callback, wherever it landed (polling is too late to matter)."""
    async with cluster(redis_server, size=3) as group:
        await all_healthy(group)
        await group.instances[0].client.ensure_subscription(
            group.balancer.url, username=CB_USER, password=CB_PASSWORD, order_type="disconnects"
        )
        numbers = group.numbers(6)
        pairs = list(zip(numbers, group.instances * 2, strict=True))
        await asyncio.gather(*(instance.order(number) for number, instance in pairs))

        results = await asyncio.gather(
            *(
                bwnumbers.disconnect_and_wait(
                    instance.client,
                    instance.receiver,
                    numbers=[number],
                    customer_order_id=f"release-{number}",
                    polling=SLOW_POLLING,
                    timeout=20,
                )
                for number, instance in pairs
            )
        )
        assert [r.disconnected_numbers for r in results] == [(n,) for n in numbers]
        assert {r.source for r in results} == {ResultSource.CALLBACK}
        assert sum(i.store.bus.stats["routed"] for i in group.instances) > 0
        assert group.emulator.disconnect_count == 6
        await group.assert_quiescent()


async def test_a_disconnect_left_by_a_stopped_instance_is_adopted_and_finished(
    redis_server: RedisServer,
) -> None:
    """*a* journals and places a disconnect, then stops before its outcome; past the lease,
    *b* adopts it as a disconnect (not an order), waits for it and records its outcome."""
    async with contextlib.AsyncExitStack() as stack:
        emulator = await stack.enter_async_context(BandwidthEmulator(order_delay=0.05))
        b = await start_instance(redis_server, emulator, "b", lease_ttl=LEASE_TTL)
        stack.push_async_callback(b.aclose)
        a = await start_instance(redis_server, emulator, "a", lease_ttl=LEASE_TTL)
        (number,) = emulator.add_numbers(["9845570001"])
        await a.order(number, polling=PollPolicy(first_poll=0.1, interval=0.1))

        request = DisconnectRequest.build([number], customer_order_id="left-by-a")
        assert await a.store.begin(dead_intent(request)) is None
        placed = await a.client.place_disconnect(request)
        assert placed.id is not None
        await a.store.placed(journal_key("disconnects", "left-by-a"), placed.id)
        await a.aclose()  # its lease goes with it; its unfinished disconnect stays

        async def finished() -> bool:
            recorded = await b.store.get(journal_key("disconnects", "left-by-a"))
            return recorded is not None and recorded.state is IntentState.FINAL

        await eventually(finished, "b finished a's disconnect", lambda: b.store.bus.stats)
        assert b.store.bus.stats["adopted"] == 1
        recorded = await b.store.get(journal_key("disconnects", "left-by-a"))
        assert recorded is not None
        assert recorded.outcome is not None
        assert recorded.outcome.completed_numbers == (number,)
        assert emulator.disconnect_count == 1
