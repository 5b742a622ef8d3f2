"""Every order store keeps the same journal: MemoryStore, SQLiteStore and RedisStore, the same
tests.

RedisStore runs against a real redis-server (the ``redis_server`` fixture, asked for by the
redis param only, so the other stores need no Redis). Where it differs by design, the test says
so: its keys expire on their own (prune() has nothing to do) and it takes no keep_finished=.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from bwnumbers import (
    IntentState,
    MemoryStore,
    OrderError,
    OrderIntent,
    OrderRequest,
    OrderStatus,
    OrderStore,
    Search,
    SQLiteStore,
    StoredOutcome,
    StoreUnavailableError,
)
from bwnumbers._store import request_digest, request_fields

StoreFactory = Callable[..., Any]

COMPLETE = StoredOutcome(status=OrderStatus.COMPLETE, completed_numbers=["+19195550100"])


def make_intent(
    customer_order_id: str,
    *,
    created_at: float | None = None,
    metadata: dict[str, Any] | None = None,
    numbers: tuple[str, ...] = ("+19195550100",),
) -> OrderIntent:
    """An intent as order_and_wait records it before its POST."""
    request = OrderRequest.build(
        site_id="12345", numbers=list(numbers), customer_order_id=customer_order_id
    )
    return OrderIntent(
        customer_order_id=customer_order_id,
        request_digest=request_digest(request),
        request=request_fields(request),
        request_xml=f"<Order><CustomerOrderId>{customer_order_id}</CustomerOrderId></Order>",
        metadata=metadata or {},
        created_at=time.time() if created_at is None else created_at,
    )


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def kind(request: pytest.FixtureRequest) -> str:
    """Which store is under test."""
    return str(request.param)


@pytest.fixture
def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Builds the store under test; each test closes what it built (see `store`)."""
    redis_url = None
    if kind == "redis":
        # Only this param starts a redis-server: memory and sqlite run without Redis.
        redis_url = request.getfixturevalue("redis_server").url

    def build(**options: Any) -> OrderStore:
        if kind == "memory":
            return MemoryStore(**options)
        if kind == "sqlite":
            return SQLiteStore(tmp_path / "orders.db", **options)
        from bwnumbers.redis import RedisStore  # only where redis-py is needed

        assert redis_url is not None
        return RedisStore(redis_url, namespace="conformance", **options)

    return build


@pytest.fixture
async def store(make_store: StoreFactory) -> AsyncIterator[OrderStore]:
    built = make_store()
    yield built
    await built.aclose()


async def test_begin_records_a_new_intent(store: OrderStore) -> None:
    """A new customer order id is recorded as given, under the store's owner."""
    intent = make_intent("order-1")
    assert await store.begin(intent) is None
    assert await store.get("order-1") == attrs.evolve(intent, owner=store.owner)


async def test_begin_again_returns_the_stored_intent_and_overwrites_nothing(
    store: OrderStore,
) -> None:
    """A second begin() with the same id changes nothing and returns what was stored first."""
    first = make_intent("order-1", metadata={"chat_id": 1})
    await store.begin(first)
    await store.placed("order-1", "bw-1")
    other = make_intent("order-1", metadata={"chat_id": 2}, numbers=("+19195550199",))
    stored = await store.begin(other)
    expected = attrs.evolve(first, owner=store.owner, order_id="bw-1", state=IntentState.PLACED)
    assert stored == expected
    assert await store.get("order-1") == expected


async def test_an_order_and_a_disconnect_share_a_customer_order_id(store: OrderStore) -> None:
    """Each kind has its own entry under one customer order id (the disconnect's key is
    namespaced): begin() finds no conflict, and each write reaches only its own entry."""
    order = make_intent("shared-1")
    disconnect = attrs.evolve(make_intent("shared-1"), kind="disconnects", request={"n": 1})
    assert disconnect.key == "disconnects:shared-1"
    assert await store.begin(order) is None
    assert await store.begin(disconnect) is None
    await store.placed(disconnect.key, "bw-disconnect")
    assert await store.finish(disconnect.key, COMPLETE) is True

    stored_order = await store.get("shared-1")
    stored_disconnect = await store.get(disconnect.key)
    assert stored_order == attrs.evolve(order, owner=store.owner)
    assert stored_disconnect is not None
    assert (stored_disconnect.kind, stored_disconnect.customer_order_id) == (
        "disconnects",
        "shared-1",
    )
    assert (stored_disconnect.order_id, stored_disconnect.state) == (
        "bw-disconnect",
        IntentState.FINAL,
    )
    assert [(i.kind, i.customer_order_id) for i in await store.unfinished()] == [
        ("orders", "shared-1")
    ]


async def test_placed_progress_finish(store: OrderStore) -> None:
    """An intent goes INTENT, PLACED (with its order id and last status), then FINAL once."""
    await store.begin(make_intent("order-1"))
    await store.placed("order-1", "bw-1")
    await store.progress("order-1", "RECEIVED")
    placed = await store.get("order-1")
    assert placed is not None
    assert (placed.state, placed.order_id, placed.last_status) == (
        IntentState.PLACED,
        "bw-1",
        "RECEIVED",
    )
    before = time.time()
    assert await store.finish("order-1", COMPLETE) is True
    final = await store.get("order-1")
    assert final is not None
    assert (final.state, final.outcome, final.last_status) == (
        IntentState.FINAL,
        COMPLETE,
        "COMPLETE",
    )
    assert final.finished_at is not None
    assert final.finished_at >= before


async def test_finish_is_true_once_and_freezes_the_intent(store: OrderStore) -> None:
    """After the outcome is recorded, nothing changes it: not finish, placed nor progress."""
    await store.begin(make_intent("order-1"))
    assert await store.finish("order-1", COMPLETE) is True
    final = await store.get("order-1")
    failed = StoredOutcome(
        status=OrderStatus.FAILED, errors=[OrderError(code=5005, description="gone")]
    )
    assert await store.finish("order-1", failed) is False
    await store.placed("order-1", "bw-late")
    await store.progress("order-1", "BACKORDERED")
    await store.never_created("order-1")
    assert await store.get("order-1") == final


async def test_concurrent_finishes_of_one_order_are_true_once(store: OrderStore) -> None:
    """Fifty concurrent finish() calls for one order: exactly one of them returns True."""
    await store.begin(make_intent("order-1"))
    results = await asyncio.gather(*(store.finish("order-1", COMPLETE) for _ in range(50)))
    assert results.count(True) == 1


async def test_never_created_finishes_without_an_outcome(store: OrderStore) -> None:
    """never_created() ends an intent: no outcome, no longer unfinished, finish() is False."""
    await store.begin(make_intent("order-1"))
    await store.never_created("order-1")
    ended = await store.get("order-1")
    assert ended is not None
    assert (ended.state, ended.outcome) == (IntentState.NEVER_CREATED, None)
    assert ended.finished_at is not None
    assert await store.unfinished() == []
    assert await store.finish("order-1", COMPLETE) is False


async def test_calls_for_unknown_ids_record_nothing(store: OrderStore) -> None:
    """placed, progress, finish and never_created of an unknown id create no intent."""
    await store.placed("nobody", "bw-1")
    await store.progress("nobody", "RECEIVED")
    await store.never_created("nobody")
    assert await store.finish("nobody", COMPLETE) is False
    assert await store.get("nobody") is None
    assert await store.unfinished() == []


async def test_unfinished_lists_live_intents_oldest_first(store: OrderStore) -> None:
    """unfinished() gives INTENT and PLACED intents by creation time, finished ones left out."""
    now = time.time()
    for name, age in (("middle", 20), ("newest", 10), ("oldest", 30), ("done", 40)):
        await store.begin(make_intent(name, created_at=now - age))
    await store.placed("middle", "bw-1")
    await store.finish("done", COMPLETE)
    names = [intent.customer_order_id for intent in await store.unfinished()]
    assert names == ["oldest", "middle", "newest"]


async def test_prune_forgets_finished_intents_older_than_kept(
    make_store: StoreFactory, kind: str
) -> None:
    """prune() removes finished intents past keep_finished and never an unfinished one."""
    if kind == "redis":
        pytest.skip(
            "RedisStore takes no keep_finished= and prune() is a no-op by design: each key "
            "expires on its own (test_prune_leaves_expiry_to_redis covers it)"
        )
    store = make_store(keep_finished=100.0)
    try:
        for name in ("a", "b", "live"):
            await store.begin(make_intent(name))
        await store.finish("a", COMPLETE)
        await store.never_created("b")
        assert await store.prune() == 0
        assert await store.prune(now=time.time() + 101.0) == 2
        assert await store.get("a") is None
        assert await store.get("b") is None
        assert [intent.customer_order_id for intent in await store.unfinished()] == ["live"]
    finally:
        await store.aclose()


async def test_prune_leaves_expiry_to_redis(make_store: StoreFactory, kind: str) -> None:
    """RedisStore: prune() removes nothing; a finished intent expires in 24 h, a live one in 7 d.

    What prune() does for the other stores, Redis does by itself through each key's TTL.
    """
    if kind != "redis":
        pytest.skip("only RedisStore keeps its journal in keys that expire")
    from bwnumbers.redis import RedisStore
    from bwnumbers.redis._store import KEEP_FINISHED, KEEP_PENDING

    async with make_store() as store:
        assert isinstance(store, RedisStore)
        for name in ("a", "b", "live"):
            await store.begin(make_intent(name))
        await store.finish("a", COMPLETE)
        await store.never_created("b")
        assert await store.prune(now=time.time() + 10 * KEEP_PENDING) == 0
        ttls = {
            name: await store.writer().ttl(store.key(f"i:{name}")) for name in ("a", "b", "live")
        }
        assert KEEP_FINISHED - 60 < ttls["a"] <= KEEP_FINISHED
        assert KEEP_FINISHED - 60 < ttls["b"] <= KEEP_FINISHED
        assert KEEP_PENDING - 60 < ttls["live"] <= KEEP_PENDING
        assert [intent.customer_order_id for intent in await store.unfinished()] == ["live"]


async def test_metadata_and_request_round_trip_exactly(store: OrderStore) -> None:
    """Metadata (unicode, nesting, numbers) and the request come back unchanged, id and all."""
    metadata = {
        "chat_id": -1001234567890,
        "name": "Zoë 🚀 東京 \u202e",
        "ratio": 0.1 + 0.2,
        "tags": ["a", {"nested": [True, False, None]}],
        "empty": {},
    }
    request = OrderRequest.build(
        site_id="12345",
        search=Search(area_code="919", quantity=3),
        name="Büro «Ost»",
        customer_order_id="order-1",
        peer_id="5555",
        partial_allowed=True,
        back_order_requested=True,
    )
    intent = attrs.evolve(
        make_intent("order-1", metadata=metadata),
        request=request_fields(request),
        request_digest=request_digest(request),
        deadline=time.time() + 30.5,
    )
    await store.begin(intent)
    stored = await store.get("order-1")
    assert stored == attrs.evolve(intent, owner=store.owner)
    assert stored is not None
    assert stored.metadata == metadata
    assert stored.rebuild_request() == OrderRequest.build(
        site_id="12345",
        search=Search(area_code="919", quantity=3),
        name="Büro «Ost»",
        customer_order_id="order-1",
        peer_id="5555",
        partial_allowed=True,
        back_order_requested=True,
    )


async def test_outcome_with_errors_round_trips(store: OrderStore) -> None:
    """A PARTIAL outcome keeps its numbers and its errors, codes and all."""
    outcome = StoredOutcome(
        status=OrderStatus.PARTIAL,
        completed_numbers=["+19195550100"],
        failed_numbers=["+19195550101"],
        errors=[OrderError(code=5005, description="Unavailable", number="+19195550101")],
    )
    await store.begin(make_intent("order-1"))
    await store.finish("order-1", outcome)
    stored = await store.get("order-1")
    assert stored is not None
    assert stored.outcome == outcome


async def test_a_closed_store_raises_store_unavailable(make_store: StoreFactory) -> None:
    """Every call after aclose() raises StoreUnavailableError; aclose() itself is idempotent."""
    store = make_store()
    await store.begin(make_intent("order-1"))
    await store.aclose()
    await store.aclose()
    calls = [
        store.begin(make_intent("order-2")),
        store.placed("order-1", "bw-1"),
        store.progress("order-1", "RECEIVED"),
        store.finish("order-1", COMPLETE),
        store.never_created("order-1"),
        store.get("order-1"),
        store.unfinished(),
        store.prune(),
    ]
    for call in calls:
        with pytest.raises(StoreUnavailableError, match="closed"):
            await call


async def test_async_with_closes_the_store(make_store: StoreFactory) -> None:
    """`async with` gives the store itself and closes it on the way out."""
    async with make_store() as store:
        assert await store.begin(make_intent("order-1")) is None
    with pytest.raises(StoreUnavailableError):
        await store.get("order-1")
