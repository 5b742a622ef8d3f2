"""Client credentials end to end: the real client against the emulator's token endpoint."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable

import pytest

from bwnumbers import (
    AuthenticationError,
    CallbackReceiver,
    NumbersClient,
    RetryPolicy,
    ServerError,
    TransportError,
    _tokens,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator


async def test_cold_burst_makes_one_token_request(bandwidth_emulator: BandwidthEmulator) -> None:
    """1,000 concurrent first requests of a new client cause exactly one token request."""
    async with bandwidth_emulator.client() as client:
        found = await asyncio.gather(
            *(client.search_available_numbers(area_code="540", quantity=1) for _ in range(1000))
        )
    assert all(len(result.numbers) == 1 for result in found)
    assert bandwidth_emulator.token_requests == 1


async def test_revocation_renews_once_and_resends_each_request_once(
    bandwidth_emulator: BandwidthEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """After revoke_tokens(), many refused requests share one renewal and are re-sent once."""
    caplog.set_level(logging.INFO, logger="bwnumbers.client")
    async with bandwidth_emulator.client() as client:
        await client.authenticate()
        bandwidth_emulator.revoke_tokens()
        # GET /subscriptions is in no rate-limit group, so all 200 are in flight at once.
        results = await asyncio.gather(*(client.list_subscriptions() for _ in range(200)))
    assert len(results) == 200
    assert bandwidth_emulator.token_requests == 2
    resent = [r for r in caplog.records if "re-sending it once" in r.getMessage()]
    assert len(resent) == 200


async def test_revoked_token_post_orders_is_resent_and_orders_once(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """A POST /orders refused for a revoked token is re-sent once: exactly one order exists."""
    async with bandwidth_emulator.client() as client, CallbackReceiver() as receiver:
        await client.ensure_subscription(receiver.url)
        bandwidth_emulator.revoke_tokens()
        result = await order_and_wait(
            client, receiver, site_id=bandwidth_emulator.site_id, numbers=["5402278098"]
        )
    assert result.completed_numbers == ("5402278098",)
    assert bandwidth_emulator.orders_with_customer_order_id(result.customer_order_id) == [
        result.order_id
    ]
    assert bandwidth_emulator.order_count == 1
    assert bandwidth_emulator.token_requests == 2


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The token clock, replaced: move time by changing ``now[0]``."""
    fake = [5000.0]
    monkeypatch.setattr(_tokens, "clock", lambda: fake[0])
    return fake


async def test_refresh_before_expiry_on_a_fake_clock(
    bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """Time moved into the refresh window causes one background refresh; nothing waits."""
    async with bandwidth_emulator.client() as client:
        first = await client.authenticate()
        assert first is not None
        now[0] += first.lifetime - 30
        await client.search_available_numbers(area_code="540", quantity=1)  # the old token
        second = first
        for _ in range(200):  # the refresh runs beside the requests; wait until it lands
            second = await client.authenticate()
            if second is not first:
                break
            await asyncio.sleep(0.005)
        assert second is not None
        assert second.value != first.value
        await client.search_available_numbers(area_code="540", quantity=1)
    assert bandwidth_emulator.token_requests == 2


async def test_a_token_the_emulator_refuses_twice_raises(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """A token endpoint whose every token is refused ends in AuthenticationError, not a loop."""
    calls = 0

    async def always_stale() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        return bandwidth_emulator.issue_token(lifetime=-1), 3600.0

    async with bandwidth_emulator.client(access_token=always_stale) as client:
        with pytest.raises(AuthenticationError, match="twice"):
            await client.search_available_numbers(area_code="540", quantity=1)
    assert calls == 2


async def test_pre_minted_token(bandwidth_emulator: BandwidthEmulator) -> None:
    """A token minted elsewhere works as is; once revoked it raises without any token request."""
    token = bandwidth_emulator.issue_token()
    async with bandwidth_emulator.client(access_token=token) as client:
        await client.search_available_numbers(area_code="540", quantity=1)
        bandwidth_emulator.revoke_tokens()
        with pytest.raises(AuthenticationError, match="never refreshes"):
            await client.search_available_numbers(area_code="540", quantity=1)
    assert bandwidth_emulator.token_requests == 0


@pytest.mark.parametrize("failure", ["503", "timeout"])
async def test_token_endpoint_failures(
    bandwidth_emulator: BandwidthEmulator, failure: str, sleeps: list[float]
) -> None:
    """503 ends in ServerError, a hang in TransportError, after the token request's retries."""
    bandwidth_emulator.faults.token_failure = failure  # type: ignore[assignment]
    expected = ServerError if failure == "503" else TransportError
    async with bandwidth_emulator.client(
        token_timeout=0.2, retry=RetryPolicy(attempts=2)
    ) as client:
        with pytest.raises(expected, match="oauth2/token"):
            await client.search_available_numbers(area_code="540", quantity=1)
    assert bandwidth_emulator.token_requests == 2


async def test_wrong_secret_is_refused_by_name(bandwidth_emulator: BandwidthEmulator) -> None:
    """The emulator's refusal reaches the user as AuthenticationError naming the client id."""
    async with bandwidth_emulator.client(client_secret="not-the-secret") as client:
        with pytest.raises(AuthenticationError, match="invalid_client") as info:
            await client.authenticate()
    assert bandwidth_emulator.client_id in str(info.value)
    assert "not-the-secret" not in str(info.value)


async def test_basic_works_until_the_emulator_refuses_it() -> None:
    """Legacy Basic still works with its warning; with legacy_basic_auth=False it is refused."""
    for legacy, works in ((True, True), (False, False)):
        async with BandwidthEmulator(legacy_basic_auth=legacy) as emulator:
            with pytest.warns(DeprecationWarning, match="2026-12-02"):
                client = NumbersClient(
                    account_id=emulator.account_id,
                    username=emulator.username,
                    password=emulator.password,
                    base_url=emulator.base_url,
                )
            async with client:
                if works:
                    await client.search_available_numbers(area_code="540", quantity=1)
                else:
                    with pytest.raises(AuthenticationError, match="2026-12-02"):
                        await client.search_available_numbers(area_code="540", quantity=1)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                async with emulator.client() as oauth:  # client credentials work either way
                    await oauth.search_available_numbers(area_code="540", quantity=1)


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until *condition* holds (it watches the emulator's counters), or fail."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"the condition did not hold within {seconds} s")


def token_fetches() -> list[asyncio.Task[object]]:
    """Token fetches still running on this loop."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and "TokenCache._fetch" in repr(task.get_coro())
    ]


async def test_aclose_ends_a_hanging_token_request(bandwidth_emulator: BandwidthEmulator) -> None:
    """Closing the client while a token request hangs ends it and tells the waiting request."""
    bandwidth_emulator.faults.token_failure = "timeout"
    client = bandwidth_emulator.client()
    request = asyncio.ensure_future(client.search_available_numbers(area_code="540", quantity=1))
    await eventually(lambda: bandwidth_emulator.token_requests == 1)
    assert token_fetches()
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed while waiting for an access token"):
        await request
    assert not token_fetches()


async def test_aclose_ends_a_background_refresh(
    bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """A refresh running in the background when the client closes does not outlive it."""
    async with bandwidth_emulator.client() as client:
        token = await client.authenticate()
        assert token is not None
        bandwidth_emulator.faults.token_failure = "timeout"
        now[0] += token.lifetime - 10
        await client.search_available_numbers(area_code="540", quantity=1)  # starts the refresh
        await eventually(lambda: bandwidth_emulator.token_requests == 2)
        assert len(token_fetches()) == 1
    assert not token_fetches()
