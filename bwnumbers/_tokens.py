"""The access-token cache: one token per client, fetched once, refreshed before it expires.

:class:`TokenCache` knows nothing of HTTP: it is given a coroutine function that obtains a
token and its lifetime (the OAuth token endpoint, or the user's own vault or sidecar), and a
clock that tests can replace. Its rules:

- **Single flight.** At most one fetch runs at a time; every caller that needs a token while
  it runs awaits that same fetch (1,000 concurrent first requests make one token request).
- **Refresh early, never serve a stale token.** Inside the refresh window (60 s before expiry,
  or half the lifetime when that is shorter) the first caller starts one background refresh
  and every caller keeps the still-valid token; only after expiry do callers wait.
- **A refused token is replaced once for everyone.** :meth:`TokenCache.renew` drops the token a
  401 refused and shares one fetch among all the requests it refused.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Final

import attrs

__all__ = ["AccessToken", "TokenCache", "clock"]

log = logging.getLogger("bwnumbers.client")

REFRESH_MARGIN: Final = 60.0

TokenSource = Callable[[], Awaitable[tuple[str, float]]]


def clock() -> float:
    """Seconds on a monotonic clock. Tests replace this to move time without sleeping."""
    return time.monotonic()


@attrs.frozen(kw_only=True)
class AccessToken:
    """An access token and when it stops being good.

    Attributes:
        value: the token itself, sent as ``Authorization: Bearer <value>``. It is a secret:
            it is never shown in a repr, a log line or an exception.
        lifetime: seconds the token was valid for when it was obtained.
        expires_at: when it expires, on the cache's monotonic clock.
        refresh_at: when the cache starts replacing it.

    .. versionadded:: 0.2
    """

    value: str = attrs.field(repr=False)
    lifetime: float
    expires_at: float
    refresh_at: float

    @classmethod
    def obtained(cls, value: str, lifetime: float, *, at: float) -> AccessToken:
        """A token obtained at clock time *at* (taken before asking, to err on the safe side)."""
        margin = min(REFRESH_MARGIN, lifetime / 2)
        expires_at = at + lifetime
        return cls(
            value=value, lifetime=lifetime, expires_at=expires_at, refresh_at=expires_at - margin
        )

    def seconds_left(self) -> float:
        """Seconds until the token expires (negative once it has)."""
        return self.expires_at - clock()


class TokenCache:
    """One access token, obtained from *source* under a single flight; see the module doc.

    *source* returns ``(token, seconds it stays valid)``. Errors from *source* reach every
    caller waiting on that fetch; a failed background refresh is logged and tried again by the
    next caller, while the current token stays in use until it expires.
    """

    def __init__(self, source: TokenSource, *, what: str) -> None:
        self._source = source
        self._what = what
        self._token: AccessToken | None = None
        self._flight: asyncio.Task[AccessToken] | None = None
        # Bumped whenever a refused token is dropped. A fetch started before that may return
        # a token issued before a revocation, so it neither installs its token nor is joined.
        self._epoch = 0
        self._flight_epoch = 0
        self._flights: set[asyncio.Task[AccessToken]] = set()
        self.fetches = 0

    def __repr__(self) -> str:
        token = self.current
        state = "empty" if token is None else f"{token.seconds_left():.0f} s left"
        return f"<TokenCache {self._what} {state}>"

    @property
    def current(self) -> AccessToken | None:
        """The token in use, if any (it may be past its refresh time but not its expiry)."""
        token = self._token
        return token if token is not None and clock() < token.expires_at else None

    async def get(self) -> AccessToken:
        """A valid token: the cached one, or one fetched now if there is none or it expired."""
        token = self._token
        if token is not None:
            now = clock()
            if now < token.refresh_at:
                return token
            if now < token.expires_at:
                if self._flight is None:
                    log.debug("Refreshing the access token of %s before it expires", self._what)
                    self._start()
                return token
        return await self._join()

    async def renew(self, refused: str) -> AccessToken:
        """A token other than *refused*, which the API just answered 401 to.

        Every caller refused with the same token shares one fetch; a caller whose token was
        already replaced gets the replacement at once.
        """
        token = self._token
        if token is not None and token.value == refused:
            self._token = None
            self._epoch += 1
        elif token is not None and clock() < token.expires_at:
            return token
        return await self._join()

    async def aclose(self) -> None:
        """Cancel every fetch in progress and forget the token."""
        self._token = None
        self._flight = None
        flights = list(self._flights)
        for flight in flights:
            flight.cancel()
        # Each flight's outcome was already retrieved by _landed; only wait for them to end.
        await asyncio.gather(*flights, return_exceptions=True)

    def _start(self) -> asyncio.Task[AccessToken]:
        flight = asyncio.get_running_loop().create_task(self._fetch(self._epoch))
        flight.add_done_callback(self._landed)
        self._flights.add(flight)
        self._flight = flight
        self._flight_epoch = self._epoch
        return flight

    async def _join(self) -> AccessToken:
        flight = self._flight
        if flight is None or self._flight_epoch != self._epoch:
            flight = self._start()
        # shield: one caller giving up (its own timeout) must not cancel the fetch that the
        # others are waiting on.
        try:
            return await asyncio.shield(flight)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if flight.cancelled() and current is not None and not current.cancelling():
                # aclose() cancelled the fetch, not our caller: say so instead.
                raise RuntimeError(
                    f"The client was closed while waiting for an access token of {self._what}."
                ) from None
            raise

    async def _fetch(self, epoch: int) -> AccessToken:
        self.fetches += 1
        asked_at = clock()  # taken before asking, so the expiry errs on the early side
        value, lifetime = await self._source()
        token = AccessToken.obtained(value, lifetime, at=asked_at)
        if epoch == self._epoch:
            self._token = token
        if math.isinf(lifetime):
            log.debug("Obtained an access token for %s with no expiry", self._what)
        else:
            log.debug("Obtained an access token for %s, valid %.0f s", self._what, lifetime)
        return token

    def _landed(self, flight: asyncio.Task[AccessToken]) -> None:
        self._flights.discard(flight)
        if self._flight is flight:
            self._flight = None
        if flight.cancelled():
            return
        error = flight.exception()  # retrieved here, so a refresh nobody awaited is not "lost"
        if error is not None and self.current is not None:
            log.warning(
                "Refreshing the access token of %s failed (%s); the current token stays in "
                "use and the next request tries again",
                self._what,
                error,
            )
