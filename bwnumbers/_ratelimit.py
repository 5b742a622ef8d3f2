"""Flow control at Bandwidth's rate limits: one gate per endpoint group, shared in a process.

Bandwidth limits the Numbers API per account and endpoint group. Over the limit it answers 429
with ``X-RateLimit-Reset`` (when the limit resets), says the request was not executed, and asks
clients to send nothing more to that group until then. Retrying each request on its own turns a
burst into a stampede at every reset, so requests pass a :class:`RateGate` instead:

- **A 429 closes the group's gate** until the reset, for every request of the group, not only
  the refused one. A missing or garbled reset closes it for 1 s; one in the past reopens it at
  once. The refused request waits at the gate like the others; a 429 costs no attempt, since
  nothing was executed. Endpoints outside the known groups get a gate of their own (method and
  path template), so an unknown limit is still honoured.
- **When it opens, requests go out paced.** The gate remembers how many requests the group
  accepted in a window that ended in a 429 (the least seen, since a first window may include a
  burst allowance). At each opening it lets that many through at once, then one *probe* at a
  time: a probe that is accepted lets the next one go, a refused one closes the gate again. So a
  window costs one refusal, not a stampede. Before any 429 is seen, at most
  :data:`UNKNOWN_LIMIT_CONCURRENCY` requests of a group are in flight at once, so even the first
  window of a burst costs only a few refusals (endpoints outside the groups are not held back
  until they answer 429). Those requests may have spanned several windows before the first 429,
  so the first opening lets through at once at most half of those accepted in the last second
  before the reset (:data:`SHORTEST_WINDOW`; before the 429 if it gives no reset): those surely
  fell into the window that ran out.
- **Waiting is bounded** by the request's budget (``RetryPolicy.rate_limit_budget``) and by the
  caller's deadline (``order_and_wait(timeout=)``, through :data:`deadline`); a request that
  cannot wait raises :class:`RateLimitError` *before anything is sent*.
- ``max_rate`` paces a group client-side, for users who know their limit.

Gates are keyed by (event loop, API origin, account id) and shared by the clients of a process
(:mod:`bwnumbers._rate_sharing`): the limit is the account's, not the client's. The interface
(:meth:`RateGate.acquire`, then :meth:`RateGate.settle` with the answer) is small so that a
shared store can later extend it across the instances of a service.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Final

import attrs

from ._exceptions import RateLimitError

__all__ = ["GROUPS", "RateGate", "RateLimitStatus", "deadline", "group_of"]

log = logging.getLogger("bwnumbers.ratelimit")

GROUPS: Final[Mapping[tuple[str, str], str]] = {
    ("POST", "/orders"): "ORDER",
    ("PUT", "/orders/{id}"): "ORDER",
    ("GET", "/availableNumbers"): "SEARCH",
    ("POST", "/disconnects"): "DISCONNECT",
}
#: How many requests of a rate-limited group (ORDER, SEARCH, DISCONNECT) may be in flight
#: before its limit has been learned, so that the first window of a burst costs a few refusals,
#: not one per request. Other endpoints are not held back until they answer 429.
UNKNOWN_LIMIT_CONCURRENCY: Final = 8
_LIMITED: Final = frozenset(GROUPS.values())
#: How long a 429 without a usable reset time closes the gate.
UNKNOWN_RESET_SECONDS: Final = 1.0
#: The shortest window a limit can have: ``X-RateLimit-Reset`` is in whole epoch seconds.
SHORTEST_WINDOW: Final = 1.0

#: The loop time by which a wait at a gate must end (``order_and_wait(timeout=)``).
deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "bwnumbers_rate_limit_deadline", default=None
)


def group_of(method: str, path: str) -> str:
    """The rate-limit group of a request: ``ORDER``, ``SEARCH``, ``DISCONNECT``, or its own.

    *path* is relative to the account (``/orders/123``); ids are every second segment, which is
    the shape of every path of the API (``/orders/{id}/history``).
    """
    segments = path.split("?", 1)[0].strip("/").split("/")
    template = "/" + "/".join("{id}" if i % 2 else s for i, s in enumerate(segments))
    return GROUPS.get((method, template)) or f"{method} {template}"


@attrs.frozen(kw_only=True)
class RateLimitStatus:
    """A snapshot of one group's gate, from :attr:`NumbersClient.rate_limits`.

    Attributes:
        group: ``ORDER``, ``SEARCH``, ``DISCONNECT``, or ``METHOD /path/{id}`` for others.
        closed_until: epoch seconds until which the gate is closed; ``None`` when open.
        waiting: requests waiting at the gate now.
        refusals: 429s this group has received.
        per_window: requests the group accepted in its smallest saturated window, once learned.
        max_rate: the client-side pace in requests per second, if one was set.

    .. versionadded:: 0.2
    """

    group: str
    closed_until: float | None
    waiting: int
    refusals: int
    per_window: int | None
    max_rate: float | None

    @property
    def is_open(self) -> bool:
        """True when requests of the group may be sent now."""
        return self.closed_until is None or self.closed_until <= time.time()


class Ticket:
    """One admission through a gate; hand it back to :meth:`RateGate.settle`."""

    __slots__ = ("group", "probe", "window")

    def __init__(self, group: str, *, probe: bool, window: int) -> None:
        self.group = group
        self.probe = probe
        self.window = window


class _Group:
    """The state of one group's gate. Times are epoch seconds unless named ``*_loop``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cap_unknown = name in _LIMITED
        self.max_rate: float | None = None
        self.next_slot_loop = 0.0
        self.closed_until: float | None = None
        self.per_window: int | None = None  # how many to let through at once per window
        self.least_saturated: int | None = None  # the least a window ending in 429 accepted
        # When answers accepting requests arrived, until the first 429 (the last two seconds).
        self.accepted_at: collections.deque[float] = collections.deque()
        self.saturated_windows = 0
        self.window_length: float | None = None  # learned from two successive resets
        self.window_start: float | None = None
        self.window = 0  # increases at every new window, so late answers are recognised
        self.admitted = 0  # in the current window
        self.accepted = 0  # in the current window
        self.in_flight = 0
        self.probing = False
        self.waiting = 0
        self.refusals = 0
        # Requests waiting for room, in arrival order. Each is woken alone when a slot frees
        # (a broadcast to a thousand waiters per answer would cost a million wake-ups a burst),
        # and all at once by one timer when the gate reopens or a window begins.
        self.queue: collections.deque[asyncio.Future[None]] = collections.deque()
        self.timer: asyncio.TimerHandle | None = None

    def wake_one(self) -> None:
        """Let the longest-waiting request look for room again."""
        while self.queue:
            waiter = self.queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def wake_all(self) -> None:
        self.timer = None
        while self.queue:
            waiter = self.queue.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def wake_all_in(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        """Wake every waiter after *seconds* (one timer per group, the earliest wins)."""
        when = loop.time() + seconds
        if self.timer is not None:
            if self.timer.when() <= when:
                return
            self.timer.cancel()
        self.timer = loop.call_at(when, self.wake_all)

    def status(self) -> RateLimitStatus:
        closed = (
            self.closed_until if self.closed_until and self.closed_until > time.time() else None
        )
        return RateLimitStatus(
            group=self.name,
            closed_until=closed,
            waiting=self.waiting,
            refusals=self.refusals,
            per_window=self.per_window,
            max_rate=self.max_rate,
        )

    def learn(self, accepted: int, *, surely_in_window: int | None = None) -> None:
        """A window ended in a 429 after *accepted* requests: adjust the per-window allowance.

        The least count wins, since a window may include a burst allowance. After only one such
        window half of it goes at once and the rest by probes, so that a burst allowance that
        will not come again costs one refusal rather than a refusal per request. Half of at
        most *surely_in_window*, when given: the first 429 ends a count that began with the first
        request and may span several windows.
        """
        self.saturated_windows += 1
        least = accepted if self.least_saturated is None else min(self.least_saturated, accepted)
        self.least_saturated = least
        if self.saturated_windows >= 2:
            self.per_window = least
        else:
            first = least if surely_in_window is None else min(least, surely_in_window)
            self.per_window = max(1, first // 2)

    def note_accepted(self, now: float) -> None:
        """Before the first 429: remember when a request was accepted (see :meth:`learn`)."""
        self.accepted_at.append(now)
        while self.accepted_at[0] < now - 2 * SHORTEST_WINDOW:
            self.accepted_at.popleft()

    def accepted_since(self, since: float) -> int:
        """How many acceptances noted by :meth:`note_accepted` arrived at *since* or later."""
        return sum(1 for at in self.accepted_at if at >= since)

    def start_window(self, start: float) -> None:
        self.window += 1
        self.window_start = start
        self.admitted = 0
        self.accepted = 0

    def roll(self, now: float) -> None:
        """Start a new window when the learned window length says one has begun."""
        if self.closed_until is not None and now >= self.closed_until:
            start, self.closed_until = self.closed_until, None
            self.start_window(start)
            return
        if self.window_length and self.window_start is not None:
            passed = math.floor((now - self.window_start) / self.window_length)
            if passed > 0:
                self.start_window(self.window_start + passed * self.window_length)

    def admit(self) -> Ticket | None:
        """A ticket when the pacing rules let one more request go now, else ``None``."""
        if self.per_window is None:
            if self.cap_unknown and self.in_flight >= UNKNOWN_LIMIT_CONCURRENCY:
                return None
        elif self.admitted >= self.per_window:
            if self.probing:
                return None
            self.probing = True
            return self._ticket(probe=True)
        return self._ticket(probe=False)

    def _ticket(self, *, probe: bool) -> Ticket:
        self.admitted += 1
        self.in_flight += 1
        return Ticket(self.name, probe=probe, window=self.window)

    def next_change(self, now: float) -> float | None:
        """Seconds until the gate may admit more without any answer arriving, if known."""
        if self.closed_until is not None:
            return max(0.0, self.closed_until - now)
        if self.window_length and self.window_start is not None:
            return max(0.0, self.window_start + self.window_length - now)
        return None


class RateGate:
    """The gates of one account: see the module documentation."""

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}
        # Told of every closing a 429 of ours caused: a shared store passes it to the other
        # instances of the account (bwnumbers.redis), which call close_until().
        self.listeners: list[Callable[[str, float], None]] = []

    def _group(self, name: str) -> _Group:
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = _Group(name)
        return group

    def pace(self, max_rate: Mapping[str, float]) -> None:
        """Send at most *max_rate* requests per second per group (the slowest setting wins)."""
        for name, rate in max_rate.items():
            group = self._group(name)
            group.max_rate = rate if group.max_rate is None else min(group.max_rate, rate)

    def statuses(self) -> tuple[RateLimitStatus, ...]:
        """One snapshot per group this gate has seen, sorted by group."""
        return tuple(self._groups[name].status() for name in sorted(self._groups))

    async def acquire(self, name: str, *, budget: float, label: str) -> tuple[Ticket, float]:
        """Wait until a request of group *name* may be sent; return its ticket and the wait.

        Raises:
            RateLimitError: the gate would not open within *budget* seconds or before the
                :data:`deadline`; nothing was sent.
        """
        group = self._group(name)
        now = time.time()
        group.roll(now)
        if not group.queue and group.closed_until is None and group.max_rate is None:
            ticket = group.admit()
            if ticket is not None:  # the fast path: an open gate costs no suspension
                return ticket, 0.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        limit = started + budget
        caller_deadline = deadline.get()
        if caller_deadline is not None:
            limit = min(limit, caller_deadline)
        group.waiting += 1
        try:
            while True:
                now = time.time()
                group.roll(now)
                if group.closed_until is None:
                    if group.max_rate is not None:
                        await self._paced(group, loop, limit, label)
                        group.roll(time.time())
                    if group.closed_until is None:
                        ticket = group.admit()
                        if ticket is not None:
                            group.wake_one()  # the next in line looks for room too
                            return ticket, loop.time() - started
                wake = group.next_change(now)
                if wake is not None:
                    if loop.time() + wake > limit:
                        raise self._cannot_wait(group, label, budget, caller_deadline, limit)
                    group.wake_all_in(loop, wake)
                remaining = limit - loop.time()
                if remaining <= 0:
                    raise self._cannot_wait(group, label, budget, caller_deadline, limit)
                waiter: asyncio.Future[None] = loop.create_future()
                group.queue.append(waiter)
                try:
                    async with asyncio.timeout(remaining):
                        await waiter
                except TimeoutError:
                    waiter.cancel()  # so that no later wake-up is spent on it
                except asyncio.CancelledError:
                    if waiter.done() and not waiter.cancelled():
                        group.wake_one()  # woken, then cancelled: pass the turn on
                    raise
        finally:
            group.waiting -= 1

    async def _paced(
        self, group: _Group, loop: asyncio.AbstractEventLoop, limit: float, label: str
    ) -> None:
        assert group.max_rate is not None
        slot = max(loop.time(), group.next_slot_loop)
        if slot > limit:
            raise self._cannot_wait(group, label, None, deadline.get(), limit)
        group.next_slot_loop = slot + 1.0 / group.max_rate
        if slot > loop.time():
            await asyncio.sleep(slot - loop.time())

    def settle(self, ticket: Ticket, *, refused: bool, reset_at: float | None = None) -> None:
        """Report the answer to an admitted request: accepted, or refused with its reset."""
        group = self._group(ticket.group)
        group.in_flight -= 1
        if ticket.probe:
            group.probing = False
        if not refused:
            if ticket.window == group.window:
                group.accepted += 1
                if group.per_window is None and group.cap_unknown:
                    group.note_accepted(time.time())
            group.wake_one()
            return
        group.refusals += 1
        now = time.time()
        # The window that ran out began SHORTEST_WINDOW before its end or earlier.
        window_began_by = (now if reset_at is None else reset_at) - SHORTEST_WINDOW
        if reset_at is None:
            reset_at = now + UNKNOWN_RESET_SECONDS
        first_of_window = group.closed_until is None and ticket.window == group.window
        if first_of_window and group.accepted > 0:
            surely_in_window = None
            if group.per_window is None and group.cap_unknown:
                # The count began with the first request, maybe windows ago.
                surely_in_window = group.accepted_since(window_began_by)
                group.accepted_at.clear()
            group.learn(group.accepted, surely_in_window=surely_in_window)
        if reset_at <= now:
            # The window has already rolled over: go on, paced. Only once per window: the other
            # requests refused in it, answered later, must not restart the count each time.
            if ticket.window == group.window:
                group.start_window(now)
        elif group.closed_until is None or reset_at > group.closed_until:
            if group.window_start is not None and first_of_window:
                # A lull between two saturated windows makes a multiple: keep the least.
                length = round(reset_at - group.window_start, 3)
                if length >= 0.5:
                    group.window_length = min(group.window_length or length, length)
            group.closed_until = reset_at
            for listener in self.listeners:
                listener(group.name, reset_at)
            if first_of_window:
                log.info(
                    "%s: Bandwidth's rate limit reached after %d accepted request(s); requests "
                    "of this group wait until %s (%.1f s)",
                    group.name,
                    group.accepted,
                    time.strftime("%H:%M:%S", time.gmtime(reset_at)) + " UTC",
                    reset_at - now,
                )
        if group.closed_until is not None:
            group.wake_all_in(asyncio.get_running_loop(), group.closed_until - now)
        else:
            group.wake_all()  # the window rolled over already: everyone looks for room

    def close_until(self, name: str, reset_at: float) -> None:
        """Another instance of the account got a 429: hold group *name* until *reset_at*."""
        now = time.time()
        group = self._group(name)
        if reset_at <= now or (group.closed_until is not None and group.closed_until >= reset_at):
            return
        group.closed_until = reset_at
        log.info(
            "%s: another instance reached Bandwidth's rate limit; requests of this group wait "
            "until %s (%.1f s)",
            name,
            time.strftime("%H:%M:%S", time.gmtime(reset_at)) + " UTC",
            reset_at - now,
        )
        group.wake_all_in(asyncio.get_running_loop(), reset_at - now)

    def abandon(self, ticket: Ticket) -> None:
        """Give back a ticket whose request ended without an answer (failed or cancelled)."""
        group = self._group(ticket.group)
        group.in_flight -= 1
        if ticket.probe:
            group.probing = False
        if ticket.window == group.window:
            group.admitted -= 1
        group.wake_one()

    @staticmethod
    def _cannot_wait(
        group: _Group,
        label: str,
        budget: float | None,
        caller_deadline: float | None,
        limit: float,
    ) -> RateLimitError:
        reset_at = group.closed_until
        until = (
            f"closed until {time.strftime('%H:%M:%S', time.gmtime(reset_at))} UTC"
            if reset_at
            else "pacing requests"
        )
        if caller_deadline is not None and caller_deadline <= limit:
            why = "the caller's timeout= runs out first"
        else:
            why = (
                f"that is beyond the wait budget of {budget or 0:g} s "
                "(RetryPolicy.rate_limit_budget)"
            )
        error = RateLimitError(
            status=429,
            code=None,
            description="rate limit",
            method=label.partition(" ")[0],
            path=label.partition(" ")[2],
            message=(
                f"{label} was not sent: Bandwidth's {group.name} rate limit is {until}, and "
                f"{why}. Nothing was executed; try again later."
            ),
        )
        error.reset_at = reset_at
        error.retry_after = None if reset_at is None else max(0.0, reset_at - time.time())
        return error
