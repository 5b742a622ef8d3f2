"""RedisStore on its own: the codec, the redis-py settings, the keys and leases, the messages.

Every test runs a real redis-server (the ``redis_server`` fixture, or its own ``RedisServer``);
the journal contract shared with MemoryStore and SQLiteStore is in test_store_conformance.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

import attrs
import pytest
import redis.asyncio as aioredis

from bwnumbers import (
    IntentState,
    OrderError,
    OrderStatus,
    StoredOutcome,
    StoreUnavailableError,
    ValidationError,
    _journal,
)
from bwnumbers._models import Notification
from bwnumbers.redis import RedisStore
from bwnumbers.redis._codec import (
    intent_fields,
    intent_from_hash,
    note_from_json,
    note_to_json,
    outcome_fields,
    pairs,
)
from bwnumbers.redis._connections import reader_client
from bwnumbers.testing import BandwidthEmulator
from tests.redis_server import RedisServer
from tests.tcp_proxy import DelayProxy
from tests.test_store_conformance import COMPLETE, make_intent

NAMESPACE = "9900000"
PASSWORD = "s3cret"
UTC = dt.UTC


def as_hash(fields: list[str]) -> dict[str, str]:
    """The flat field, value list HSET is given, as HGETALL would give it back."""
    return pairs(fields)


async def until(condition: object, what: str, seconds: float = 5.0) -> None:
    """Poll *condition* (a callable) until true; fail saying *what* did not happen."""
    assert callable(condition)
    try:
        async with asyncio.timeout(seconds):
            while not condition():  # noqa: ASYNC110 - the store's state has no event
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"{what} did not happen within {seconds:g} s")


# ---------------------------------------------------------------------------------- codec


def test_every_notification_field_round_trips() -> None:
    """Every field of a Notification, dates (with offsets) and tuples included, comes back."""
    note = Notification(
        subscription_id="sub-1",
        order_type="orders",
        order_id="bw-1",
        customer_order_id="order-1",
        status=OrderStatus.PARTIAL,
        message="5005: The telephone number is unavailable «Zoë»",
        note="a note",
        completed_numbers=("+19195550100", "+19195550101"),
        last_modified=dt.datetime(2026, 11, 27, 20, 1, 2, 345000, tzinfo=UTC),
        actual_foc_date=dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        event_type="ORDER_STATUS",
        impacted_numbers=("+19195550102",),
    )
    unset = {f.name for f in attrs.fields(Notification) if getattr(note, f.name) in (None, ())}
    assert not unset, f"the sample leaves {unset} unset: the round trip would not cover them"
    assert note_from_json(note_to_json(note)) == note


def test_a_sparse_notification_round_trips_and_gets_its_customer_order_id() -> None:
    """Absent fields stay absent; a missing customer order id is filled in from the inbox."""
    note = Notification(order_id="bw-1", status=OrderStatus.COMPLETE)
    assert note_from_json(note_to_json(note)) == note
    filled = note_from_json(note_to_json(note), "order-1")
    assert filled == attrs.evolve(note, customer_order_id="order-1")


def test_every_intent_field_round_trips() -> None:
    """An intent with every field set, a FAILED outcome with errors among them, comes back."""
    failed = StoredOutcome(
        status=OrderStatus.FAILED,
        completed_numbers=["+19195550100"],
        failed_numbers=["+19195550101"],
        errors=[
            OrderError(code=5005, description="Unavailable", number="+19195550101"),
            OrderError(code=5999, description="Other «é»", number=None),
        ],
    )
    intent = attrs.evolve(
        make_intent("order-1", metadata={"chat_id": -1, "name": "東京"}),
        order_id="bw-1",
        owner="pod-0",
        deadline=time.time() + 30.25,
        state=IntentState.FINAL,
        last_status="FAILED",
        outcome=failed,
        finished_at=time.time(),
    )
    unset = {f.name for f in attrs.fields(type(intent)) if getattr(intent, f.name) is None}
    assert not unset, f"the sample leaves {unset} unset"
    assert intent_from_hash(as_hash(intent_fields(intent))) == intent


def test_an_intent_with_absent_fields_round_trips_without_writing_them() -> None:
    """None fields are left out of the hash (not written as 'None') and come back as None."""
    intent = make_intent("order-1")
    fields = as_hash(intent_fields(intent))
    for name in ("order_id", "deadline", "last_status", "outcome", "finished_at"):
        assert name not in fields
    assert intent_from_hash(fields) == intent


def test_outcome_fields_end_an_intent_as_finish_writes_them() -> None:
    """What FINISH writes over a PLACED intent gives the finished intent, outcome and all."""
    placed = attrs.evolve(make_intent("order-1"), order_id="bw-1", state=IntentState.PLACED)
    failed = StoredOutcome(
        status=OrderStatus.FAILED, errors=[OrderError(code=5005, description="gone")]
    )
    now = time.time()
    fields = as_hash(intent_fields(placed)) | as_hash(
        outcome_fields(IntentState.FINAL, failed, now)
    )
    assert intent_from_hash(fields) == attrs.evolve(
        placed, state=IntentState.FINAL, outcome=failed, last_status="FAILED", finished_at=now
    )


# --------------------------------------------------------------- redis-py settings (§4.7)


async def test_the_writer_pool_is_bounded_and_waits(redis_server: RedisServer) -> None:
    """200 concurrent commands through max_connections=2 all succeed: callers wait for a
    connection of a BlockingConnectionPool instead of raising, and Redis sees at most 2 (+1
    reader)."""
    async with RedisStore(redis_server.url, namespace=NAMESPACE, max_connections=2) as store:
        found = await asyncio.gather(*(store.get(f"order-{i}") for i in range(200)))
        assert found == [None] * 200
        assert await redis_server.client_count() <= 3
        pool = store.writer().connection_pool
        assert isinstance(pool, aioredis.BlockingConnectionPool)
        assert pool.max_connections == 2
        assert pool.timeout is not None
        assert pool.timeout > 0
        assert pool.connection_kwargs["protocol"] == 2
        assert not pool.connection_kwargs.get("socket_keepalive")  # a unix socket has none


async def test_the_reader_has_one_connection_no_timeout_no_retries() -> None:
    """The inbox reader: socket_timeout None (XREAD BLOCK waits on purpose), 0 retries, one
    connection, RESP2; keepalive on TCP only."""
    for url, keepalive in (("redis://127.0.0.1:6399/0", True), ("unix:///tmp/r.sock", False)):
        reader = reader_client(url)
        try:
            kwargs = reader.connection_pool.connection_kwargs
            assert kwargs["socket_timeout"] is None
            assert kwargs["retry"].get_retries() == 0
            assert kwargs["protocol"] == 2
            assert bool(kwargs.get("socket_keepalive")) is keepalive
            assert reader.single_connection_client
        finally:
            await reader.aclose()


async def test_begin_against_a_redis_that_never_answers_is_bounded(
    redis_server: RedisServer,
) -> None:
    """With Redis partitioned away (a paused proxy: the command hangs, nothing fails), begin
    raises StoreUnavailableError within the journal's 2 s budget; the TCP writer has
    keepalive on."""
    async with (
        DelayProxy(redis_server.socket_path) as proxy,
        RedisStore(proxy.url, namespace=NAMESPACE) as store,
    ):
        assert store.writer().connection_pool.connection_kwargs["socket_keepalive"]
        assert await _journal.begin(store, make_intent("order-1")) is None
        proxy.pause()
        try:
            with pytest.raises(StoreUnavailableError, match="within 2 s"):
                async with asyncio.timeout(4):  # a hang fails here, not the suite
                    await _journal.begin(store, make_intent("order-2"))
        finally:
            proxy.resume()


# ----------------------------------------------------------------------- keys and leases


async def test_every_key_but_epoch_and_hb_has_a_ttl(redis_server: RedisServer) -> None:
    """Intents (pending and final), o:, own:, alive:, in: and early/early_t all expire."""
    async with RedisStore(redis_server.url, instance_id="a", namespace=NAMESPACE) as store:
        for name in ("pending", "done"):
            await store.begin(make_intent(name))
            await store.placed(name, f"bw-{name}")
        await store.progress("pending", "RECEIVED")
        await store.finish("done", COMPLETE)
        await store.route(Notification(order_id="bw-pending", status=OrderStatus.BACKORDERED))
        await store.route(Notification(order_id="bw-nobody", status=OrderStatus.COMPLETE))
        await until(lambda: store.bus.epoch is not None, "the first heartbeat")
        async with redis_server.inspect() as r:
            keys = sorted(str(key) for key in await r.keys("*"))
            ttls = {key: await r.ttl(key) for key in keys}
    names = {key.removeprefix(store.prefix or "") for key in keys}
    expected = {"i:pending", "i:done", "o:bw-pending", "o:bw-done", "own:a", "alive:a", "in:a"}
    assert names >= expected | {"early", "early_t", "epoch", "hb"}
    forever = {key for key, ttl in ttls.items() if ttl < 0}
    assert forever == {store.key("epoch"), store.key("hb")}


async def test_begin_returns_the_stored_intent_to_another_instance(
    redis_server: RedisServer,
) -> None:
    """A second instance's begin with the same customer order id gets the first one's intent."""
    async with (
        RedisStore(redis_server.url, instance_id="a", namespace=NAMESPACE) as a,
        RedisStore(redis_server.url, instance_id="b", namespace=NAMESPACE) as b,
    ):
        first = make_intent("order-1", metadata={"by": "a"})
        assert await a.begin(first) is None
        found = await b.begin(make_intent("order-1", metadata={"by": "b"}))
        assert found == attrs.evolve(first, owner="a")
        assert await b.unfinished() == []
        assert [i.customer_order_id for i in await a.unfinished()] == ["order-1"]


async def test_finish_is_true_once_across_two_racing_instances(redis_server: RedisServer) -> None:
    """50 orders, each finished at once by two instances: exactly one True per order."""
    async with (
        RedisStore(redis_server.url, instance_id="a", namespace=NAMESPACE) as a,
        RedisStore(redis_server.url, instance_id="b", namespace=NAMESPACE) as b,
    ):
        names = [f"order-{i}" for i in range(50)]
        for name in names:
            await a.begin(make_intent(name))
        results = await asyncio.gather(
            *(store.finish(name, COMPLETE) for name in names for store in (a, b))
        )
        assert [results[i] + results[i + 1] for i in range(0, 100, 2)] == [1] * 50
        assert a.finished_here + b.finished_here == 50
        assert await a.unfinished() == []


async def test_clean_close_hands_back_the_lease_and_the_keys(redis_server: RedisServer) -> None:
    """aclose() deletes alive:, in:, own: and the hb entry when nothing is owned; with an
    unfinished order it deletes only alive: (a survivor adopts the rest)."""
    idle = RedisStore(redis_server.url, instance_id="idle", namespace=NAMESPACE)
    busy = RedisStore(redis_server.url, instance_id="busy", namespace=NAMESPACE)
    for store in (idle, busy):
        await store.begin(make_intent(f"{store.instance_id}-1"))
        await store.route(Notification(customer_order_id=f"{store.instance_id}-1"))
        await until(lambda s=store: s.bus.epoch is not None, "the first heartbeat")
    await idle.finish("idle-1", COMPLETE)
    await idle.aclose()
    await busy.aclose()
    key = idle.key
    async with redis_server.inspect() as r:
        for gone in ("alive:idle", "in:idle", "own:idle", "alive:busy"):
            assert not await r.exists(key(gone)), gone
        assert await r.zscore(key("hb"), "idle") is None
        assert await r.smembers(key("own:busy")) == {"busy-1"}
        assert await r.zscore(key("hb"), "busy") is not None


async def test_aclose_right_after_the_first_command_ends(redis_server: RedisServer) -> None:
    """Closing a store whose heartbeat is still on its first beat ends at once.

    redis-py 8.1 lets a command in flight when its task is cancelled return normally; the
    heartbeat then lost the cancellation and aclose() waited for it (a lease_ttl / 3 wait, or
    for ever when the next beat met the closed store and retried).
    """
    for i in range(5):
        store = RedisStore(redis_server.url, namespace=NAMESPACE)
        await store.begin(make_intent(f"order-{i}"))
        # Not asyncio.timeout: a lost cancellation would swallow its cancel too and hang here.
        closing = asyncio.create_task(store.aclose())
        done, _ = await asyncio.wait({closing}, timeout=5)  # under the 10 s beat wait
        assert closing in done, f"aclose() of store {i} did not end: a loop lost its cancellation"


async def test_no_password_in_repr_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    """repr() and every StoreUnavailableError hide the URL's password."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    caplog.set_level(logging.DEBUG, logger="bwnumbers")
    async with RedisStore(url, instance_id="a", namespace=NAMESPACE) as store:
        assert PASSWORD not in repr(store)
        assert "127.0.0.1" in repr(store)
        calls = [
            store.begin(make_intent("order-1")),
            store.placed("order-1", "bw-1"),
            store.progress("order-1", "RECEIVED"),
            store.finish("order-1", COMPLETE),
            store.get("order-1"),
            store.unfinished(),
            store.owner_alive("b"),
        ]
        for call in calls:
            with pytest.raises(StoreUnavailableError) as raised:
                await call
            assert PASSWORD not in str(raised.value)
            assert "127.0.0.1" in str(raised.value)
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)


async def test_the_namespace_comes_from_the_first_client(redis_server: RedisServer) -> None:
    """Without namespace=, begin says what to do; a client's account id then names the keys."""
    async with RedisStore(redis_server.url, instance_id="a") as store:
        with pytest.raises(StoreUnavailableError, match="namespace="):
            await store.begin(make_intent("order-1"))
        before = store.namespace  # (a local: mypy would narrow the property for good)
        assert before is None
        async with BandwidthEmulator() as emulator, emulator.client(store=store):
            assert store.namespace == emulator.account_id
            assert store.prefix == f"bwn:{{{emulator.account_id}}}:"
            assert await store.begin(make_intent("order-1")) is None
            async with redis_server.inspect() as r:
                assert await r.exists(store.key("i:order-1"))


@pytest.mark.parametrize(("policy", "warned"), [("allkeys-lru", True), ("noeviction", False)])
async def test_an_evicting_redis_is_warned_about(
    tmp_path: Path,
    redis_required: None,
    caplog: pytest.LogCaptureFixture,
    policy: str,
    warned: bool,
) -> None:
    """A Redis that evicts keys when full gets one WARNING naming the setting; noeviction none."""
    caplog.set_level(logging.INFO, logger="bwnumbers.redis")
    async with (
        RedisServer(tmp_path, maxmemory_policy=policy) as server,
        RedisStore(server.url, namespace=NAMESPACE) as store,
    ):
        await store.get("order-1")
        await until(lambda: store.bus.epoch is not None, "the first heartbeat")
        await store.bus.lease.check_eviction_policy()  # the heartbeat's check, awaited here
    warnings = [r for r in caplog.records if "maxmemory-policy" in r.getMessage()]
    assert all(r.levelno == logging.WARNING for r in warnings)
    assert bool(warnings) is warned
    if warned:
        assert "allkeys-lru" in warnings[0].getMessage()


def test_import_without_redis_py_says_how_to_install() -> None:
    """`import bwnumbers.redis` without redis-py raises ImportError with the pip command."""
    code = (
        "import sys\n"
        "sys.modules['redis'] = None\n"
        "try:\n"
        "    import bwnumbers.redis\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'bwnumbers[redis]'" in done.stdout


@pytest.mark.parametrize(
    "arguments",
    [
        {"url": "localhost"},
        {"url": 6379},
        {"lease_ttl": 0},
        {"lease_ttl": -1.0},
        {"lease_ttl": "30"},
        {"instance_id": ""},
        {"instance_id": "  "},
        {"instance_id": 7},
        {"namespace": ""},
        {"max_connections": 0},
    ],
)
def test_bad_arguments_raise_validation_error(arguments: dict[str, object]) -> None:
    """A URL without a scheme, a lease that is not a positive number, an empty or non-string
    instance id or namespace, no connections: ValidationError, before anything connects."""
    options: dict[str, object] = {"url": "redis://127.0.0.1:6379/0"} | arguments
    with pytest.raises(ValidationError):
        RedisStore(**options)  # type: ignore[arg-type]
