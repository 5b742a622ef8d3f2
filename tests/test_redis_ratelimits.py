"""Rate-limit gates shared through Redis: a 429 seen by one instance pauses the others.

Each instance is a RedisStore and a NumbersClient given it, on one real redis-server and one
rate-limited emulator. In one process the clients of one account already share a gate
(``bwnumbers._rate_sharing``); real instances are separate processes, so the ``own_gates``
fixture gives each client a gate of its own and only Redis can carry the closing across.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from bwnumbers import NumbersClient, RateLimitError, RetryPolicy, _rate_sharing
from bwnumbers._models import Notification
from bwnumbers._ratelimit import RateGate
from bwnumbers.redis import RedisStore
from bwnumbers.redis._codec import note_to_json
from bwnumbers.testing import BandwidthEmulator, RateLimit
from tests.redis_server import RedisServer

SITE = "743"
#: One ORDER a window, and a window long enough that its reset is never reached in a test.
LIMITS = {"ORDER": RateLimit(per_window=1, window=600)}
#: Far below the reset: a call the gate holds back fails at once instead of waiting for it.
QUICK = RetryPolicy(rate_limit_budget=0.2)


class _GatePerClient:
    """Stands in for ``_rate_sharing.shared``: every client gets a gate of its own."""

    def attach(self, origin: str, account_id: str) -> RateGate:
        return RateGate()

    def detach(self, gate: RateGate) -> None:
        pass


@pytest.fixture
def own_gates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_rate_sharing, "shared", _GatePerClient())


async def until(condition: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not condition():  # noqa: ASYNC110 - the gates' state has no event
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"{what} did not happen within {seconds:g} s")


def order_closed(client: NumbersClient) -> bool:
    return any(s.group == "ORDER" and not s.is_open for s in client.rate_limits)


@contextlib.asynccontextmanager
async def instance(
    server: RedisServer, emulator: BandwidthEmulator, name: str
) -> AsyncIterator[tuple[RedisStore, NumbersClient]]:
    """A store named *name* and a client given it, with the store's inbox being read."""
    async with (
        RedisStore(server.url, instance_id=name) as store,
        emulator.client(store=store, retry=QUICK) as client,
    ):
        # Alive (so a GATE reaches its inbox) and reading it.
        await until(lambda: store.healthy and store.bus.epoch is not None, f"{name} starting")
        yield store, client


def orders_seen(emulator: BandwidthEmulator) -> int:
    counts = emulator.rate_limit_counts["ORDER"]
    return counts.accepted + counts.refused


@pytest.fixture
def numbers() -> list[str]:
    return [f"212555{i:04d}" for i in range(4)]


async def close_the_order_gate(client: NumbersClient, numbers: list[str]) -> None:
    """One order accepted, the next refused with 429: *client*'s ORDER gate closes."""
    await client.create_order(site_id=SITE, numbers=[numbers[0]])
    with pytest.raises(RateLimitError):
        await client.create_order(site_id=SITE, numbers=[numbers[1]])
    assert order_closed(client)


async def test_a_429_on_one_instance_closes_the_gate_of_another(
    redis_server: RedisServer, own_gates: None, numbers: list[str]
) -> None:
    """After A's 429, B's ORDER gate is closed until the reset, B sends no ORDER request,
    and B's SEARCH requests go on; the closing is kept in rl:ORDER until the reset."""
    async with (
        BandwidthEmulator(rate_limits=LIMITS) as emulator,
        instance(redis_server, emulator, "a") as (a_store, a),
        instance(redis_server, emulator, "b") as (_, b),
    ):
        emulator.add_numbers(numbers)
        assert a._gate is not b._gate  # as in two processes: only Redis connects them
        assert not order_closed(b)
        await close_the_order_gate(a, numbers)
        await until(lambda: order_closed(b), "B's ORDER gate closing")
        (a_gate,) = [s for s in a.rate_limits if s.group == "ORDER"]
        (b_gate,) = [s for s in b.rate_limits if s.group == "ORDER"]
        assert b_gate.closed_until == pytest.approx(a_gate.closed_until, abs=0.001)
        assert b_gate.refusals == 0  # B learnt it from A, not from a 429 of its own

        seen = orders_seen(emulator)
        with pytest.raises(RateLimitError, match="was not sent"):
            await b.create_order(site_id=SITE, numbers=[numbers[2]])
        assert orders_seen(emulator) == seen  # nothing reached Bandwidth

        found = await b.search_available_numbers(area_code="212", quantity=1)
        assert found
        assert all(s.is_open for s in b.rate_limits if s.group == "SEARCH")

        async with redis_server.inspect() as r:
            until_ms = int(await r.get(a_store.key("rl:ORDER")) or 0)
            assert await r.pttl(a_store.key("rl:ORDER")) > 0
        assert a_gate.closed_until is not None
        assert until_ms == int(a_gate.closed_until * 1000)
    assert emulator.order_count == 1


async def test_an_instance_started_while_the_gate_is_closed_learns_it(
    redis_server: RedisServer, own_gates: None, numbers: list[str]
) -> None:
    """A new instance reads rl:<group> when its reader starts: its ORDER gate starts closed."""
    async with (
        BandwidthEmulator(rate_limits=LIMITS) as emulator,
        instance(redis_server, emulator, "a") as (_, a),
    ):
        emulator.add_numbers(numbers)
        await close_the_order_gate(a, numbers)
        async with redis_server.inspect() as r:
            await until_key(r, "rl:ORDER")
        async with instance(redis_server, emulator, "late") as (_, late):
            await until(lambda: order_closed(late), "the late instance's ORDER gate closing")
            seen = orders_seen(emulator)
            with pytest.raises(RateLimitError, match="was not sent"):
                await late.create_order(site_id=SITE, numbers=[numbers[2]])
            assert orders_seen(emulator) == seen


async def until_key(r: Redis, suffix: str) -> None:
    """Wait until a key ending in *suffix* exists (A publishes the closing in the background)."""
    try:
        async with asyncio.timeout(5):
            while not [k async for k in r.scan_iter(f"*{suffix}")]:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"no key *{suffix} within 5 s")


async def test_a_closed_client_unshares_its_gate(
    redis_server: RedisServer, own_gates: None, numbers: list[str]
) -> None:
    """Once B's client is closed, A's 429 no longer reaches its gate; B's store shares none."""
    async with (
        BandwidthEmulator(rate_limits=LIMITS) as emulator,
        instance(redis_server, emulator, "a") as (_, a),
        instance(redis_server, emulator, "b") as (b_store, b),
    ):
        emulator.add_numbers(numbers)
        gate = b._gate
        assert gate is not None
        await b.aclose()
        assert not gate.listeners  # B's store no longer hears this gate's 429s
        await close_the_order_gate(a, numbers)
        # A wrote the closing to B's inbox (B's store still runs); B's old gate stays open.
        async with redis_server.inspect() as r:
            await until_key(r, "rl:ORDER")
            await until_entries(r, b_store.key("in:b"))
            entries = await r.xrange(b_store.key("in:b")) or []
            assert [(fields or {}).get("gate") for _, fields in entries] == ["ORDER"]
            # A marker after it: once B's reader has taken the marker, it has handled the gate.
            await r.xadd(b_store.key("in:b"), {"coid": "marker", "note": MARKER})
        await until(lambda: b_store.bus.stats["received"] == 1, "B reading its inbox")
        assert all(s.is_open for s in gate.statuses())


MARKER = note_to_json(Notification(customer_order_id="marker"))


async def until_entries(r: Redis, stream: str) -> None:
    try:
        async with asyncio.timeout(5):
            while not await r.xlen(stream):  # noqa: ASYNC110 - no event in Redis
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"nothing in {stream} within 5 s")
