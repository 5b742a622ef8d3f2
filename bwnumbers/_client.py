"""``NumbersClient``: the asyncio client of Bandwidth's Phone Number API.

Every request goes through :meth:`NumbersClient._request`, the one place that sets auth,
timeouts and headers, applies the retry policy and maps failures to bwnumbers exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import ipaddress
import logging
import os
import ssl
import time
from collections.abc import Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Final, Self
from urllib.parse import quote, urlsplit

import aiohttp
import attrs

from . import _retry, _xml
from ._exceptions import (
    AmbiguousOrderError,
    APIError,
    AuthenticationError,
    BadRequestError,
    BWNumbersError,
    ConflictError,
    DecodeError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._models import (
    Order,
    OrderDetails,
    OrderHistoryEntry,
    OrderRequest,
    OrderStatus,
    OrderSummary,
    SearchResult,
    Subscription,
)
from ._retry import RetryPolicy
from ._search import Search
from ._version import __version__

__all__ = ["DEFAULT_BASE_URL", "NumbersClient"]

log = logging.getLogger("bwnumbers.client")

DEFAULT_BASE_URL: Final = "https://dashboard.bandwidth.com/api"
# Bandwidth's guide suggests "very large" (100 years); ensure_subscription renews before the end.
DEFAULT_SUBSCRIPTION_EXPIRY: Final = 3_153_600_000
DEFAULT_RENEW_WITHIN: Final = 86_400
MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
_XML: Final = "application/xml; charset=utf-8"
_ENV_VARIABLES: Final = ("BW_ACCOUNT_ID", "BW_USERNAME", "BW_PASSWORD")

_STATUS_ERRORS: Final[Mapping[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


class ClientState(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


@attrs.frozen
class _Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            f"base_url={base_url!r} is not an http(s) URL such as {DEFAULT_BASE_URL!r}."
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "base_url must not contain credentials; pass username= and password= instead."
        )
    if parts.query or parts.fragment:
        raise ValidationError("base_url must not have a query string or fragment.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_insecure_http:
        raise ValidationError(
            f"base_url uses plain http:// for {parts.hostname}, which would send your "
            "credentials unencrypted; use https:// or pass allow_insecure_http=True."
        )
    return base_url.rstrip("/")


def _check_callback_url(url: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"The callback URL {url!r} is not an absolute http(s) URL.")


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string.")
    return value


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

        async with NumbersClient(account_id="9900000", username="u", password="p") as client:
            found = await client.search_available_numbers(area_code="540", quantity=2)

    Args:
        account_id: the Bandwidth account id.
        username, password: Dashboard API credentials (HTTP Basic). Never logged or shown.
        base_url: the API root *including* any version segment, e.g.
            ``https://dashboard.bandwidth.com/api`` (default) or ``.../api/v1``.
        session: an ``aiohttp.ClientSession`` to use. bwnumbers never closes a session it
            was given; it creates (and closes) its own otherwise.
        timeout: seconds a whole request may take, per attempt (default 30).
        connect_timeout: seconds to establish a connection (default 10).
        retry: the :class:`RetryPolicy`.
        ssl_context: the TLS context for https; certificates are verified by default.
        allow_insecure_http: permit ``http://`` to a non-loopback host (never do this with
            real credentials).

    Raises:
        ValidationError: an argument is missing or malformed.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        *,
        account_id: str,
        username: str,
        password: str,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        ssl_context: ssl.SSLContext | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self.account_id = _check_text("account_id", account_id)
        if "/" in account_id or "?" in account_id:
            raise ValidationError("account_id must not contain '/' or '?'.")
        _check_text("username", username)
        _check_text("password", password)
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValidationError(f"{name}={value!r} must be a number of seconds > 0.")
        self.base_url = _check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self.retry = retry or RetryPolicy()
        self._authorization = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode(
            "ascii"
        )
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session = session
        self._owns_session = session is None
        self._state = ClientState.UNOPENED
        self._subscription_lock = asyncio.Lock()
        self._user_agent = f"bwnumbers/{__version__}"

    @classmethod
    def from_env(cls, **overrides: object) -> NumbersClient:
        """Build a client from ``BW_ACCOUNT_ID``, ``BW_USERNAME``, ``BW_PASSWORD`` and the
        optional ``BW_BASE_URL``. Keyword arguments are passed to the constructor.

        Raises:
            ValidationError: a required variable is missing (named in the message; values are
                never shown).
        """
        missing = [name for name in _ENV_VARIABLES if not os.environ.get(name)]
        if missing:
            raise ValidationError(
                f"Missing environment variable{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}: set them to your Bandwidth account id and Dashboard API "
                "credentials."
            )
        kwargs: dict[str, object] = {
            "account_id": os.environ["BW_ACCOUNT_ID"],
            "username": os.environ["BW_USERNAME"],
            "password": os.environ["BW_PASSWORD"],
        }
        if os.environ.get("BW_BASE_URL"):
            kwargs["base_url"] = os.environ["BW_BASE_URL"]
        kwargs.update(overrides)
        return cls(**kwargs)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (
            f"<NumbersClient account_id={self.account_id!r} base_url={self.base_url!r} "
            f"state={self._state.name}>"
        )

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        if self._state is ClientState.CLOSED:
            raise RuntimeError("This NumbersClient is closed; create a new one to reopen.")
        self._state = ClientState.OPENED
        self._ensure_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client and the session it created. Safe to call more than once."""
        if self._state is ClientState.CLOSED:
            return
        self._state = ClientState.CLOSED
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has been called."""
        return self._state is ClientState.CLOSED

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._state is ClientState.CLOSED:
            raise RuntimeError("This NumbersClient is closed; create a new one to send requests.")
        self._state = ClientState.OPENED
        if self._session is None:
            # Created inside a coroutine, never in __init__, so it binds to the running loop.
            self._session = aiohttp.ClientSession()
        return self._session

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
    ) -> _Response:
        """Send one API request with retries; return a 2xx response or raise.

        Non-idempotent requests (*idempotent* false) are retried only when they provably did
        not execute: refused before sending, or answered 429.
        """
        attempt = 0
        while True:
            attempt += 1
            last_try = attempt >= self.retry.attempts
            try:
                response = await self._send(method, path, params=params, body=body)
            except TransportError as failure:
                if last_try or (failure.request_sent and not idempotent):
                    raise
                delay = self.retry.backoff(attempt)
                log.info("%s %s failed (%s); retrying in %.2f s", method, path, failure, delay)
                await _retry.sleep(delay)
                continue
            if 200 <= response.status < 300:
                return response
            error = self._api_error(method, path, response, order_id)
            retryable = isinstance(error, RateLimitError) or (
                isinstance(error, ServerError) and idempotent
            )
            if last_try or not retryable:
                raise error
            delay = self.retry.backoff(attempt)
            if isinstance(error, RateLimitError) and error.retry_after is not None:
                if error.retry_after > self.retry.max_rate_limit_wait:
                    raise error
                delay = error.retry_after
            log.info("%s %s answered %d; retrying in %.2f s", method, path, error.status, delay)
            await _retry.sleep(delay)

    async def _send(
        self, method: str, path: str, *, params: Mapping[str, str] | None, body: bytes | None
    ) -> _Response:
        session = self._ensure_session()
        headers = {
            "Authorization": self._authorization,
            "User-Agent": self._user_agent,
            "Accept": "application/xml",
        }
        if body is not None:
            headers["Content-Type"] = _XML
            log.debug("%s %s request body: %s", method, path, _xml.redact(body))
        started = time.perf_counter()
        failure: TransportError | None = None
        try:
            async with session.request(
                method,
                self._url(path),
                params=params,
                data=body,
                headers=headers,
                timeout=self._timeout,
                ssl=self._ssl,
                allow_redirects=False,
            ) as response:
                data = await _read_bounded(response)
                result = _Response(response.status, dict(response.headers), data)
        except (aiohttp.ClientSSLError, aiohttp.InvalidURL) as exc:
            failure = TransportError(
                f"{method} {path} failed: {_describe(exc)}.", method=method, path=path
            )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            failure = TransportError(
                f"Could not connect to Bandwidth for {method} {path}: {_describe(exc)}.",
                method=method,
                path=path,
                request_sent=False,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = TransportError(
                f"{method} {path} got no complete answer: {_describe(exc)}.",
                method=method,
                path=path,
            )
        if failure is not None:
            # Raised outside the except block on purpose: aiohttp's response errors carry
            # request_info, whose headers include Authorization; nothing may chain to them.
            log.debug("%s %s failed after %.1f ms: %s", method, path, _ms(started), failure)
            raise failure
        log.debug("%s %s -> %d in %.1f ms", method, path, result.status, _ms(started))
        if result.body:
            log.debug("%s %s response body: %s", method, path, _xml.redact(result.body))
        return result

    def _api_error(
        self, method: str, path: str, response: _Response, order_id: str | None
    ) -> APIError:
        code, description, errors = _xml.decode_error(response.body)
        status = response.status
        cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIError)
        error = cls(
            status=status,
            code=code,
            description=description or _reason(status),
            body=response.body,
            errors=errors,
            method=method,
            path=path,
            order_id=order_id,
        )
        if isinstance(error, RateLimitError):
            error.retry_after = _retry.rate_limit_delay(response.headers)
        return error

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

        Reuses a matching subscription; renews it (a full ``PUT``) when fewer than
        *renew_within* seconds remain or its callback username differs; creates one when
        there is none. A 409 from a concurrent creation is resolved by reusing the winner.
        Calls in one process are serialized, so concurrent tasks create at most one.

        Bandwidth never returns the callback password, so a changed password alone is not
        detected: call :meth:`update_subscription` after rotating it.
        """
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
            if stale or existing.username != username:
                log.info("Renewing subscription %s for %s", existing.id, url)
                return await self.update_subscription(
                    existing.id, url, username=username, password=password, expiry=expiry
                )
            return existing

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
        self, search: Search | None = None, /, **criteria: str | int | bool
    ) -> SearchResult:
        """Find available numbers: ``GET /availableNumbers``.

        Pass a :class:`Search`, or its keywords directly::

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
        numbers: list[str] | tuple[str, ...] | None = None,
        search: Search | None = None,
        name: str | None = None,
        customer_order_id: str | None = None,
        peer_id: str | None = None,
        partial_allowed: bool = False,
        back_order_requested: bool = False,
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
            rows = await self.list_orders(customer_order_id=customer_order_id)
        except BWNumbersError as lookup_error:
            raise AmbiguousOrderError(
                f"POST /orders failed ({cause}) and looking the order up by customer order id "
                f"{customer_order_id} failed too ({lookup_error}); it may or may not exist. "
                "No second order was placed.",
                customer_order_id=customer_order_id,
            ) from cause
        matches = [r for r in rows if r.customer_order_id in (None, customer_order_id)]
        if not matches:
            raise AmbiguousOrderError(
                f"POST /orders failed ({cause}) and no order with customer order id "
                f"{customer_order_id} exists yet; it may appear later. No second order was "
                "placed.",
                customer_order_id=customer_order_id,
            ) from cause
        row = matches[0]
        log.info("Adopted order %s for customer order id %s", row.id, customer_order_id)
        try:
            details = await self.get_order(row.id)
        except BWNumbersError:
            return Order(id=row.id, customer_order_id=customer_order_id, status=row.status)
        return attrs.evolve(details.order, id=details.id, status=details.status)

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

    async def get_order_history(self, order_id: str) -> tuple[OrderHistoryEntry, ...]:
        """The status changes and notes of an order: ``GET /orders/{id}/history``."""
        path = f"/orders/{_id_segment('order_id', order_id)}/history"
        response = await self._request("GET", path, order_id=order_id)
        return _xml.decode_order_history(response.body)

    async def close_order(self, order_id: str) -> None:
        """Close a BACKORDERED order; it ends PARTIAL (or FAILED if nothing was allocated)."""
        path = f"/orders/{_id_segment('order_id', order_id)}"
        await self._request("PUT", path, body=_xml.encode_close_order(), order_id=order_id)


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise aiohttp.ClientPayloadError(
                f"the response is larger than {MAX_RESPONSE_BYTES} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "unexpected status"


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
