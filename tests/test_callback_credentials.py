"""Callback credentials that change: ensure_subscription follows, the receiver says when not.

End to end with the real emulator and real receivers over loopback, plus the receiver's
rate-limited warning driven by hand-made requests.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bwnumbers import (
    CallbackReceiver,
    NumbersClient,
    OrderStatus,
    PollPolicy,
    ResultSource,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator
from tests.conftest import sample

USER, OLD, NEW = "bandwidth", "old-callback-pw", "new-callback-pw"
# Polling far later than any callback, so the result's source says which one finished.
LATE = PollPolicy(first_poll=5, interval=0.2, max_interval=0.5)
FAST = PollPolicy(first_poll=0.2, interval=0.2, max_interval=0.5)
REFUSED = "wrong Basic credentials"


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


def refusal_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bwnumbers.receiver" and r.levelno == logging.WARNING and REFUSED in r.message
    ]


async def test_new_password_reaches_the_subscription(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A receiver restarted with a new password, then ensure_subscription: callbacks work."""
    async with CallbackReceiver(username=USER, password=OLD) as first:
        await client.ensure_subscription(first.url, username=USER, password=OLD)
        port = first.port
    async with CallbackReceiver(port=port, username=USER, password=NEW) as restarted:
        subscription = await client.ensure_subscription(restarted.url, username=USER, password=NEW)
        result = await order_and_wait(
            client, restarted, site_id="743", numbers=["5402278098"], polling=LATE
        )
        await bandwidth_emulator.settle()
    assert [s.id for s in await client.list_subscriptions()] == [subscription.id]
    assert result.status is OrderStatus.COMPLETE
    assert result.source is ResultSource.CALLBACK
    (delivery,) = bandwidth_emulator.deliveries
    assert (delivery.http_status, delivery.authenticated) == (200, True)
    assert refusal_warnings(caplog) == []


async def test_stale_password_is_warned_about_once_a_minute(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Each refused authenticated callback is a lost notification: warn, but not for each."""
    async with CallbackReceiver(username=USER, password=NEW) as receiver:
        # The subscription kept the old password (as before the fix of ensure_subscription).
        await client.create_subscription(receiver.url, username=USER, password=OLD)
        for number in ("5402278098", "5402278089"):
            result = await order_and_wait(
                client, receiver, site_id="743", numbers=[number], polling=FAST
            )
            assert result.source is ResultSource.POLL
        await bandwidth_emulator.settle()
    assert [(d.http_status, d.authenticated) for d in bandwidth_emulator.deliveries] == [
        (401, True),
        (401, True),
    ]
    (warning,) = refusal_warnings(caplog)
    assert "Refused a callback with wrong Basic credentials at /bandwidth/callbacks" in warning
    assert "never sends those notifications again" in warning
    assert "ensure_subscription(url, username=..., password=...) with this receiver's " in warning
    assert f"username ({USER})" in warning
    assert NEW not in caplog.text
    assert OLD not in caplog.text


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_refusal_warning_counts_what_it_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The challenge's first try is not warned about; held-back refusals are counted later."""
    now = [1000.0]
    async with (
        CallbackReceiver(username=USER, password=NEW) as receiver,
        aiohttp.ClientSession() as http,
    ):
        receiver._clock = lambda: now[0]

        async def post(authorization: str | None) -> int:
            headers = {"Authorization": authorization} if authorization is not None else {}
            body = sample("notification_complete.xml")
            async with http.post(receiver.url, data=body, headers=headers) as response:
                return response.status

        assert await post(None) == 401  # Bandwidth's first, unauthenticated try
        assert refusal_warnings(caplog) == []
        assert await post(basic(USER, OLD)) == 401
        assert len(refusal_warnings(caplog)) == 1
        now[0] += 30
        assert await post(basic(USER, OLD)) == 401
        assert await post("Bearer not-basic-at-all") == 401
        assert len(refusal_warnings(caplog)) == 1  # within the minute: held back
        now[0] += 31
        assert await post(basic("someone", NEW)) == 401
        assert await post(basic(USER, NEW)) == 200
    first, second = refusal_warnings(caplog)
    assert "Refused a callback with" in first
    assert "3 callback(s) in the 61 s since the last warning" in second
