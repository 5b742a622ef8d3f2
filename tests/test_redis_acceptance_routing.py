"""Acceptance tests A3, A10 and A13 of the scale-out brief (§6): where a notification goes.

A3: a callback that reaches another instance before (or just after) the POST's answer still
resolves the waiting call by CALLBACK. A10: one customer order id is one order, whichever
instances ask. A13: a flood of notifications for orders nobody knows is kept once, bounded,
in Redis, and costs the instances nothing.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time

import aiohttp
import pytest

from bwnumbers import (
    IdempotencyConflictError,
    Notification,
    OrderStatus,
    PollPolicy,
    ResultSource,
)
from bwnumbers._store import OrderIntent
from bwnumbers.testing import Faults
from tests.redis_acceptance import (
    all_healthy,
    counting_instance,
    gather_bounded,
    redis_memory,
)
from tests.redis_cluster import CB_PASSWORD, CB_USER, Cluster, Instance, cluster
from tests.redis_server import RedisServer

FLOOD = 100_000
FLOOD_OVER_HTTP = 2_000
EARLY_LIMIT = 10_000


def only_order_id(order_id: str, number: str) -> Notification:
    """A COMPLETE notification that names its order by ``OrderId`` alone."""
    return Notification(
        order_type="orders",
        order_id=order_id,
        status=OrderStatus.COMPLETE,
        completed_numbers=(number,),
    )


def bare_intent(coid: str) -> OrderIntent:
    """An intent as ``order_and_wait`` writes it before its POST (the request is not read)."""
    return OrderIntent(
        customer_order_id=coid,
        request_digest="0" * 64,
        request={},
        request_xml="",
        created_at=time.time(),
    )


async def early_size(group: Cluster) -> int:
    async with group.server.inspect() as redis:
        return int(await redis.hlen(group.instances[0].store.key("early")))


# -- A3: the early callback that lands on another instance ---------------------------------


async def test_a3_parked_callback_reaches_the_waiter_at_placed(redis_server: RedisServer) -> None:
    """B gets the note before A's PLACED: B parks it in ``early``; PLACED hands it to A's
    waiter at once, and ``early`` is empty again."""
    async with cluster(redis_server, size=2) as group:
        a, b = group.instances
        await all_healthy(group)
        coid, order_id = "a3-early", "order-a3-early"
        async with a.receiver.waiters.register(("orders", coid)) as waiter:
            assert await a.store.begin(bare_intent(coid)) is None
            await b.receiver.waiters.adeliver(only_order_id(order_id, "9845550001"))
            assert b.store.bus.stats["parked"] == 1
            assert await early_size(group) == 1

            await a.store.placed(coid, order_id)

            assert waiter.future.done(), "PLACED did not hand the parked note to the waiter"
            assert waiter.future.result().order_id == order_id
            assert await early_size(group) == 0
            await a.store.never_created(coid)  # ends the intent; nothing was ordered
        await group.assert_quiescent()


async def test_a3_callback_after_placed_goes_through_the_owners_inbox(
    redis_server: RedisServer,
) -> None:
    """The mirror case: the note lands on B after A's PLACED but before A's waiter is bound
    to the order id. ROUTE finds the order and adds the note to A's inbox with its customer
    order id, which is what A's waiter is registered under."""
    async with cluster(redis_server, size=2) as group:
        a, b = group.instances
        await all_healthy(group)
        coid, order_id = "a3-late", "order-a3-late"
        async with a.receiver.waiters.register(("orders", coid)) as waiter:
            assert await a.store.begin(bare_intent(coid)) is None
            await a.store.placed(coid, order_id)
            assert not waiter.future.done()

            await b.receiver.waiters.adeliver(only_order_id(order_id, "9845550002"))

            assert b.store.bus.stats["routed"] == 1
            async with asyncio.timeout(10):
                note = await asyncio.shield(waiter.future)
            assert (note.order_id, note.customer_order_id) == (order_id, coid)
            assert a.store.bus.stats["received"] == 1
            await a.store.never_created(coid)
        assert await early_size(group) == 0
        await group.assert_quiescent()


async def test_a3_end_to_end_callback_before_response_on_the_other_instance(
    redis_server: RedisServer,
) -> None:
    """Through the emulator: each callback names only the order id, is sent before the POST
    is answered, and goes to the other instance. Every call resolves by CALLBACK (polling
    starts only after 3 s) and nothing stays parked."""
    async with cluster(redis_server, size=2) as group:
        a, b = group.instances
        await all_healthy(group)
        group.emulator.faults = Faults(callback_before_response=True, omit_customer_order_id=True)
        first, second = group.numbers(2)
        group.balancer.set_targets([b.receiver.url])
        from_a = await a.order(first)
        group.balancer.set_targets([a.receiver.url])
        from_b = await b.order(second)

        assert (from_a.source, from_b.source) == (ResultSource.CALLBACK, ResultSource.CALLBACK)
        assert (from_a.completed_numbers, from_b.completed_numbers) == ((first,), (second,))
        assert b.store.bus.stats["parked"] >= 1
        assert a.store.bus.stats["parked"] >= 1
        assert await early_size(group) == 0
        await group.assert_quiescent()


# -- A10: one customer order id, one order ------------------------------------------------


async def test_a10_same_customer_order_id_from_two_instances(redis_server: RedisServer) -> None:
    """Two instances order under one customer order id at once: one emulator order, one
    result for both. A re-call from a third instance after it finished is answered from the
    store with no HTTP request; other numbers under that id are refused with none either."""
    polling = PollPolicy(first_poll=0.5, interval=0.5, max_interval=0.5)
    async with cluster(redis_server, size=2) as group:
        a, b = group.instances
        await all_healthy(group)
        number, other = group.numbers(2)
        coid = "a10-shared"
        first, second = await asyncio.gather(
            a.order(number, customer_order_id=coid, polling=polling),
            b.order(number, customer_order_id=coid, polling=polling),
        )
        assert len(group.emulator.orders_with_customer_order_id(coid)) == 1
        assert first.order_id == second.order_id
        assert (first.status, first.completed_numbers) == (second.status, second.completed_numbers)
        assert sum(i.store.finished_here for i in group.instances) == 1

        async with counting_instance(group, "c") as (c, requests):
            again = await c.order(number, customer_order_id=coid)
            assert again.source is ResultSource.STORE
            assert (again.order_id, again.status) == (first.order_id, first.status)
            assert again.completed_numbers == first.completed_numbers
            with pytest.raises(IdempotencyConflictError):
                await c.order(other, customer_order_id=coid)
            assert requests.count == 0
        assert len(group.emulator.orders_with_customer_order_id(coid)) == 1
        await group.assert_quiescent()


# -- A13: a flood of notifications for unknown orders -------------------------------------


def notification_xml(order_id: str) -> bytes:
    """A literal COMPLETE notification body for *order_id*, as Bandwidth sends one."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Notification>'
        "<Status>COMPLETE</Status><SubscriptionId>flood</SubscriptionId>"
        f"<Message>1 number(s) ordered</Message><OrderId>{order_id}</OrderId>"
        "<OrderType>orders</OrderType><CompletedTelephoneNumbers>"
        "<TelephoneNumber>9845559999</TelephoneNumber></CompletedTelephoneNumbers>"
        "</Notification>"
    ).encode()


async def flood_over_http(group: Cluster, order_ids: list[str]) -> list[int]:
    """POST each notification through the load balancer, authenticated; their statuses."""
    auth = aiohttp.BasicAuth(CB_USER, CB_PASSWORD).encode()
    headers = {"Authorization": auth, "Content-Type": "application/xml; charset=utf-8"}
    statuses: list[int] = []
    async with aiohttp.ClientSession() as session:

        async def post(order_id: str) -> None:
            body = notification_xml(order_id)
            async with session.post(group.balancer.url, data=body, headers=headers) as answer:
                statuses.append(answer.status)

        await gather_bounded([functools.partial(post, o) for o in order_ids], 50)
    return statuses


async def flood_in_process(instances: list[Instance], order_ids: list[str]) -> None:
    """Hand each notification to a random instance's waiters, as its receiver's handler
    does (``adeliver``, awaited: routed by the time it returns)."""
    pick = random.Random(13)  # a repeatable spread
    targets = [pick.choice(instances) for _ in order_ids]
    await gather_bounded(
        [
            functools.partial(i.receiver.waiters.adeliver, only_order_id(o, "9845559999"))
            for o, i in zip(order_ids, targets, strict=True)
        ],
        200,
    )


@pytest.mark.slow
async def test_a13_unknown_order_flood(redis_server: RedisServer) -> None:
    """100,000 notifications for random unknown order ids: 2,000 POSTed through the load
    balancer with the callback credentials, the other 98,000 handed to random instances'
    ``receiver.waiters.adeliver`` (the call the HTTP handler awaits; HTTP for all would
    take minutes). All are answered 2xx and parked once, in Redis: ``early`` stays at its
    bound of 10,000, Redis grows less than 10 MiB, no instance keeps one in its own unclaimed
    buffer, and a real order afterwards still resolves by CALLBACK."""
    async with cluster(redis_server) as group:
        await all_healthy(group)
        async with group.server.inspect() as redis:
            before = await redis_memory(redis)
        pick = random.Random(0)  # random order ids, repeatable
        order_ids = [f"{pick.getrandbits(128):032x}" for _ in range(FLOOD)]

        statuses = await flood_over_http(group, order_ids[:FLOOD_OVER_HTTP])
        await flood_in_process(group.instances, order_ids[FLOOD_OVER_HTTP:])

        assert statuses == [200] * FLOOD_OVER_HTTP
        parked = sum(i.store.bus.stats["parked"] for i in group.instances)
        assert parked == FLOOD  # each once, none queued locally, none lost
        assert [i.receiver.waiters.unclaimed_count for i in group.instances] == [0, 0, 0]
        assert await early_size(group) <= EARLY_LIMIT
        async with group.server.inspect() as redis:
            grown = await redis_memory(redis) - before
            assert await redis.zcard(group.instances[0].store.key("early_t")) <= EARLY_LIMIT
        assert grown < 10 * 1024 * 1024, f"Redis grew {grown} bytes"

        real = await group.instances[0].order(group.numbers(1)[0])
        assert real.source is ResultSource.CALLBACK
        await group.assert_quiescent()
