"""The client at Bandwidth's rate limits, against the rate-limited emulator, in real time."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bwnumbers import (
    CallbackReceiver,
    ForbiddenError,
    NumbersClient,
    OrderTimeoutError,
    RateLimitError,
    RetryPolicy,
    ValidationError,
    _rate_sharing,
    _ratelimit,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator, RateLimit

pytestmark = pytest.mark.slow

SITE = "743"


async def stocked(emulator: BandwidthEmulator, count: int) -> list[str]:
    """Put *count* fresh numbers in stock and return them."""
    return emulator.add_numbers(f"212555{i:04d}" for i in range(count))


async def test_a_burst_of_orders_at_the_limit_completes_once_each() -> None:
    """120 concurrent orders at 20/s with a burst of 5: all placed once, few refusals a window."""
    limits = {"ORDER": RateLimit(per_window=20, window=1, burst=5)}
    async with (
        BandwidthEmulator(rate_limits=limits) as emulator,
        emulator.client() as client,
        CallbackReceiver() as receiver,
    ):
        await client.ensure_subscription(receiver.url)
        numbers = await stocked(emulator, 120)
        results = await asyncio.gather(
            *(order_and_wait(client, receiver, site_id=SITE, numbers=[n]) for n in numbers)
        )
        await emulator.settle()
        counts = emulator.rate_limit_counts["ORDER"]
        statuses = {s.group: s for s in client.rate_limits}
    assert len(results) == 120
    assert all(r.completed_numbers for r in results)
    assert emulator.order_count == 120  # nothing ordered twice
    for result in results:
        assert emulator.orders_with_customer_order_id(result.customer_order_id) == [result.order_id]
    windows = [counts.refused_per_window[w] for w in sorted(counts.refused_per_window)]
    # The first window may cost the few requests in flight before the limit was known; after
    # that, at most two refusals a window.
    assert windows[0] <= _ratelimit.UNKNOWN_LIMIT_CONCURRENCY
    assert all(refused <= 2 for refused in windows[1:]), windows
    assert counts.refused <= 20, windows
    assert statuses["ORDER"].refusals == counts.refused
    assert statuses["ORDER"].per_window in (20, 25)


async def test_search_and_order_storms_do_not_block_each_other() -> None:
    """A SEARCH limit that is closed for long never holds back the orders."""
    limits = {"SEARCH": RateLimit(per_window=3, window=5)}
    async with BandwidthEmulator(rate_limits=limits) as emulator, emulator.client() as client:
        numbers = await stocked(emulator, 30)
        searches = [
            asyncio.ensure_future(client.search_available_numbers(area_code="212", quantity=1))
            for _ in range(10)
        ]
        started = time.monotonic()
        orders = await asyncio.gather(
            *(client.create_order(site_id=SITE, numbers=[n]) for n in numbers)
        )
        orders_took = time.monotonic() - started
        assert len(orders) == 30
        assert orders_took < 4  # well inside the 5 s the searches are held for
        assert any(not s.done() for s in searches)  # searches still wait at their gate
        for search in searches:
            search.cancel()
        await asyncio.gather(*searches, return_exceptions=True)
        (search_gate,) = [s for s in client.rate_limits if s.group == "SEARCH"]
        assert search_gate.waiting == 0  # cancelled waiters leave the gate


@pytest.mark.parametrize(
    ("header", "least", "most"),
    [
        ("seconds", 0.0, 2.5),
        ("milliseconds", 0.0, 2.5),
        ("delta", 0.0, 2.5),
        ("missing", 0.9, 2.5),  # closed for 1 s
        ("garbled", 0.9, 2.5),  # closed for 1 s
        ("past", 0.0, 0.8),  # reopened at once
    ],
)
async def test_every_form_of_the_reset_header(header: str, least: float, most: float) -> None:
    """Each header form closes the gate for as long as it says, and the request then goes."""
    async with BandwidthEmulator() as emulator, emulator.client() as client:
        emulator.faults.rate_limit_header = header  # type: ignore[assignment]
        emulator.faults.rate_limit_next = 1
        emulator.faults.rate_limit_reset = 0.5
        started = time.monotonic()
        await client.create_order(site_id=SITE, numbers=["5402278098"])
        waited = time.monotonic() - started
    assert least <= waited <= most
    assert emulator.order_count == 1


async def test_budget_running_out_at_the_gate_sends_nothing() -> None:
    """When the gate opens beyond the budget, RateLimitError comes at once and nothing is sent."""
    # An hour-long window, as below: with 30 s, the two POSTs fell into two windows once in CI
    # (epoch-aligned windows), and the second was accepted.
    limits = {"ORDER": RateLimit(per_window=1, window=3600)}
    policy = RetryPolicy(rate_limit_budget=0.5)
    async with (
        BandwidthEmulator(rate_limits=limits) as emulator,
        emulator.client(retry=policy) as client,
    ):
        await client.create_order(site_id=SITE, numbers=["5402278098"])
        with pytest.raises(RateLimitError, match="rate_limit_budget") as first:
            await client.create_order(site_id=SITE, numbers=["5402278099"])
        refused = emulator.rate_limit_counts["ORDER"].refused
        started = time.monotonic()
        with pytest.raises(RateLimitError, match="was not sent") as second:
            await client.create_order(site_id=SITE, numbers=["5402278099"])
        assert time.monotonic() - started < 0.5  # known closed: no wait at all
        assert emulator.rate_limit_counts["ORDER"].refused == refused  # nothing was sent
    assert emulator.order_count == 1
    for info in (first, second):
        assert info.value.reset_at is not None
        assert info.value.reset_at > time.time()


async def test_order_and_wait_timeout_at_the_gate_is_a_rate_limit_error() -> None:
    """timeout= running out at the gate raises RateLimitError (nothing sent), not a timeout."""
    # Windows are aligned to epoch seconds: an hour makes it unlikely that the two POSTs fall
    # into two windows (with 30 s, one CI run in a few hundred saw the second one accepted).
    limits = {"ORDER": RateLimit(per_window=1, window=3600)}
    async with (
        BandwidthEmulator(rate_limits=limits) as emulator,
        emulator.client() as client,
        CallbackReceiver() as receiver,
    ):
        await client.create_order(site_id=SITE, numbers=["5402278098"])
        with pytest.raises(RateLimitError, match="timeout= runs out") as info:
            await order_and_wait(client, receiver, site_id=SITE, numbers=["5402278099"], timeout=1)
        assert not isinstance(info.value, OrderTimeoutError)
        assert info.value.reset_at is not None
        assert len(receiver.waiters) == 0
    assert emulator.order_count == 1


async def test_cancelled_waiters_leave_the_gate_consistent() -> None:
    """Cancelling requests that wait at the gate loses no slot: later orders all go through."""
    limits = {"ORDER": RateLimit(per_window=5, window=1)}
    async with BandwidthEmulator(rate_limits=limits) as emulator, emulator.client() as client:
        numbers = await stocked(emulator, 40)
        doomed = [
            asyncio.ensure_future(client.create_order(site_id=SITE, numbers=[n]))
            for n in numbers[:30]
        ]
        await asyncio.sleep(0.3)
        for task in doomed:
            task.cancel()
        await asyncio.gather(*doomed, return_exceptions=True)
        placed = [t for t in doomed if not t.cancelled() and t.exception() is None]
        survivors = await asyncio.gather(
            *(client.create_order(site_id=SITE, numbers=[n]) for n in numbers[30:])
        )
        (gate,) = [s for s in client.rate_limits if s.group == "ORDER"]
    assert len(survivors) == 10
    assert gate.waiting == 0
    assert emulator.order_count == len(placed) + 10


async def test_clients_of_one_account_share_a_gate_and_release_it() -> None:
    """Two clients of one account see one gate; it is released when the last one closes."""
    limits = {"ORDER": RateLimit(per_window=1, window=3600)}  # two POSTs in one window
    async with BandwidthEmulator(rate_limits=limits) as emulator:
        first = emulator.client(retry=RetryPolicy(rate_limit_budget=0.2))
        second = emulator.client()
        async with first, second:
            await first.create_order(site_id=SITE, numbers=["5402278098"])
            with pytest.raises(RateLimitError):
                await first.create_order(site_id=SITE, numbers=["5402278099"])
            closed = [s for s in second.rate_limits if s.group == "ORDER" and not s.is_open]
            assert closed, "the second client sees the first one's closed gate"
            # Another account on the same API has gates of its own: it is not held back (the
            # emulator knows one account, so it answers 403 at once instead of waiting).
            other = NumbersClient(
                account_id="1234567",
                access_token=emulator.issue_token(),
                base_url=emulator.base_url,
            )
            async with other:
                started = time.monotonic()
                with pytest.raises(ForbiddenError):
                    await other.create_order(site_id=SITE, numbers=["5402278099"])
                assert time.monotonic() - started < 1
                assert [s.refusals for s in other.rate_limits] == [0]
        assert not _rate_sharing.shared.gates()


async def test_max_rate_paces_without_refusals() -> None:
    """max_rate={"ORDER": 10} sends at that pace: no 429 against a 10-per-second limit."""
    limits = {"ORDER": RateLimit(per_window=10, window=1)}
    async with (
        BandwidthEmulator(rate_limits=limits) as emulator,
        emulator.client(max_rate={"ORDER": 10}) as client,
    ):
        numbers = await stocked(emulator, 15)
        started = time.monotonic()
        await asyncio.gather(*(client.create_order(site_id=SITE, numbers=[n]) for n in numbers))
        took = time.monotonic() - started
        (gate,) = [s for s in client.rate_limits if s.group == "ORDER"]
    assert emulator.rate_limit_counts["ORDER"].refused == 0
    assert gate.max_rate == 10
    assert took >= 1.3  # 15 requests, one every 0.1 s


@pytest.mark.parametrize("bad", [{"ORDER": 0}, {"ORDER": "fast"}, {"": 1}, ["ORDER"]])
def test_max_rate_is_validated(bad: object) -> None:
    """A max_rate that is not group -> requests per second > 0 is refused up front."""
    with pytest.raises(ValidationError, match="max_rate"):
        NumbersClient(account_id="1", access_token="t", max_rate=bad)  # type: ignore[arg-type]


async def test_waiting_is_logged_once_per_window(caplog: pytest.LogCaptureFixture) -> None:
    """Many requests waiting for one window make one log line, not one each."""
    caplog.set_level(logging.INFO, logger="bwnumbers.ratelimit")
    limits = {"ORDER": RateLimit(per_window=5, window=1)}
    async with BandwidthEmulator(rate_limits=limits) as emulator, emulator.client() as client:
        numbers = await stocked(emulator, 12)
        await asyncio.gather(*(client.create_order(site_id=SITE, numbers=[n]) for n in numbers))
        windows = len(emulator.rate_limit_counts["ORDER"].refused_per_window)
    lines = [r for r in caplog.records if "rate limit reached" in r.getMessage()]
    assert 1 <= len(lines) <= windows


async def test_requests_cancelled_in_flight_give_their_slot_back() -> None:
    """Cancelling requests already sent frees their place: the next ones are not held back."""
    limits = {"ORDER": RateLimit(per_window=100, window=1)}
    async with BandwidthEmulator(rate_limits=limits) as emulator, emulator.client() as client:
        numbers = await stocked(emulator, 20)
        emulator.faults.response_delay = 0.5
        in_flight = [
            asyncio.ensure_future(client.create_order(site_id=SITE, numbers=[n]))
            for n in numbers[: _ratelimit.UNKNOWN_LIMIT_CONCURRENCY]
        ]
        await asyncio.sleep(0.2)  # all of them sent, none answered yet
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
        emulator.faults.response_delay = 0
        async with asyncio.timeout(5):
            placed = await asyncio.gather(
                *(client.create_order(site_id=SITE, numbers=[n]) for n in numbers[10:])
            )
    assert len(placed) == 10


async def test_late_refusals_of_one_window_restart_it_once() -> None:
    """429s read after their reset (a busy loop) start one new window, not one each.

    Each of them used to restart the count, letting the learned allowance through again per
    refusal: 8 late 429s sent 8 x 60 requests at once into a window of 100 (the ratelimit
    benchmark saw 84 refusals in one window).
    """
    gate = _ratelimit.RateGate()
    for _ in range(15):  # 120 accepted before the limit, at most 8 in flight
        tickets = [
            (await gate.acquire("ORDER", budget=5, label="POST /orders"))[0] for _ in range(8)
        ]
        for ticket in tickets:
            gate.settle(ticket, refused=False)
    in_flight = [(await gate.acquire("ORDER", budget=5, label="POST /orders"))[0] for _ in range(8)]
    admitted: list[_ratelimit.Ticket] = []

    async def wait() -> None:
        admitted.append((await gate.acquire("ORDER", budget=5, label="POST /orders"))[0])

    waiting = [asyncio.create_task(wait()) for _ in range(500)]
    await asyncio.sleep(0.01)
    assert admitted == []
    reset = time.time() - 0.01  # the window had rolled over when the answers were read
    for ticket in in_flight:
        gate.settle(ticket, refused=True, reset_at=reset)
        await asyncio.sleep(0.001)
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    (status,) = gate.statuses()
    assert status.per_window == 60  # half the first window's 120
    assert len(admitted) == 60 + 1  # the allowance at once, then one probe
    assert status.refusals == 8


async def test_first_opening_counts_only_the_window_that_ran_out() -> None:
    """Requests accepted before the last window are not taken as that window's allowance.

    Before the first 429 the gate does not know where windows begin: 100 accepted a second
    before and 100 in the window that ran out used to make an allowance of half of 200, so the
    first opening overran a limit of 100 (in the ratelimit benchmark: 220 accepted over two
    windows before the first 429, an allowance of 110, 11 refusals at the first opening).
    """
    gate = _ratelimit.RateGate()

    async def accept(count: int) -> None:
        for _ in range(count // 4):
            tickets = [
                (await gate.acquire("ORDER", budget=5, label="POST /orders"))[0] for _ in range(4)
            ]
            for ticket in tickets:
                gate.settle(ticket, refused=False)

    await accept(100)
    await asyncio.sleep(1.1)  # a window boundary passed without a 429
    await accept(100)
    (refused, _) = await gate.acquire("ORDER", budget=5, label="POST /orders")
    gate.settle(refused, refused=True, reset_at=time.time() + 0.5)
    (status,) = gate.statuses()
    assert status.per_window == 50  # half of the 100 in the window that ran out, not of 200
