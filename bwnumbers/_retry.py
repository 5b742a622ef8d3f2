"""When to try a request again, and how long to wait first."""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping

import attrs

from ._checks import check_seconds, check_whole
from ._exceptions import APIError, BWNumbersError, ServerError, TransportError
from ._ratelimit import RateGate
from ._transport import Response

log = logging.getLogger("bwnumbers.client")

# Above this, X-RateLimit-Reset is epoch milliseconds; above _EPOCH_SECONDS, epoch seconds;
# below, a number of seconds to wait. Bandwidth does not document the unit, so take all three.
_EPOCH_MILLISECONDS = 100_000_000_000
_EPOCH_SECONDS = 1_000_000_000


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_seconds(attribute.name, value, allow_zero=True)


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    check_whole(attribute.name, value, minimum=1)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How :class:`NumbersClient` retries.

    GET, PUT and DELETE are retried on connection errors, timeouts and 5xx. ``POST /orders``
    (which has no idempotency key) is retried only when it provably did not execute: the
    connection was refused before anything was sent. Requests refused with 429 wait at their
    group's rate-limit gate and are sent again when it opens (see ``bwnumbers._ratelimit``).

    Args:
        attempts: total tries per request, the first included (default 4).
        initial_backoff: seconds before the first retry; doubles with each retry (default 0.5).
        max_backoff: the ceiling of one backoff, in seconds (default 10).
        rate_limit_budget: the most seconds one request may wait in total at Bandwidth's rate
            limit (default 900). A 429 costs no attempt, since nothing was executed; when the
            next opening is beyond the budget, :class:`RateLimitError` is raised at once.

    .. versionadded:: 0.1
    """

    attempts: int = attrs.field(default=4, validator=_at_least_one)
    initial_backoff: float = attrs.field(default=0.5, validator=_positive)
    max_backoff: float = attrs.field(default=10.0, validator=_positive)
    rate_limit_budget: float = attrs.field(default=900.0, validator=_positive)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number *retry* (1-based), with "equal jitter".

        Half the exponential delay is fixed and half is random, so that many clients that
        failed together do not come back together, and no retry comes back at once.
        """
        ceiling = min(self.max_backoff, self.initial_backoff * 2.0 ** (retry - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto


def rate_limit_reset(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """When a 429 says the limit resets, in epoch seconds, or ``None`` when it does not say."""
    current = time.time() if now is None else now
    delay = rate_limit_delay(headers, now=current)
    return None if delay is None else current + delay


def rate_limit_delay(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds a 429 asks us to wait, from ``X-RateLimit-Reset`` or ``Retry-After``.

    Returns ``None`` when neither header gives a usable value; ``0.0`` for a time passed.
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


@attrs.define
class Exposure:
    """Whether a non-idempotent request (``POST /orders``) may have reached Bandwidth.

    ``order_and_wait`` sets one in :data:`exposure` around ``place_order``, so that when it is
    cancelled it can tell "nothing was sent" (still waiting at the rate-limit gate, or every
    attempt refused unexecuted: 429, connection refused) from "the POST may have arrived".
    """

    may_have_arrived: bool = False


#: The :class:`Exposure` that :func:`with_retries` keeps up to date for non-idempotent requests.
exposure: contextvars.ContextVar[Exposure | None] = contextvars.ContextVar(
    "bwnumbers_request_exposure", default=None
)


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
    gate: RateGate,
    group: str,
) -> Response:
    """Call *send* until it returns a 2xx response, within *policy*; raise otherwise.

    Every attempt first passes *group*'s gate. A 429 closes the gate and costs no attempt;
    the request waits for the gate to open again, within ``policy.rate_limit_budget``.
    Non-idempotent requests (*idempotent* false) are retried only when they provably did not
    execute: refused before sending.
    """
    attempt = 0
    budget = policy.rate_limit_budget
    # Only the non-idempotent request is tracked, not the lookups that may follow it.
    tracked = None if idempotent else exposure.get()
    while True:
        ticket, waited = await gate.acquire(group, budget=budget, label=label)
        budget -= waited
        final: BWNumbersError | None = None
        if tracked is not None:
            tracked.may_have_arrived = True
        try:
            response = await send()
        except GiveUp as stop:
            gate.abandon(ticket)
            final = stop.error
        except TransportError as failure:
            gate.abandon(ticket)
            if tracked is not None and not failure.request_sent:
                tracked.may_have_arrived = False
            attempt += 1
            if attempt >= policy.attempts or (failure.request_sent and not idempotent):
                failure.attempts = attempt  # the message says how many times it was tried
                raise
            delay = policy.backoff(attempt)
            log.info("%s failed (%s); retrying in %.2f s", label, failure, delay)
            await sleep(delay)
            continue
        except BaseException:
            gate.abandon(ticket)  # cancelled: the slot goes back to the others
            raise
        if final is not None:
            raise final  # outside the except block, so it does not chain to GiveUp
        if response.status == 429:
            if tracked is not None:
                tracked.may_have_arrived = False  # refused unexecuted; back to the gate
            gate.settle(ticket, refused=True, reset_at=rate_limit_reset(response.headers))
            continue
        gate.settle(ticket, refused=False)
        if 200 <= response.status < 300:
            return response
        attempt += 1
        error = error_for(response)
        if attempt >= policy.attempts or not (isinstance(error, ServerError) and idempotent):
            raise error
        delay = policy.backoff(attempt)
        log.info("%s answered %d; retrying in %.2f s", label, error.status, delay)
        await sleep(delay)
