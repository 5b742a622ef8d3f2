"""``NumbersClient``: the asyncio client of Bandwidth's Phone Number API.

Its requests go through :meth:`~bwnumbers._api.ApiBase._request` (auth, headers, retries,
error mapping) and a :class:`~bwnumbers._transport.Transport` (the HTTP exchange itself);
its subscription, order, disconnect, reservation and inventory methods live in
:mod:`bwnumbers._subscriptions`, :mod:`bwnumbers._orders`, :mod:`bwnumbers._disconnects`,
:mod:`bwnumbers._reservations` and :mod:`bwnumbers._inventory`, how it authenticates in
:mod:`bwnumbers._auth`. This module keeps construction, lifecycle and search.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Final, Self, Unpack

import aiohttp

from . import _auth, _env, _rate_sharing, _xml
from ._api import ClientState
from ._checks import check_id, check_seconds, check_secret_url
from ._disconnects import DisconnectMethods
from ._exceptions import (
    ValidationError,
)
from ._inventory import InventoryMethods
from ._models import (
    SearchResult,
)
from ._orders import OrderMethods
from ._ratelimit import RateLimitStatus
from ._reservations import ReservationMethods
from ._retry import RetryPolicy
from ._search import Search, SearchCriteria
from ._shared import shared
from ._store import OrderStore
from ._subscriptions import SubscriptionMethods
from ._tokens import AccessToken
from ._transport import AiohttpTransport, Transport
from ._version import __version__

__all__ = ["DEFAULT_BASE_URL", "NumbersClient"]

log = logging.getLogger("bwnumbers.client")

# v1 semantics (10-digit numbers, the guide's XML) on the host Bandwidth's docs now use.
DEFAULT_BASE_URL: Final = "https://api.bandwidth.com/api"


class NumbersClient(
    OrderMethods, DisconnectMethods, SubscriptionMethods, ReservationMethods, InventoryMethods
):
    """An asyncio client of Bandwidth's Phone Number ("Dashboard") API.

    Use it as an async context manager::

        async with NumbersClient(
            account_id="9900000", client_id="...", client_secret="..."
        ) as client:
            found = await client.search_available_numbers(area_code="540", quantity=2)

    Give exactly one way to authenticate: *client_id* and *client_secret* (OAuth 2.0 client
    credentials, the normal way); *access_token*; or the legacy *username* and *password*.

    Args:
        account_id: the Bandwidth account id.
        client_id, client_secret: OAuth 2.0 client credentials. The client obtains an access
            token on first use (one token request however many requests are waiting), renews
            it before it expires, and after a 401 renews it and re-sends the request once.
        access_token: a token you mint yourself: a string, used as is and never refreshed
            (a 401 raises :class:`AuthenticationError`), or an async callable returning
            ``(token, seconds_left)``, called like the token endpoint would be.
        username, password: a legacy API user (HTTP Basic). Deprecated: Bandwidth stops
            accepting them on 2026-12-02; a :class:`DeprecationWarning` says so.
        base_url: the API root *including* any version segment, e.g.
            ``https://api.bandwidth.com/api`` (default) or ``.../api/v1``.
        token_url: where client credentials are exchanged for a token. By default
            Bandwidth's (``https://api.bandwidth.com/api/v1/oauth2/token``) for a
            ``*.bandwidth.com`` *base_url*, else the same scheme, host and port as *base_url*
            with ``/api/v1/oauth2/token``, so pointing *base_url* at the emulator or a proxy
            moves both.
        session: an ``aiohttp.ClientSession`` to use. bwnumbers never closes a session it
            was given; it creates (and closes) its own otherwise.
        timeout: seconds a whole request may take, per attempt (default 30).
        connect_timeout: seconds to establish a connection (default 10).
        token_timeout: seconds one token request may take, per attempt (default 15).
        retry: the :class:`RetryPolicy`, for API and token requests alike.
        max_rate: requests per second to send at most, per rate-limit group (``ORDER``,
            ``SEARCH``, ``DISCONNECT``), for users who know their limit; e.g.
            ``{"ORDER": 1.5}``. Without it the client learns the limit from Bandwidth's 429s.
        ssl_context: the TLS context for https; certificates are verified by default.
        allow_insecure_http: permit ``http://`` to a non-loopback host for *base_url* and
            *token_url* (never do this with real credentials).
        store: the :class:`~bwnumbers.OrderStore` ``order_and_wait`` and ``recover`` journal
            in when they are given neither *store* nor a receiver (a receiver's own store
            comes first). Give the receiver and the client the same store. A store
            shared by the instances of a service (``bwnumbers.redis.RedisStore``) also shares
            the account's rate-limit gates: a 429 seen by one instance pauses that group of
            requests on all of them.
        _transport: private, for bwnumbers' own tests: an object whose ``async send(request)``
            returns a ``Response`` in place of the aiohttp request (then *session* and
            *ssl_context* are unused); it may change without notice.

    Raises:
        ValidationError: an argument is missing or malformed, or not exactly one way to
            authenticate was given.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       OAuth 2.0 client credentials and *access_token*; Basic is deprecated; the default
       *base_url* is ``https://api.bandwidth.com/api``.
    .. versionchanged:: 0.3 *store*.
    """

    def __init__(
        self,
        *,
        account_id: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | _auth.TokenProvider | None = None,
        username: str | None = None,
        password: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        token_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        token_timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        max_rate: Mapping[str, float] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        allow_insecure_http: bool = False,
        store: OrderStore | None = None,
        _transport: Transport | None = None,
    ) -> None:
        self.account_id = check_id("account_id", account_id)
        check_seconds("timeout", timeout)
        check_seconds("connect_timeout", connect_timeout)
        check_seconds("token_timeout", token_timeout)
        self.base_url = check_secret_url(
            "base_url", base_url, example=DEFAULT_BASE_URL, allow_insecure_http=allow_insecure_http
        )
        self.token_url = check_secret_url(
            "token_url",
            token_url if token_url is not None else _auth.default_token_url(self.base_url),
            example=_auth.BANDWIDTH_TOKEN_URL,
            allow_insecure_http=allow_insecure_http,
        )
        self.retry = retry or RetryPolicy()
        self._max_rate = _rate_sharing.check_max_rate(max_rate)
        self._gate = None
        self.store = store
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._user_agent = f"bwnumbers/{__version__}"
        # Only a transport the client built is closed with it, as with a given session.
        self._own_transport: AiohttpTransport | None = None
        if _transport is None:
            self._own_transport = AiohttpTransport(
                session, ssl_context=ssl_context if ssl_context is not None else True
            )
            _transport = self._own_transport
        self._transport = _transport
        self._auth = _auth.choose(
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token,
            username=username,
            password=password,
            credentials=lambda cid, secret: _auth.ClientCredentials(
                client_id=cid,
                client_secret=secret,
                token_url=self.token_url,
                transport=self._open_transport,
                timeout=token_timeout,
                retry=self.retry,
                user_agent=self._user_agent,
            ),
        )
        self._state = ClientState.UNOPENED
        self._subscription_lock = asyncio.Lock()

    @classmethod
    def from_env(cls, **overrides: object) -> NumbersClient:
        """Build a client from environment variables; keyword arguments override them.

        ``BW_ACCOUNT_ID`` and either ``BW_CLIENT_ID`` with ``BW_CLIENT_SECRET`` (OAuth 2.0
        client credentials) or the legacy ``BW_USERNAME`` with ``BW_PASSWORD`` (Basic, with a
        :class:`DeprecationWarning`); client credentials win when both pairs are set. Optional:
        ``BW_BASE_URL`` and ``BW_TOKEN_URL``.

        Raises:
            ValidationError: a variable is missing or only half of a pair is set (the message
                names the variables, never a value).
        """
        kwargs = _env.client_arguments(overrides)
        return cls(**kwargs)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (
            f"<NumbersClient account_id={self.account_id!r} base_url={self.base_url!r} "
            f"auth={self._auth.describe()!r} state={self._state.name}>"
        )

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        if self._state is ClientState.CLOSED:
            raise RuntimeError("This NumbersClient is closed; create a new one to reopen.")
        self._state = ClientState.OPENED
        if self._own_transport is not None:
            self._own_transport.session()  # created here, inside the loop it will be used in
        self._ensure_gate()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client, stop any token refresh and close the session it created.

        Safe to call more than once.
        """
        if self._state is ClientState.CLOSED:
            return
        self._state = ClientState.CLOSED
        await self._auth.aclose()
        if self._gate is not None:
            store = shared(self.store)
            if store is not None:
                store.unshare_rate_limits(self._gate)
            _rate_sharing.shared.detach(self._gate)
            self._gate = None
        if self._own_transport is not None:
            await self._own_transport.aclose()

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has been called."""
        return self._state is ClientState.CLOSED

    @property
    def rate_limits(self) -> tuple[RateLimitStatus, ...]:
        """One snapshot per rate-limit group this account's requests have used.

        The gates are the account's: every client of this process for the same API origin and
        account shares them.

        .. versionadded:: 0.2
        """
        return () if self._gate is None else self._gate.statuses()

    async def authenticate(self) -> AccessToken | None:
        """Obtain the access token now (or reuse the cached one) and return it.

        Call it at start-up so that wrong client credentials fail there, not on the first
        order. Returns ``None`` for the legacy Basic credentials, which can only be checked
        by a request.

        Raises:
            AuthenticationError: the token endpoint refused the client credentials.
            TransportError, ServerError: the token endpoint could not be reached.

        .. versionadded:: 0.2
        """
        self._open_transport()
        return await self._auth.token()

    # ------------------------------------------------------------------ numbers

    async def search_available_numbers(
        self, search: Search | None = None, /, **criteria: Unpack[SearchCriteria]
    ) -> SearchResult:
        """Find available numbers: ``GET /availableNumbers``.

        Pass a :class:`Search`, or its keywords directly (typed by :class:`SearchCriteria`, so
        a type checker catches a misspelt one)::

            found = await client.search_available_numbers(npa_nxx="540551", quantity=7)

        Raises:
            ValidationError: unknown or incompatible criteria (before any request).
            BadRequestError: Bandwidth rejected the search (4xxx codes).
        """
        if search is not None and criteria:
            raise ValidationError("Pass a Search or keyword criteria, not both.")
        if search is None:
            search = Search.from_criteria(criteria)
        elif not isinstance(search, Search):
            raise ValidationError("search_available_numbers() takes a bwnumbers.Search.")
        response = await self._request("GET", "/availableNumbers", params=search.to_query())
        if not response.body.strip():
            return SearchResult()
        return _xml.decode_search_result(response.body)
