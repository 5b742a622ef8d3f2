"""Redis out of reach for one call or one connection: down at BEGIN (A11), the inbox reader cut.

Two instances share a Redis; the subscription points at instance *b*'s receiver, so a
notification for an order *a* waits for reaches *a* only through Redis (routed by *b*). Polling
is set far out, so a result by CALLBACK is the bus at work.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from bwnumbers import (
    OrderIntent,
    OrderRequest,
    OrderStatus,
    PollPolicy,
    ResultSource,
    StoredOutcome,
    StoreUnavailableError,
)
from bwnumbers._store import request_digest, request_fields
from bwnumbers.redis import RedisStore
from bwnumbers.testing import BandwidthEmulator
from tests.redis_cluster import CB_PASSWORD, CB_USER, Instance, start_instance
from tests.redis_failing import eventually, start_on
from tests.redis_server import RedisServer
from tests.tcp_proxy import DelayProxy

REDIS_PASSWORD = "s3cret-redis-Pa55"
#: Later than any of these tests lasts: a CALLBACK result cannot be a poll's.
NO_POLLING = PollPolicy(first_poll=60.0, interval=60.0, max_interval=60.0)
#: Seconds the emulator takes to finish an order: time to break Redis while it is pending.
ORDER_DELAY = 1.5
#: Seconds the proxy holds each chunk: time to cut a connection while its reply is on the way.
LINK_DELAY = 0.5
COMPLETE = StoredOutcome(status=OrderStatus.COMPLETE, completed_numbers=["9845550004"])


@contextlib.asynccontextmanager
async def pair(
    server: RedisServer, emulator: BandwidthEmulator, a_url: str
) -> AsyncIterator[tuple[Instance, Instance, int]]:
    """Instance *a* on *a_url*, *b* on the server itself, and the id of *b*'s inbox reader
    (started first, so it is the one reader there is then); callbacks go to *b* only."""
    async with contextlib.AsyncExitStack() as stack:
        b = await start_instance(server, emulator, "b")
        stack.push_async_callback(b.aclose)

        async def b_reads() -> bool:
            return len(await reader_ids(server)) == 1

        await eventually(b_reads, "b's reader blocked in XREAD")
        (b_reader,) = await reader_ids(server)
        a = await start_on(a_url, emulator, "a")
        stack.push_async_callback(a.aclose)
        await b.client.ensure_subscription(b.receiver.url, username=CB_USER, password=CB_PASSWORD)
        yield a, b, b_reader


async def reader_ids(server: RedisServer) -> set[int]:
    """The ids of the connections blocked in XREAD: the instances' inbox readers."""
    async with server.inspect() as redis:
        return {int(c["id"]) for c in await redis.client_list() if c["cmd"] == "xread"}


async def placed(server: RedisServer, a: Instance, customer_order_id: str) -> str:
    """The order id, once *a* recorded it in Redis."""
    key = a.store.key(f"i:{customer_order_id}")
    async with server.inspect() as redis:

        async def recorded() -> bool:
            return bool(await redis.hget(key, "order_id"))

        await eventually(recorded, f"{customer_order_id} recorded as placed")
        return str(await redis.hget(key, "order_id"))


async def _true(value: bool) -> bool:
    return value


async def test_a11_redis_down_at_begin(redis_server: RedisServer) -> None:
    async with (
        DelayProxy(redis_server.socket_path) as proxy,
        BandwidthEmulator(order_delay=ORDER_DELAY) as emulator,
        pair(redis_server, emulator, redis_server.url) as (a, b, _),
    ):
        first, second, third = emulator.add_numbers(["9845550001", "9845550002", "9845550003"])
        waiting = asyncio.create_task(
            a.order(first, customer_order_id="a11-up", polling=NO_POLLING)
        )
        order_id = await placed(redis_server, a, "a11-up")
        await redis_server.stop()
        # A third instance whose URL carries a password (the proxy's; Redis is down when it
        # first connects, so the password is never checked): it must show in no error.
        secret_url = proxy.url.replace("redis://", f"redis://:{REDIS_PASSWORD}@")
        c = await start_on(secret_url, emulator, "c")
        try:
            for instance, number, coid in ((a, second, "a11-down"), (c, third, "a11-secret")):
                loop = asyncio.get_running_loop()
                started = loop.time()
                with pytest.raises(StoreUnavailableError) as raised:
                    await instance.order(number, customer_order_id=coid, polling=NO_POLLING)
                # The budget is 2.5 s; asserted loosely: behaviour, not speed.
                assert loop.time() - started < 5
                assert emulator.orders_with_customer_order_id(coid) == []
                assert "nothing was sent" in str(raised.value)
                for error in (raised.value, raised.value.__cause__):
                    assert REDIS_PASSWORD not in str(error)
        finally:
            await c.aclose()
        assert emulator.order_count == 1

        # Bandwidth's callback for the first order lands on b, which cannot reach Redis: b
        # answers 200 all the same and keeps the notification to route once Redis is back.
        async def answered() -> bool:
            return any(d.order_id == order_id and d.http_status == 200 for d in emulator.deliveries)

        await eventually(answered, "b answered the callback 200", lambda: emulator.deliveries)
        assert b.store.bus.stats["routed"] + b.store.bus.stats["parked"] == 0
        assert not waiting.done()
        await redis_server.start()
        try:
            async with asyncio.timeout(30):
                result = await waiting
        except TimeoutError:
            stats = [(i.name, i.store.healthy, dict(i.store.bus.stats)) for i in (a, b)]
            raise AssertionError(f"a's call did not return once Redis was back: {stats}") from None
        assert result.source is ResultSource.CALLBACK
        assert result.order_id == order_id
        # Redis came back empty (no AOF): b's notification was parked until a wrote its
        # intent again, or routed if a was first.
        assert b.store.bus.stats["routed"] + b.store.bus.stats["parked"] == 1


async def test_reader_cut_catches_up(redis_server: RedisServer) -> None:
    """Only a's inbox reader is cut (CLIENT KILL ID); while it is away (a's link to Redis is
    held, so it stays away), b routes a's notification; back, a's reader hands it to a's
    waiter: a CALLBACK result, and ``healthy`` went False then True."""
    async with (
        DelayProxy(redis_server.socket_path) as proxy,
        BandwidthEmulator(order_delay=ORDER_DELAY) as emulator,
        pair(redis_server, emulator, proxy.url) as (a, b, b_reader),
    ):
        number = emulator.add_numbers(["9845550003"])[0]
        waiting = asyncio.create_task(a.order(number, customer_order_id="cut", polling=NO_POLLING))
        await placed(redis_server, a, "cut")
        await eventually(lambda: _true(a.store.healthy), "a reads its inbox")

        async def both_read() -> bool:
            return len(await reader_ids(redis_server)) == 2

        await eventually(both_read, "both readers blocked in XREAD")
        (a_reader,) = await reader_ids(redis_server) - {b_reader}
        proxy.pause()
        async with redis_server.inspect() as redis:
            assert await redis.client_kill_filter(_id=str(a_reader)) == 1
        await eventually(lambda: _true(not a.store.healthy), "a saw its reader cut")
        await eventually(lambda: _true(b.store.bus.stats["routed"] >= 1), "b routed it")
        assert not waiting.done()
        proxy.resume()
        async with asyncio.timeout(30):
            result = await waiting
        assert result.source is ResultSource.CALLBACK
        await eventually(lambda: _true(a.store.healthy), "a reads its inbox again")


def new_intent(customer_order_id: str) -> OrderIntent:
    """An intent as order_and_wait records it before its POST."""
    request = OrderRequest.build(
        site_id="743", numbers=["9845550004"], customer_order_id=customer_order_id
    )
    return OrderIntent(
        customer_order_id=customer_order_id,
        request_digest=request_digest(request),
        request=request_fields(request),
        request_xml=f"<Order><CustomerOrderId>{customer_order_id}</CustomerOrderId></Order>",
        metadata={},
        created_at=time.time(),
    )


@pytest.mark.slow
async def test_finish_whose_reply_was_lost_is_still_the_first(redis_server: RedisServer) -> None:
    """FINISH runs in Redis, its reply is lost with the connection, redis-py sends it again:
    the store that finished the order still hears that it was the first (true once)."""
    async with (
        DelayProxy(redis_server.socket_path) as proxy,
        RedisStore(proxy.url, instance_id="a", namespace="9900000") as store,
    ):
        assert await store.begin(new_intent("lost-reply")) is None
        await store.placed("lost-reply", "order-1")
        proxy.delay = LINK_DELAY
        finishing = asyncio.create_task(store.finish("lost-reply", COMPLETE))
        async with redis_server.inspect() as redis:

            async def finished_in_redis() -> bool:
                return await redis.hget(store.key("i:lost-reply"), "state") == "FINAL"

            await eventually(finished_in_redis, "FINISH ran in Redis")
        assert not finishing.done()  # its reply is still on the slow link: cut it
        assert await proxy.drop() >= 1
        assert await finishing is True
        assert store.finished_here == 1


async def test_epoch_creator_sees_redis_restarted_empty(redis_server: RedisServer) -> None:
    """The instance that created the epoch is the first to beat after Redis came back empty
    (here, the only one): it still sees that Redis lost its data, and writes its intent again."""
    async with RedisStore(redis_server.url, instance_id="a", namespace="9900000") as store:
        assert await store.begin(new_intent("epoch")) is None
        await eventually(lambda: _true(store.bus.epoch is not None), "a's first heartbeat")
        await redis_server.restart(keep_data=False)
        await eventually(
            lambda: _true(store.bus.stats["epoch_changes"] == 1),
            "a saw the epoch change",
            lambda: store.bus.stats,
        )
        async with redis_server.inspect() as redis:

            async def reseeded() -> bool:
                return await redis.hget(store.key("i:epoch"), "state") == "INTENT"

            await eventually(reseeded, "a wrote its intent again")


async def test_finish_cut_short_by_a_timeout_is_written_by_the_resync(
    redis_server: RedisServer,
) -> None:
    """The journal bounds each write with a timeout: a FINISH it cuts short (the script ran,
    the reply was still on its way) is written again by the heartbeat's resync, which hears
    that it was the first: the order is counted once and leaves the store's mirror."""
    async with (
        DelayProxy(redis_server.socket_path) as proxy,
        RedisStore(proxy.url, instance_id="a", namespace="9900000", lease_ttl=1.5) as store,
    ):
        assert await store.begin(new_intent("cut-short")) is None
        await store.placed("cut-short", "order-2")
        proxy.delay = LINK_DELAY
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(LINK_DELAY * 1.5):  # the request is relayed, not the reply
                await store.finish("cut-short", COMPLETE)
        proxy.delay = 0.0

        async def resynced() -> bool:
            return store.finished_here == 1 and not store.mirror

        await eventually(resynced, "the resync finished the order", lambda: store.mirror)
        assert await store.get("cut-short") is not None
