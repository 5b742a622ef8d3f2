"""Cancelling order_and_wait: the cancellation propagates, and the log says where the order is.

The real emulator and a real receiver over loopback. Three moments: after Bandwidth accepted
the order (its id is known), while POST /orders is under way (it may or may not have
arrived), and while still waiting at the rate-limit gate (nothing was sent).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from bwnumbers import (
    APIError,
    CallbackReceiver,
    NumbersClient,
    OrderResult,
    OrderStatus,
    PollPolicy,
    RetryPolicy,
    StatusUpdate,
    TransportError,
    _ratelimit,
    _retry,
    order_and_wait,
)
from bwnumbers._transport import Response
from bwnumbers.testing import BandwidthEmulator

FAST = PollPolicy(first_poll=0.3, interval=0.2, max_interval=0.5)


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


@pytest.fixture
async def receiver(client: NumbersClient) -> AsyncIterator[CallbackReceiver]:
    async with CallbackReceiver() as started:
        await client.ensure_subscription(started.url)
        yield started
        assert len(started.waiters) == 0, "a cancelled order_and_wait left its waiter behind"


async def until(condition: Callable[[], bool]) -> None:
    """Wait, in small steps, until *condition* holds (at most 5 s)."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the emulator's and client's state has no event
            await asyncio.sleep(0.01)


async def cancel(task: asyncio.Task[OrderResult]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bwnumbers.ordering" and r.levelno == level and "cancelled" in r.message
    ]


async def test_cancelled_after_acceptance_names_the_order(
    client: NumbersClient,
    receiver: CallbackReceiver,
    bandwidth_emulator: BandwidthEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The order exists and continues at Bandwidth: its id and customer order id are logged."""
    bandwidth_emulator.order_delay = 30
    accepted = asyncio.Event()
    seen: list[StatusUpdate] = []

    def on_status(update: StatusUpdate) -> None:
        seen.append(update)
        accepted.set()

    task = asyncio.ensure_future(
        order_and_wait(
            client,
            receiver,
            site_id="743",
            numbers=["5402278098"],
            on_status=on_status,
            polling=FAST,
        )
    )
    await asyncio.wait_for(accepted.wait(), 5)
    await cancel(task)
    (update,) = seen
    (warning,) = records(caplog, logging.WARNING)
    assert f"order {update.order_id} (customer order id {update.customer_order_id})" in warning
    assert "exists and continues at Bandwidth" in warning
    assert f"client.get_order('{update.order_id}')" in warning
    details = await client.get_order(update.order_id)  # the advice works
    assert details.status is OrderStatus.RECEIVED


async def test_cancelled_during_the_post_says_look_it_up(
    client: NumbersClient,
    receiver: CallbackReceiver,
    bandwidth_emulator: BandwidthEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The POST reached Bandwidth but its answer had not come: look up by customer order id."""
    # The emulator delivers the callback before answering the POST, and the callback takes a
    # second: the order exists while its POST is still unanswered. (The emulator's stop waits
    # for that second, so it is no longer.)
    bandwidth_emulator.faults.callback_before_response = True
    bandwidth_emulator.faults.callback_delay = 1
    task = asyncio.ensure_future(
        order_and_wait(client, receiver, site_id="743", numbers=["5402278098"], polling=FAST)
    )
    await until(lambda: bandwidth_emulator.order_count == 1)
    await cancel(task)
    (warning,) = records(caplog, logging.WARNING)
    assert "the POST may or may not have arrived" in warning
    customer_order_id = warning.split("look it up by customer order id ")[1].split(" ")[0]
    assert f"client.find_order('{customer_order_id}')" in warning
    found = await client.find_order(customer_order_id)  # the advice works
    assert found is not None
    assert found.customer_order_id == customer_order_id


async def test_cancelled_at_the_rate_limit_gate_claims_nothing(
    client: NumbersClient,
    receiver: CallbackReceiver,
    bandwidth_emulator: BandwidthEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Refused with 429 and waiting for the gate: nothing was executed, and none is claimed."""
    caplog.set_level(logging.INFO, logger="bwnumbers.ordering")
    bandwidth_emulator.faults.rate_limit_next = 1
    bandwidth_emulator.faults.rate_limit_reset = 30
    task = asyncio.ensure_future(
        order_and_wait(client, receiver, site_id="743", numbers=["5402278098"], polling=FAST)
    )

    def waiting_at_the_gate() -> bool:
        return any(s.group == "ORDER" and s.waiting == 1 for s in client.rate_limits)

    await until(waiting_at_the_gate)
    await cancel(task)
    assert records(caplog, logging.WARNING) == []
    (note,) = records(caplog, logging.INFO)
    assert "before POST /orders was sent" in note
    assert "nothing was ordered" in note
    assert bandwidth_emulator.order_count == 0


# ---------------------------------------------------------------- what with_retries records


async def exposure_when_cancelled(
    monkeypatch: pytest.MonkeyPatch, *, first: str, idempotent: bool = False
) -> bool:
    """Cancel a request in the middle of its second step; return what its Exposure said."""
    stuck = asyncio.Event()

    async def block(_: float = 0) -> None:
        stuck.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(_retry, "sleep", block)
    calls = 0

    async def send() -> Response:
        nonlocal calls
        calls += 1
        if calls == 1 and first == "refused":
            raise TransportError("refused", request_sent=False)
        if calls == 1 and first == "429":
            return Response(429, {"X-RateLimit-Reset": "30"}, b"")
        await block()  # the request is on the wire
        raise AssertionError("unreachable")

    def error_for(response: Response) -> APIError:
        raise AssertionError(f"unexpected {response.status}")

    exposure = _retry.Exposure()
    gate = _ratelimit.RateGate()
    watching = _retry.exposure.set(exposure)
    try:
        task = asyncio.ensure_future(
            _retry.with_retries(
                send,
                error_for,
                policy=RetryPolicy(),
                idempotent=idempotent,
                label="POST /orders",
                gate=gate,
                group="ORDER",
            )
        )
    finally:
        _retry.exposure.reset(watching)
    if first == "429":
        await until(lambda: any(s.waiting == 1 for s in gate.statuses()))
    else:
        await asyncio.wait_for(stuck.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return exposure.may_have_arrived


async def test_exposure_of_a_request_on_the_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelled while its POST is sent: it may have arrived."""
    assert await exposure_when_cancelled(monkeypatch, first="wire") is True


async def test_exposure_after_a_refused_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelled in the backoff after a connection refused before sending: nothing arrived."""
    assert await exposure_when_cancelled(monkeypatch, first="refused") is False


async def test_exposure_back_at_the_gate_after_a_429(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelled at the gate after a 429, which executes nothing: nothing arrived."""
    assert await exposure_when_cancelled(monkeypatch, first="429") is False


async def test_idempotent_requests_are_not_tracked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lookups after an ambiguous POST (GETs) leave the POST's exposure alone."""
    assert await exposure_when_cancelled(monkeypatch, first="wire", idempotent=True) is False
