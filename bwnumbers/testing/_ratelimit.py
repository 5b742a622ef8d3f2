"""Rate limiting for the emulator: per account and endpoint group, in whole-second windows.

What Bandwidth documents: the Numbers API is limited per account and per group of endpoints;
over the limit it answers **429**, does not execute the call, and sends ``X-RateLimit-Reset``,
"the epoch time in seconds when the limit will reset". Its published limit is "100 search and
order requests per minute sustained, or a burst of 800 over 8 minutes". The groups are

======================  ================================================================
``ORDER``               ``POST /orders``, ``PUT /orders/{id}``
``SEARCH``              ``GET /availableNumbers`` (and ``HEAD``, which runs the same search)
``DISCONNECT``          ``POST /disconnects``
never limited           ``GET /orders/{id}``, ``GET /orders``, order history, subscriptions,
                        reading disconnects, reservations, in-service numbers, ``/tns``,
                        the token endpoint
======================  ================================================================

The model (assumed: Bandwidth documents no algorithm) is a token bucket per (account, group),
credited in windows aligned to whole epoch seconds. With ``RateLimit(per_window=P, window=W,
burst=B)`` the windows are ``[k*W, (k+1)*W)`` in epoch seconds; a fresh bucket holds ``P + B``
tokens; at the start of each window it gains ``P`` tokens, capped at ``P + B``, so allowance left
unused carries over up to ``B`` extra; each admitted request takes one token. A request that finds
no token is refused with 429, an empty body (assumed), nothing executed, and
``X-RateLimit-Reset`` set to the end of the current window, ``(k+1)*W``: exactly when tokens
arrive. The sustained rate is ``P / W`` per second; Bandwidth's published limit is close to
``RateLimit(per_window=100, window=60, burst=700)``.

Also assumed: a request that is admitted and then fails validation (400) still used its token;
requests refused before the limiter (401, 403, or the ``faults.rate_limit_next`` fault) cost none.

Time comes from :func:`clock`, looked up at every call, so tests replace it to move time
without sleeping.
"""

from __future__ import annotations

import math
import time
import types
from collections.abc import Callable, Mapping
from typing import Final, Literal, get_args

import attrs
from aiohttp import web

__all__ = [
    "ACCOUNT_ROOT",
    "GROUPS",
    "RESET_HEADERS",
    "Group",
    "RateLimit",
    "RateLimitCounts",
    "RateLimiter",
    "ResetHeader",
    "clock",
    "endpoint_group",
    "group_of",
    "reset_headers",
]

Group = Literal["ORDER", "SEARCH", "DISCONNECT"]
GROUPS: Final[tuple[Group, ...]] = get_args(Group)

ResetHeader = Literal["seconds", "milliseconds", "delta", "missing", "garbled", "past"]
RESET_HEADERS: Final[tuple[ResetHeader, ...]] = get_args(ResetHeader)

ACCOUNT_ROOT: Final = "/api/accounts/{account_id}"
"""The route template every account-scoped API route starts with."""

_SPEC_ROOT: Final = "/api/v1/"
"""The specification's root, which the emulator also answers below (``_emulator/_http.py``)."""

# Keyed by method and route *template*, so that GET /orders/{id} (never limited) cannot be
# mistaken for POST /orders or PUT /orders/{id}, whatever the id looks like.
_ENDPOINTS: Final[Mapping[tuple[str, str], Group]] = types.MappingProxyType({
    ("POST", f"{ACCOUNT_ROOT}/orders"): "ORDER",
    ("PUT", f"{ACCOUNT_ROOT}/orders/{{id}}"): "ORDER",
    ("GET", f"{ACCOUNT_ROOT}/availableNumbers"): "SEARCH",
    ("POST", f"{ACCOUNT_ROOT}/disconnects"): "DISCONNECT",
})  # fmt: skip

_PAST: Final = 5
"""How many seconds in the past the ``"past"`` header lies."""


def clock() -> float:
    """Epoch seconds (``time.time()``). Tests replace this to move time without sleeping."""
    return time.time()


def _whole(minimum: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"RateLimit {attribute.name} must be a whole number, not {value!r}.")
        if value < minimum:
            raise ValueError(f"RateLimit {attribute.name} must be at least {minimum}, not {value}.")

    return check


@attrs.frozen(kw_only=True)
class RateLimit:
    """A limit for one endpoint group: *per_window* requests per *window* seconds, plus a burst.

    Windows are aligned to whole epoch seconds (``[k*window, (k+1)*window)``). A fresh bucket
    holds ``per_window + burst`` tokens; every window adds *per_window*, up to that cap; each
    request takes one. "20 per second with a burst of 5" is ``RateLimit(per_window=20,
    burst=5)``; Bandwidth's published limit is about ``RateLimit(per_window=100, window=60,
    burst=700)``.

    Args:
        per_window: requests admitted per window (at least 1).
        window: the window's length, a whole number of seconds (at least 1, default 1).
        burst: how many unused requests may carry over into later windows (default 0).

    Raises:
        TypeError: a value is not a whole number.
        ValueError: a value is below its minimum.

    .. versionadded:: 0.2
    """

    per_window: int = attrs.field(validator=_whole(1))
    window: int = attrs.field(default=1, validator=_whole(1))
    burst: int = attrs.field(default=0, validator=_whole(0))

    @property
    def capacity(self) -> int:
        """The most tokens a bucket holds: ``per_window + burst``."""
        return self.per_window + self.burst

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """A limit from ``PER_WINDOW[/WINDOW][+BURST]``: ``"20"``, ``"20/1+5"``, ``"100/60+700"``.

        Raises:
            ValueError: *text* does not have that form, or a value is out of range.
        """
        head, plus, burst = text.strip().partition("+")
        per_window, slash, window = head.partition("/")
        parts = [per_window, *([window] if slash else []), *([burst] if plus else [])]
        if not all(part.isascii() and part.isdigit() for part in parts):
            raise ValueError(
                f"{text!r} is not a rate limit; write PER_WINDOW[/WINDOW][+BURST], e.g. 20/1+5."
            )
        try:
            return cls(
                per_window=int(per_window),
                window=int(window) if slash else 1,
                burst=int(burst) if plus else 0,
            )
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid rate limit: {exc}") from None

    def __str__(self) -> str:
        return f"{self.per_window} per {self.window} s, burst {self.burst}"


@attrs.frozen(kw_only=True)
class RateLimitCounts:
    """What the limiter decided for one endpoint group (a snapshot).

    Attributes:
        accepted: requests admitted (for a group without a limit: every request that reached
            the limiter, i.e. was authenticated and for the emulator's account).
        refused: requests answered 429 by the limit (``faults.rate_limit_next`` is not counted).
        refused_per_window: refusals per window, keyed by the window's start in whole epoch
            seconds (``k * window``); windows without refusals are absent.

    .. versionadded:: 0.2
    """

    accepted: int = 0
    refused: int = 0
    refused_per_window: Mapping[int, int] = attrs.field(factory=dict)

    @property
    def max_refused_per_window(self) -> int:
        """The most refusals in any one window (0 when there were none)."""
        return max(self.refused_per_window.values(), default=0)


@attrs.define
class _Bucket:
    limit: RateLimit
    tokens: int
    window: int  # index k of the last window credited

    def take(self, now: float) -> bool:
        current = int(now // self.limit.window)
        if current > self.window:
            credit = (current - self.window) * self.limit.per_window
            self.tokens = min(self.limit.capacity, self.tokens + credit)
            self.window = current
        if self.tokens <= 0:
            return False
        self.tokens -= 1
        return True


@attrs.define
class _Counter:
    accepted: int = 0
    refused: int = 0
    refused_per_window: dict[int, int] = attrs.Factory(dict)


def _validated(limits: Mapping[str, RateLimit] | None) -> Mapping[str, RateLimit]:
    limits = dict(limits or {})
    for name, limit in limits.items():
        if name not in GROUPS:
            raise ValueError(
                f"{name!r} is not an endpoint group; rate limits are for "
                f"{', '.join(map(repr, GROUPS))}."
            )
        if not isinstance(limit, RateLimit):
            raise TypeError(f"The limit for {name} must be a RateLimit, not {limit!r}.")
    return types.MappingProxyType(limits)


class RateLimiter:
    """The buckets and counters of one emulator.

    Args:
        limits: a :class:`RateLimit` per group name (``"ORDER"``, ``"SEARCH"``,
            ``"DISCONNECT"``); groups not named are not limited.

    Raises:
        ValueError: a key is not a group name.
    """

    def __init__(self, limits: Mapping[str, RateLimit] | None = None) -> None:
        self._limits = _validated(limits)
        self._buckets: dict[tuple[str, Group], _Bucket] = {}
        self._counters: dict[Group, _Counter] = {group: _Counter() for group in GROUPS}

    def __repr__(self) -> str:
        limits = ", ".join(f"{group}: {limit}" for group, limit in self._limits.items())
        return f"<RateLimiter {{{limits}}}>"

    @property
    def limits(self) -> Mapping[str, RateLimit]:
        """The limits (read-only); assign a new mapping to change them."""
        return self._limits

    @limits.setter
    def limits(self, limits: Mapping[str, RateLimit] | None) -> None:
        # New limits get new, full buckets at once; the counters carry on.
        self._limits = _validated(limits)
        self._buckets.clear()

    def take(self, account: str, group: Group | None) -> int | None:
        """Admit one request, or refuse it: ``None``, or when the limit resets (epoch seconds).

        A request outside every group is always admitted and not counted.
        """
        if group is None:
            return None
        counter = self._counters[group]
        limit = self._limits.get(group)
        if limit is None:
            counter.accepted += 1
            return None
        now = clock()
        bucket = self._buckets.get((account, group))
        if bucket is None:
            window = int(now // limit.window)
            bucket = self._buckets[account, group] = _Bucket(limit, limit.capacity, window)
        if bucket.take(now):
            counter.accepted += 1
            return None
        start = bucket.window * limit.window
        counter.refused += 1
        counter.refused_per_window[start] = counter.refused_per_window.get(start, 0) + 1
        return start + limit.window

    def counts(self) -> Mapping[str, RateLimitCounts]:
        """A snapshot of the counters of every group, limited or not."""
        return types.MappingProxyType({
            group: RateLimitCounts(
                accepted=c.accepted,
                refused=c.refused,
                refused_per_window=types.MappingProxyType(dict(c.refused_per_window)),
            )
            for group, c in self._counters.items()
        })  # fmt: skip


def group_of(method: str, template: str | None) -> Group | None:
    """The endpoint group of a request by *method* and route *template*, or ``None``.

    *template* is the route's pattern, e.g. ``/api/accounts/{account_id}/orders/{id}``, never
    the concrete path.
    """
    if template is None:
        return None
    if template.startswith(_SPEC_ROOT):  # the same route below /api/v1 is in the same group
        template = "/api/" + template.removeprefix(_SPEC_ROOT)
    method = method.upper()
    return _ENDPOINTS.get(("GET" if method == "HEAD" else method, template))


def endpoint_group(request: web.Request) -> Group | None:
    """The endpoint group of the route *request* matched (``None`` for no route or no group)."""
    resource = request.match_info.route.resource
    return group_of(request.method, None if resource is None else resource.canonical)


def reset_headers(style: ResetHeader, reset_at: float, now: float) -> dict[str, str]:
    """The ``X-RateLimit-Reset`` header of a 429 for a limit that resets at *reset_at*.

    *style* is ``faults.rate_limit_header``: ``"seconds"`` (epoch seconds, what Bandwidth
    documents), ``"milliseconds"`` (epoch milliseconds), ``"delta"`` (seconds from *now*),
    ``"missing"`` (no header), ``"garbled"`` (``"soon"``), ``"past"`` (epoch seconds, 5 s before
    *now*). Times are rounded up, so a client that waits as told is never early.
    """
    if style == "seconds":
        value = str(math.ceil(reset_at))
    elif style == "milliseconds":
        value = str(math.ceil(reset_at * 1000))
    elif style == "delta":
        value = str(max(0, math.ceil(reset_at - now)))
    elif style == "missing":
        return {}
    elif style == "garbled":
        value = "soon"
    elif style == "past":
        value = str(math.floor(now) - _PAST)
    else:
        raise ValueError(f"{style!r} is not a rate_limit_header style.")
    return {"X-RateLimit-Reset": value}
