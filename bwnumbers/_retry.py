"""When to try a request again, and how long to wait first."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping

import attrs

from ._exceptions import (
    APIError,
    BWNumbersError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._transport import Response

log = logging.getLogger("bwnumbers.client")

# Above this, X-RateLimit-Reset is epoch milliseconds; above _EPOCH_SECONDS, epoch seconds;
# below, a number of seconds to wait. Bandwidth does not document the unit, so take all three.
_EPOCH_MILLISECONDS = 100_000_000_000
_EPOCH_SECONDS = 1_000_000_000


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValidationError(f"{attribute.name}={value!r} must be a number >= 0.")


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{attribute.name}={value!r} must be a whole number >= 1.")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How :class:`NumbersClient` retries.

    GET, PUT and DELETE are retried on connection errors, timeouts, 5xx and 429.
    ``POST /orders`` (which has no idempotency key) is retried only when it provably did not
    execute: the connection was refused before anything was sent, or Bandwidth answered 429.

    Args:
        attempts: total tries per request, the first included (default 4).
        initial_backoff: seconds before the first retry; doubles with each retry (default 0.5).
        max_backoff: the ceiling of one backoff, in seconds (default 10).
        max_rate_limit_wait: the longest a 429 is waited out, in seconds (default 60). When
            Bandwidth asks for a longer wait, :class:`RateLimitError` is raised at once.

    .. versionadded:: 0.1
    """

    attempts: int = attrs.field(default=4, validator=_at_least_one)
    initial_backoff: float = attrs.field(default=0.5, validator=_positive)
    max_backoff: float = attrs.field(default=10.0, validator=_positive)
    max_rate_limit_wait: float = attrs.field(default=60.0, validator=_positive)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number *retry* (1-based), with "equal jitter".

        Half the exponential delay is fixed and half is random, so that many clients that
        failed together do not come back together, and no retry comes back at once.
        """
        ceiling = min(self.max_backoff, self.initial_backoff * 2.0 ** (retry - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto


def rate_limit_delay(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds a 429 asks us to wait, from ``X-RateLimit-Reset`` or ``Retry-After``.

    Returns ``None`` when neither header gives a usable value.
    """
    current = time.time() if now is None else now
    reset = headers.get("X-RateLimit-Reset")
    if reset is not None:
        try:
            value = float(reset.strip())
        except ValueError:
            value = None
        if value is not None:
            if value >= _EPOCH_MILLISECONDS:
                return max(0.0, value / 1000 - current)
            if value >= _EPOCH_SECONDS:
                return max(0.0, value - current)
            return max(0.0, value)
    retry_after = headers.get("Retry-After")
    if retry_after is not None:
        text = retry_after.strip()
        if text.isdigit():
            return float(text)
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - current)
    return None


async def sleep(seconds: float) -> None:
    """Wait between attempts. Tests replace this to retry without really sleeping."""
    await asyncio.sleep(seconds)


class GiveUp(Exception):
    """Raised by a *send* callable for an error that :func:`with_retries` must not retry.

    A failed token request inside an API request is the case: the token request already had
    retries of its own, and retrying around it again would multiply them.
    """

    def __init__(self, error: BWNumbersError) -> None:
        super().__init__(str(error))
        self.error = error


async def with_retries(
    send: Callable[[], Awaitable[Response]],
    error_for: Callable[[Response], APIError],
    *,
    policy: RetryPolicy,
    idempotent: bool,
    label: str,
) -> Response:
    """Call *send* until it returns a 2xx response, within *policy*; raise otherwise.

    Non-idempotent requests (*idempotent* false) are retried only when they provably did not
    execute: refused before sending, or answered 429.
    """
    attempt = 0
    while True:
        attempt += 1
        last_try = attempt >= policy.attempts
        final: BWNumbersError | None = None
        try:
            response = await send()
        except GiveUp as stop:
            final = stop.error
        except TransportError as failure:
            if last_try or (failure.request_sent and not idempotent):
                raise
            delay = policy.backoff(attempt)
            log.info("%s failed (%s); retrying in %.2f s", label, failure, delay)
            await sleep(delay)
            continue
        if final is not None:
            raise final  # outside the except block, so it does not chain to GiveUp
        if 200 <= response.status < 300:
            return response
        error = error_for(response)
        retryable = isinstance(error, RateLimitError) or (
            isinstance(error, ServerError) and idempotent
        )
        if last_try or not retryable:
            raise error
        delay = policy.backoff(attempt)
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            if error.retry_after > policy.max_rate_limit_wait:
                raise error
            delay = error.retry_after
        log.info("%s answered %d; retrying in %.2f s", label, error.status, delay)
        await sleep(delay)
