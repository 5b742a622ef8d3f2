"""``NumbersClient``: the asyncio client of Bandwidth's Phone Number API.

Every request goes through :meth:`NumbersClient._request`, the one place that sets auth,
timeouts and headers, applies the retry policy and maps failures to bwnumbers exceptions.
How the client authenticates lives in :mod:`bwnumbers._auth`; one HTTP exchange in
:mod:`bwnumbers._transport`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Final, Self, Unpack
from urllib.parse import quote, urlsplit

import aiohttp
import attrs

from . import _auth, _rate_sharing, _ratelimit, _retry, _transport, _xml
from ._api_errors import api_error
from ._exceptions import (
    AmbiguousOrderError,
    APIError,
    BWNumbersError,
    ConflictError,
    DecodeError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._models import (
    Order,
    OrderDetails,
    OrderFlag,
    OrderHistoryEntry,
    OrderNumbers,
    OrderRequest,
    OrderStatus,
    OrderSummary,
    SearchResult,
    Subscription,
)
from ._ratelimit import RateLimitStatus
from ._retry import RetryPolicy
from ._search import Search, SearchCriteria
from ._tokens import AccessToken
from ._transport import Response
from ._version import __version__

__all__ = ["DEFAULT_BASE_URL", "NumbersClient"]

log = logging.getLogger("bwnumbers.client")

# v1 semantics (10-digit numbers, the guide's XML) on the host Bandwidth's docs now use.
DEFAULT_BASE_URL: Final = "https://api.bandwidth.com/api"
# Bandwidth's guide suggests "very large" (100 years); ensure_subscription renews before the end.
DEFAULT_SUBSCRIPTION_EXPIRY: Final = 3_153_600_000
DEFAULT_RENEW_WITHIN: Final = 86_400
_XML: Final = "application/xml; charset=utf-8"


class ClientState(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


def _check_callback_url(url: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"The callback URL {url!r} is not an absolute http(s) URL.")


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string.")
    return value


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValidationError(f"{name}={value!r} must be a number of seconds > 0.")


def _id_segment(name: str, value: object) -> str:
    """Quote an id for use as one URL path segment, refusing empty ids."""
    return quote(_check_text(name, value), safe="")


def _location_id(headers: Mapping[str, str]) -> str | None:
    location = headers.get("Location")
    if not location:
        return None
    last = urlsplit(location).path.rstrip("/").rpartition("/")[2]
    return last or None


class NumbersClient:
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

    Raises:
        ValidationError: an argument is missing or malformed, or not exactly one way to
            authenticate was given.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       OAuth 2.0 client credentials and *access_token*; Basic is deprecated; the default
       *base_url* is ``https://api.bandwidth.com/api``.
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
    ) -> None:
        self.account_id = _check_text("account_id", account_id)
        if "/" in account_id or "?" in account_id:
            raise ValidationError("account_id must not contain '/' or '?'.")
        _check_seconds("timeout", timeout)
        _check_seconds("connect_timeout", connect_timeout)
        _check_seconds("token_timeout", token_timeout)
        self.base_url = _transport.check_url(
            "base_url", base_url, example=DEFAULT_BASE_URL, allow_insecure_http=allow_insecure_http
        )
        self.token_url = _transport.check_url(
            "token_url",
            token_url if token_url is not None else _auth.default_token_url(self.base_url),
            example=_auth.BANDWIDTH_TOKEN_URL,
            allow_insecure_http=allow_insecure_http,
        )
        self.retry = retry or RetryPolicy()
        self._max_rate = _rate_sharing.check_max_rate(max_rate)
        self._gate: _ratelimit.RateGate | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._user_agent = f"bwnumbers/{__version__}"
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
                session=self._ensure_session,
                timeout=token_timeout,
                retry=self.retry,
                ssl_context=self._ssl,
                user_agent=self._user_agent,
            ),
        )
        self._session = session
        self._owns_session = session is None
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
        kwargs: dict[str, object] = _env_credentials()
        needs = []
        if not kwargs and not _AUTH_ARGUMENTS.intersection(overrides):
            needs.append("BW_CLIENT_ID and BW_CLIENT_SECRET to your OAuth 2.0 client credentials")
        account_id = _env("BW_ACCOUNT_ID")
        if account_id is None and "account_id" not in overrides:
            needs.insert(0, "BW_ACCOUNT_ID to your Bandwidth account id")
        if needs:
            raise ValidationError(f"Set {', and '.join(needs)}.")
        kwargs["account_id"] = account_id
        for variable, name in (("BW_BASE_URL", "base_url"), ("BW_TOKEN_URL", "token_url")):
            if os.environ.get(variable):
                kwargs[name] = os.environ[variable]
        kwargs.update(overrides)
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
        self._ensure_session()
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
            _rate_sharing.shared.detach(self._gate)
            self._gate = None
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

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

    def _ensure_gate(self) -> _ratelimit.RateGate:
        if self._gate is None:
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
            self._gate = _rate_sharing.shared.attach(origin, self.account_id)
            self._gate.pace(self._max_rate)
        return self._gate

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._state is ClientState.CLOSED:
            raise RuntimeError("This NumbersClient is closed; create a new one to send requests.")
        self._state = ClientState.OPENED
        if self._session is None:
            # Created inside a coroutine, never in __init__, so it binds to the running loop.
            self._session = aiohttp.ClientSession()
        return self._session

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
        self._ensure_session()
        return await self._auth.token()

    # ------------------------------------------------------------------ the choke point

    def _url(self, path: str) -> str:
        return f"{self.base_url}/accounts/{quote(self.account_id, safe='')}{path}"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        idempotent: bool = True,
        order_id: str | None = None,
    ) -> Response:
        """Send one API request with retries; return a 2xx response or raise.

        Non-idempotent requests (*idempotent* false) are retried only when they provably did
        not execute: refused before sending, or answered 429 or 401 (see :meth:`_send`).
        """
        label = f"{method} {path}"
        if body is not None:
            log.debug("%s request body: %s", label, _xml.redact(body))

        async def send() -> Response:
            return await self._send(label, self._url(path), params, body)

        def error_for(response: Response) -> APIError:
            return self._api_error(method, path, response, order_id)

        response = await _retry.with_retries(
            send,
            error_for,
            policy=self.retry,
            idempotent=idempotent,
            label=label,
            gate=self._ensure_gate(),
            group=_ratelimit.group_of(method, path),
        )
        if response.body:
            log.debug("%s response body: %s", label, _xml.redact(response.body))
        return response

    async def _send(
        self, label: str, url: str, params: Mapping[str, str] | None, body: bytes | None
    ) -> Response:
        """One attempt, re-sent once with a new token when the API answers 401.

        A 401 means the request was not executed, so re-sending is safe even for
        ``POST /orders``. Every request refused with the same token shares one renewal.
        """
        try:
            authorization = await self._auth.authorization()
        except BWNumbersError as error:
            raise _retry.GiveUp(error) from None
        response = await self._exchange(label, url, params, body, authorization)
        if response.status != 401:
            return response
        try:
            renewed = await self._auth.renew(authorization)
        except BWNumbersError as error:
            raise _retry.GiveUp(error) from None
        if renewed is None:
            return response
        log.info("%s answered 401; re-sending it once with a new access token", label)
        return await self._exchange(label, url, params, body, renewed)

    async def _exchange(
        self,
        label: str,
        url: str,
        params: Mapping[str, str] | None,
        body: bytes | None,
        authorization: str,
    ) -> Response:
        headers = {
            "Authorization": authorization,
            "User-Agent": self._user_agent,
            "Accept": "application/xml",
        }
        if body is not None:
            headers["Content-Type"] = _XML
        return await _transport.exchange(
            self._ensure_session(),
            label.partition(" ")[0],
            url,
            label=label,
            headers=headers,
            params=params,
            body=body,
            timeout=self._timeout,
            ssl_context=self._ssl,
        )

    def _api_error(
        self, method: str, path: str, response: Response, order_id: str | None
    ) -> APIError:
        return api_error(
            response,
            method=method,
            path=path,
            order_id=order_id,
            auth=self._auth,
            account_id=self.account_id,
            base_url=self.base_url,
        )

    # ------------------------------------------------------------------ subscriptions

    async def create_subscription(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        expiry: int = DEFAULT_SUBSCRIPTION_EXPIRY,
        order_type: str = "orders",
        order_id: str | None = None,
    ) -> Subscription:
        """Ask Bandwidth to send notifications for *order_type* orders to *url*.

        Args:
            url: where Bandwidth posts ``<Notification>`` callbacks (public, https advised).
            username, password: the Basic credentials Bandwidth will send (both or neither).
            expiry: lifetime in seconds (default: 100 years, as Bandwidth's guide suggests).
            order_type: ``orders`` for new-number orders.
            order_id: limit the subscription to one order.

        Raises:
            ValidationError: bad URL, credentials or expiry. ConflictError: a duplicate.
        """
        body = self._subscription_body(url, username, password, expiry, order_type, order_id)
        response = await self._request("POST", "/subscriptions", body=body, idempotent=False)
        subscription_id = _location_id(response.headers)
        if subscription_id is None:
            raise DecodeError(
                "Bandwidth created the subscription but sent no Location header with its id.",
                body=response.body,
            )
        return Subscription(
            id=subscription_id,
            order_type=order_type,
            order_id=order_id,
            url=url,
            expiry=expiry,
            username=username,
        )

    async def update_subscription(
        self,
        subscription_id: str,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        expiry: int = DEFAULT_SUBSCRIPTION_EXPIRY,
        order_type: str = "orders",
        order_id: str | None = None,
    ) -> Subscription:
        """Overwrite a subscription completely (Bandwidth resets any field not sent)."""
        path = f"/subscriptions/{_id_segment('subscription_id', subscription_id)}"
        body = self._subscription_body(url, username, password, expiry, order_type, order_id)
        await self._request("PUT", path, body=body)
        return Subscription(
            id=subscription_id,
            order_type=order_type,
            order_id=order_id,
            url=url,
            expiry=expiry,
            username=username,
        )

    @staticmethod
    def _subscription_body(
        url: str,
        username: str | None,
        password: str | None,
        expiry: int,
        order_type: str,
        order_id: str | None,
    ) -> bytes:
        _check_callback_url(url)
        if (username is None) != (password is None):
            raise ValidationError(
                "Give both username= and password= for callback authentication, or neither."
            )
        if username is not None and password is not None:
            _check_text("username", username)
            _check_text("password", password)
            if len(username) > 100:
                raise ValidationError("The callback username may have at most 100 characters.")
        if isinstance(expiry, bool) or not isinstance(expiry, int) or expiry <= 0:
            raise ValidationError(f"expiry={expiry!r} must be a whole number of seconds > 0.")
        _check_text("order_type", order_type)
        return _xml.encode_subscription(
            url=url,
            expiry=expiry,
            username=username,
            password=password,
            order_type=order_type,
            order_id=order_id,
        )

    async def list_subscriptions(
        self, *, order_type: str | None = None
    ) -> tuple[Subscription, ...]:
        """Every subscription of the account, or those of one *order_type*."""
        params = {"orderType": order_type} if order_type else None
        response = await self._request("GET", "/subscriptions", params=params)
        found = _xml.decode_subscriptions(response.body)
        if order_type:
            found = tuple(s for s in found if s.order_type == order_type)
        return found

    async def get_subscription(self, subscription_id: str) -> Subscription:
        """One subscription, with its remaining *expiry* and last delivery *status*."""
        path = f"/subscriptions/{_id_segment('subscription_id', subscription_id)}"
        response = await self._request("GET", path)
        found = _xml.decode_subscriptions(response.body)
        if not found:
            raise DecodeError(
                "The subscription response holds no subscription.", body=response.body
            )
        return found[0]

    async def delete_subscription(self, subscription_id: str) -> None:
        """Delete a subscription; Bandwidth stops sending its notifications."""
        path = f"/subscriptions/{_id_segment('subscription_id', subscription_id)}"
        await self._request("DELETE", path)

    async def ensure_subscription(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        expiry: int = DEFAULT_SUBSCRIPTION_EXPIRY,
        renew_within: int = DEFAULT_RENEW_WITHIN,
    ) -> Subscription:
        """Make sure exactly one live ``orders`` subscription sends notifications to *url*.

        Creates one when there is none (a 409 from a concurrent creation is resolved by
        reusing the winner); calls in one process are serialized, so concurrent tasks create
        at most one. An existing one is rewritten (a full ``PUT``):

        - whenever *username* and *password* are given: Bandwidth never returns the stored
          password, so a changed one cannot be detected, and writing them is what makes the
          subscription's credentials those of your receiver (after a password change too);
        - without credentials, only when fewer than *renew_within* seconds remain; its
          credentials are otherwise left alone (a renewal cannot keep them, since the
          password is unknown: it logs a warning when it drops them).
        """
        if (username is None) != (password is None):
            raise ValidationError(
                "Give both username= and password= for callback authentication, or neither."
            )
        async with self._subscription_lock:
            existing = await self._find_subscription(url)
            if existing is None:
                try:
                    return await self.create_subscription(
                        url, username=username, password=password, expiry=expiry
                    )
                except ConflictError:
                    existing = await self._find_subscription(url)
                    if existing is None:
                        raise
            stale = existing.expiry is not None and existing.expiry < renew_within
            if password is None and not stale:
                return existing
            if password is None and existing.username is not None:
                log.warning(
                    "Renewing subscription %s for %s without callback credentials removes its "
                    "username %s and password; pass username= and password= to keep them.",
                    existing.id,
                    url,
                    existing.username,
                )
            log.info("Updating subscription %s for %s", existing.id, url)
            return await self.update_subscription(
                existing.id, url, username=username, password=password, expiry=expiry
            )

    async def _find_subscription(self, url: str) -> Subscription | None:
        for subscription in await self.list_subscriptions(order_type="orders"):
            if (
                subscription.order_type == "orders"
                and subscription.order_id is None
                and subscription.url == url
            ):
                return subscription
        return None

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

    # ------------------------------------------------------------------ orders

    async def create_order(
        self,
        *,
        site_id: str,
        numbers: OrderNumbers | None = None,
        search: Search | None = None,
        name: str | None = None,
        customer_order_id: str | None = None,
        peer_id: str | None = None,
        partial_allowed: OrderFlag = None,
        back_order_requested: OrderFlag = None,
    ) -> Order:
        """Order specific *numbers*, or numbers matching *search*: ``POST /orders``.

        Returns the order as Bandwidth accepted it (status ``RECEIVED``, usually); the outcome
        comes later, by notification or :meth:`get_order`. A *customer_order_id* (UUID4 when
        not given) correlates the order; if the POST fails in a way that leaves it unknown
        whether the order was placed, the order is looked up by that id and adopted rather
        than placed twice.

        Raises:
            ValidationError: bad arguments (before any request).
            BadRequestError: Bandwidth refused the order (5016 invalid SiteId, ...).
            AmbiguousOrderError: the order may exist but could not be found.
        """
        request = OrderRequest.build(
            site_id=site_id,
            numbers=numbers,
            search=search,
            name=name,
            customer_order_id=customer_order_id,
            peer_id=peer_id,
            partial_allowed=partial_allowed,
            back_order_requested=back_order_requested,
        )
        return await self.place_order(request)

    async def place_order(self, request: OrderRequest) -> Order:
        """Submit a prepared :class:`OrderRequest`; see :meth:`create_order`."""
        body = _xml.encode_order(request)
        try:
            response = await self._request("POST", "/orders", body=body, idempotent=False)
        except TransportError as error:
            if not error.request_sent:
                raise
            return await self._adopt(request, error)
        except ServerError as error:
            return await self._adopt(request, error)
        try:
            return _xml.decode_order_response(
                response.body, location_id=_location_id(response.headers)
            )
        except DecodeError as error:
            # A 2xx means the order exists even though we could not read it.
            return await self._adopt(request, error)

    async def _adopt(self, request: OrderRequest, cause: BWNumbersError) -> Order:
        """Find the order a failed POST may have placed, by its customer order id."""
        customer_order_id = request.customer_order_id
        log.warning(
            "POST /orders for customer order id %s may or may not have executed (%s); "
            "looking it up instead of retrying",
            customer_order_id,
            cause,
        )
        try:
            order = await self.find_order(customer_order_id)
        except AmbiguousOrderError as ambiguous:
            raise AmbiguousOrderError(
                f"POST /orders failed ({cause}), and looking the order up was ambiguous: "
                f"{ambiguous} No second order was placed.",
                customer_order_id=customer_order_id,
            ) from cause
        except BWNumbersError as lookup_error:
            raise AmbiguousOrderError(
                f"POST /orders failed ({cause}) and looking the order up by customer order id "
                f"{customer_order_id} failed too ({lookup_error}); it may or may not exist. "
                "No second order was placed.",
                customer_order_id=customer_order_id,
            ) from cause
        if order is None:
            raise AmbiguousOrderError(
                f"POST /orders failed ({cause}) and no order with customer order id "
                f"{customer_order_id} exists yet; it may appear later. No second order was "
                "placed.",
                customer_order_id=customer_order_id,
            ) from cause
        log.info("Adopted order %s for customer order id %s", order.id, customer_order_id)
        return order

    async def get_order(self, order_id: str) -> OrderDetails:
        """The order's status and outcome: ``GET /orders/{id}``, the source of truth."""
        path = f"/orders/{_id_segment('order_id', order_id)}"
        response = await self._request("GET", path, order_id=order_id)
        return _xml.decode_order_details(response.body, order_id=order_id)

    async def list_orders(
        self,
        *,
        customer_order_id: str | None = None,
        status: OrderStatus | str | None = None,
        user_id: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        page: str | None = None,
        size: int | None = None,
    ) -> tuple[OrderSummary, ...]:
        """Orders of the account (``GET /orders``), optionally filtered.

        *status* is one of ``complete``, ``partial``, ``failed``, ``backordered``; dates are
        ``YYYY-MM-DD``. Bandwidth returns at most 1,000 rows per page.
        """
        params: dict[str, str] = {}
        for key, value in (
            ("customerOrderId", customer_order_id),
            ("status", str(status).lower() if status is not None else None),
            ("userid", user_id),
            ("startdate", start_date),
            ("enddate", end_date),
            ("page", page),
            ("size", str(size) if size is not None else None),
        ):
            if value is not None:
                params[key] = value
        response = await self._request("GET", "/orders", params=params or None)
        if response.status == 204 or not response.body.strip():
            return ()
        return _xml.decode_order_list(response.body)

    async def find_order(self, customer_order_id: str) -> Order | None:
        """The order placed with *customer_order_id*, or ``None`` if there is none (yet).

        ``GET /orders?customerOrderId=...``, then ``GET /orders/{id}`` for the order's details
        (https://dev.bandwidth.com/apis/numbers/). Rows that do not carry that
        customer order id never match. When the details cannot be read, the order is built
        from its row (id, customer order id and status).

        Raises:
            ValidationError: *customer_order_id* is empty.
            AmbiguousOrderError: more than one order has *customer_order_id*.

        .. versionadded:: 0.2
        """
        _check_text("customer_order_id", customer_order_id)
        rows = await self.list_orders(customer_order_id=customer_order_id)
        matches = [row for row in rows if row.customer_order_id == customer_order_id]
        if not matches:
            return None
        if len(matches) > 1:
            ids = ", ".join(row.id for row in matches)
            raise AmbiguousOrderError(
                f"{len(matches)} orders have customer order id {customer_order_id} ({ids}), "
                "so which one is meant cannot be told; look at each with "
                "client.get_order(order_id).",
                customer_order_id=customer_order_id,
            )
        (row,) = matches
        try:
            details = await self.get_order(row.id)
        except BWNumbersError:
            return Order(id=row.id, customer_order_id=customer_order_id, status=row.status)
        return attrs.evolve(details.order, id=details.id, status=details.status)

    async def get_order_history(self, order_id: str) -> tuple[OrderHistoryEntry, ...]:
        """The status changes and notes of an order: ``GET /orders/{id}/history``."""
        path = f"/orders/{_id_segment('order_id', order_id)}/history"
        response = await self._request("GET", path, order_id=order_id)
        return _xml.decode_order_history(response.body)

    async def close_order(self, order_id: str) -> None:
        """Close a BACKORDERED order; it ends PARTIAL (or FAILED if nothing was allocated)."""
        path = f"/orders/{_id_segment('order_id', order_id)}"
        await self._request("PUT", path, body=_xml.encode_close_order(), order_id=order_id)


_AUTH_ARGUMENTS: Final = frozenset(
    {"client_id", "client_secret", "access_token", "username", "password"}
)


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _env_credentials() -> dict[str, object]:
    """The credentials the environment gives: client credentials first, then legacy Basic."""
    client_id, client_secret = _env("BW_CLIENT_ID"), _env("BW_CLIENT_SECRET")
    if client_id and client_secret:
        return {"client_id": client_id, "client_secret": client_secret}
    if client_id or client_secret:
        have, lack = (
            ("BW_CLIENT_ID", "BW_CLIENT_SECRET")
            if client_id
            else ("BW_CLIENT_SECRET", "BW_CLIENT_ID")
        )
        raise ValidationError(
            f"{have} is set but {lack} is not: set both to your client credentials."
        )
    username, password = _env("BW_USERNAME"), _env("BW_PASSWORD")
    if username and password:
        return {"username": username, "password": password}
    if username or password:
        have, lack = ("BW_USERNAME", "BW_PASSWORD") if username else ("BW_PASSWORD", "BW_USERNAME")
        raise ValidationError(
            f"{have} is set but {lack} is not; better, set BW_CLIENT_ID and BW_CLIENT_SECRET "
            "instead (API users stop working on 2026-12-02)."
        )
    return {}
