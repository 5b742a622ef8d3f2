"""TokenCache: single flight, early refresh, shared renewal; time moved by a fake clock."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bwnumbers import _tokens
from bwnumbers._tokens import AccessToken, TokenCache


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """A token source that counts its calls and can be held open or made to fail."""

    def __init__(self, lifetime: float = 3600.0) -> None:
        self.lifetime = lifetime
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.failure: Exception | None = None

    async def __call__(self) -> tuple[str, float]:
        self.calls += 1
        number = self.calls
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return f"token-{number}", self.lifetime


async def waiting_on_a_held_fetch() -> tuple[Source, TokenCache, asyncio.Task[AccessToken]]:
    """A cache whose first fetch is held open, and a caller waiting on it."""
    source = Source()
    source.gate = asyncio.Event()
    cache = TokenCache(source, what="test")
    waiter = asyncio.create_task(cache.get())
    await asyncio.sleep(0)
    return source, cache, waiter


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Replace the token clock for the test."""
    fake = FakeClock()
    monkeypatch.setattr(_tokens, "clock", fake)
    return fake


async def test_single_flight_for_many_first_callers(clock: FakeClock) -> None:
    """1,000 concurrent first calls cause exactly one fetch and all get its token."""
    source = Source()
    source.gate = asyncio.Event()
    cache = TokenCache(source, what="test")
    callers = [asyncio.create_task(cache.get()) for _ in range(1000)]
    await asyncio.sleep(0)
    source.gate.set()
    tokens = await asyncio.gather(*callers)
    assert source.calls == 1
    assert {t.value for t in tokens} == {"token-1"}
    await cache.aclose()


async def test_cached_until_the_refresh_window(clock: FakeClock) -> None:
    """Before the refresh window the cached token is served without fetching."""
    source = Source()
    cache = TokenCache(source, what="test")
    first = await cache.get()
    clock.now += 3600 - 61
    assert await cache.get() is first
    assert source.calls == 1
    await cache.aclose()


async def test_refresh_in_the_window_keeps_serving_the_valid_token(clock: FakeClock) -> None:
    """In the last 60 s one background refresh starts; callers keep the valid token meanwhile."""
    source = Source()
    cache = TokenCache(source, what="test")
    await cache.get()
    source.gate = asyncio.Event()
    clock.now += 3600 - 30
    during = await asyncio.gather(*(cache.get() for _ in range(100)))
    assert {t.value for t in during} == {"token-1"}
    assert source.calls == 2  # exactly one refresh for the hundred callers
    source.gate.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert (await cache.get()).value == "token-2"
    assert source.calls == 2
    await cache.aclose()


async def test_window_is_half_the_lifetime_for_short_tokens(clock: FakeClock) -> None:
    """A 60 s token is refreshed after 30 s, not at once."""
    source = Source(lifetime=60)
    cache = TokenCache(source, what="test")
    await cache.get()
    clock.now += 29
    await cache.get()
    assert source.calls == 1
    clock.now += 2
    await cache.get()
    await asyncio.sleep(0)
    assert source.calls == 2
    await cache.aclose()


async def test_after_expiry_callers_wait_for_a_new_token(clock: FakeClock) -> None:
    """An expired token is never served: callers wait for the one fetch."""
    source = Source()
    cache = TokenCache(source, what="test")
    await cache.get()
    clock.now += 3601
    source.gate = asyncio.Event()
    waiting = [asyncio.create_task(cache.get()) for _ in range(10)]
    await asyncio.sleep(0)
    assert not any(task.done() for task in waiting)
    source.gate.set()
    assert {t.value for t in await asyncio.gather(*waiting)} == {"token-2"}
    assert source.calls == 2
    await cache.aclose()


async def test_expiry_counts_from_before_the_request(clock: FakeClock) -> None:
    """A slow token request does not stretch the token's life past what the server meant."""

    async def slow() -> tuple[str, float]:
        clock.now += 10  # the request took 10 s
        return "slow", 100.0

    cache = TokenCache(slow, what="test")
    token = await cache.get()
    assert token.expires_at == 1000.0 + 100.0
    await cache.aclose()


async def test_renew_is_shared_by_every_refused_request(clock: FakeClock) -> None:
    """Many 401s to the same token make one fetch; a late 401 gets the new token at once."""
    source = Source()
    cache = TokenCache(source, what="test")
    refused = (await cache.get()).value
    renewed = await asyncio.gather(*(cache.renew(refused) for _ in range(1000)))
    assert {t.value for t in renewed} == {"token-2"}
    assert source.calls == 2
    assert (await cache.renew(refused)).value == "token-2"
    assert source.calls == 2
    await cache.aclose()


async def test_renew_does_not_reuse_a_refresh_begun_before_the_refusal(clock: FakeClock) -> None:
    """A background refresh that began before a 401 may carry a revoked token: renew anew."""
    source = Source()
    cache = TokenCache(source, what="test")
    refused = (await cache.get()).value
    source.gate = asyncio.Event()
    clock.now += 3600 - 10
    await cache.get()  # starts the background refresh (token-2), held at the gate
    renewal = asyncio.create_task(cache.renew(refused))
    await asyncio.sleep(0)
    source.gate.set()
    assert (await renewal).value == "token-3"
    assert (await cache.get()).value == "token-3"
    await cache.aclose()


async def test_failed_first_fetch_reaches_every_waiter_and_is_retried(clock: FakeClock) -> None:
    """A failing fetch raises in every waiter; the next call fetches again."""
    source = Source()
    source.failure = RuntimeError("token endpoint down")
    cache = TokenCache(source, what="test")
    results = await asyncio.gather(*(cache.get() for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert source.calls == 1
    source.failure = None
    assert (await cache.get()).value == "token-2"
    await cache.aclose()


async def test_failed_background_refresh_keeps_the_token_and_logs(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed refresh is logged; the valid token stays in use and the next call retries."""
    source = Source()
    cache = TokenCache(source, what="test")
    await cache.get()
    source.failure = RuntimeError("blip")
    clock.now += 3600 - 5
    assert (await cache.get()).value == "token-1"
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert "Refreshing the access token of test failed" in caplog.text
    source.failure = None
    assert (await cache.get()).value == "token-1"  # starts another refresh
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert (await cache.get()).value == "token-3"
    await cache.aclose()


async def test_a_cancelled_waiter_does_not_cancel_the_fetch(clock: FakeClock) -> None:
    """One caller giving up leaves the shared fetch running for the others."""
    source, cache, quitter = await waiting_on_a_held_fetch()
    assert source.gate is not None
    stayer = asyncio.create_task(cache.get())
    await asyncio.sleep(0)
    quitter.cancel()
    await asyncio.sleep(0)
    source.gate.set()
    assert (await stayer).value == "token-1"
    assert quitter.cancelled()
    await cache.aclose()


async def test_aclose_cancels_a_fetch_in_progress(clock: FakeClock) -> None:
    """aclose leaves no fetch running; a waiter learns the client closed, not a bare cancel."""
    _, cache, waiter = await waiting_on_a_held_fetch()
    await cache.aclose()
    assert not cache._flights
    with pytest.raises(RuntimeError, match="closed while waiting"):
        await waiter
    assert not waiter.cancelled()


def test_access_token_repr_hides_the_value() -> None:
    """The token value never appears in a repr."""
    token = AccessToken.obtained("s3cret-token-value", 3600, at=0.0)
    assert "s3cret-token-value" not in repr(token)
    assert token.refresh_at == 3540.0


async def test_repr_hides_the_token(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    """The cache's repr and logs say how long the token lives, never what it is."""
    caplog.set_level(logging.DEBUG)
    cache = TokenCache(Source(), what="test")
    await cache.get()
    assert "token-1" not in repr(cache)
    assert "3600 s left" in repr(cache)
    assert "token-1" not in caplog.text
    await cache.aclose()


async def test_cancelling_a_waiter_still_cancels_it(clock: FakeClock) -> None:
    """A caller cancelled while waiting sees CancelledError, never the closed-client error."""
    _, cache, waiter = await waiting_on_a_held_fetch()
    waiter.cancel()
    await cache.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiter
