"""``BandwidthEmulator``: a real, local Bandwidth Dashboard API server for tests and demos.

It speaks the wire format of ``shared/reference/wire-format.md`` (element names and case,
status codes, ``Location`` headers, the four error shapes) so that any client written for the
real API works against it unchanged. Orders are processed in the background and announced with
``<Notification>`` callbacks that follow Bandwidth's Basic-auth challenge flow and, like
Bandwidth, are never retried. Fault knobs (:class:`Faults`) make the failures that lose orders
in production happen on demand.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hmac
import logging
import random
import re
import secrets
import ssl
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping

import aiohttp
import attrs
from aiohttp import web

from bwnumbers import NumbersClient, ValidationError
from bwnumbers._lifecycle import StartStop

from . import _ratelimit as ratelimit
from . import _wire as wire
from ._criteria import (
    NO_BACKORDER_TYPES,
    ORDER_TYPES,
    Criteria,
    DryStock,
    SearchFault,
    available,
    from_order_type,
    from_query,
    match,
)
from ._faults import Faults, shown
from ._inventory import DEFAULT_SIZE, Inventory, NumberInfo
from ._ratelimit import RateLimit, RateLimitCounts
from ._tokens import TOKEN_PATH, TokenIssuer

__all__ = ["BandwidthEmulator", "Delivery"]

log = logging.getLogger("bwnumbers.emulator")

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_XML = "application/xml"
_CUSTOMER_ORDER_ID = re.compile(r"[A-Za-z0-9\- ]{1,40}")
_TN = re.compile(r"\d{10}")
_ORDER_TYPES_FOR_SUBSCRIPTIONS = frozenset({
    "portins", "orders", "portouts", "disconnects", "dldas", "lsrorders", "e911s", "tnoptions",
    "externalTns", "lidb", "bulkPortins", "importtnorders", "removeImportedTnOrders", "csrs",
    "emergencyNotificationGroup", "emergencyEndpointGroup", "tollfreePortingValidations",
})  # fmt: skip
_FINAL = frozenset({"COMPLETE", "PARTIAL", "FAILED"})
_OTHER_AUTH = frozenset({"access_token", "username", "password"})
# Listening on every interface: a client on this machine connects through loopback.
_LOOPBACK_FOR_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


@attrs.frozen(kw_only=True)
class Delivery:
    """One notification the emulator tried to deliver (or dropped on purpose)."""

    subscription_id: str
    order_id: str
    status: str
    http_status: int | None
    authenticated: bool
    dropped: bool = False


@attrs.define(kw_only=True)
class _Subscription:
    id: str
    order_type: str
    order_id: str | None
    url: str
    expires_at: float
    username: str | None
    password: str | None = attrs.field(repr=False)
    status: str = "READY"


@attrs.define(kw_only=True)
class _Order:
    id: str
    customer_order_id: str | None
    name: str
    site_id: str
    peer_id: str
    partial_allowed: bool
    back_order_requested: bool
    numbers: tuple[str, ...]
    order_type: str
    search_fields: dict[str, str]
    criteria: Criteria | None
    created: dt.datetime
    status: str = "RECEIVED"
    modified: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    completed: list[str] = attrs.Factory(list)
    failed: list[str] = attrs.Factory(list)
    errors: list[tuple[int, str, str | None]] = attrs.Factory(list)
    history: list[tuple[dt.datetime, str, str]] = attrs.Factory(list)
    processing: bool = False

    @property
    def quantity(self) -> int:
        return len(self.numbers) if self.criteria is None else self.criteria.quantity


class _Refusal(Exception):
    """An API error answer: HTTP status and body."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _order_error(status: int, code: int, description: str) -> _Refusal:
    root = wire.element("OrderResponse", wire.error_list([(code, description, None)]))
    return _Refusal(status, wire.document(root))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class BandwidthEmulator(StartStop):
    """A local Bandwidth Dashboard API server on loopback.

    Use it as an async context manager::

        async with BandwidthEmulator() as bandwidth:
            async with bandwidth.client() as client:
                found = await client.search_available_numbers(npa_nxx="540551", quantity=7)

    Args:
        host, port: where to listen (loopback, port 0 picks a free port).
        seed: makes the inventory, ids and fault draws repeatable.
        account_id, username, password: the account's credentials (a random password by
            default).
        order_delay: seconds an order stays RECEIVED before it is processed (default 0.05).
        ssl_context: serve HTTPS with this context (for testing certificate handling).
        client_id, client_secret: the OAuth 2.0 client credentials that
            ``POST /api/v1/oauth2/token`` accepts (HTTP Basic, ``grant_type=client_credentials``);
            a random secret by default.
        token_lifetime: seconds an access token stays valid, sent as ``expires_in``
            (default 3600: Bandwidth's is undocumented, and 3600 is what every client fixture uses).
        legacy_basic_auth: accept ``username``/``password`` on the API besides Bearer tokens
            (default ``True``). ``False`` refuses Basic with 401, as Bandwidth will from
            2026-12-02.
        rate_limits: a :class:`RateLimit` per endpoint group (``"ORDER"``, ``"SEARCH"``,
            ``"DISCONNECT"``), per account; ``None`` (the default) limits nothing. Over a limit
            the emulator answers 429 with an empty body and ``X-RateLimit-Reset`` and executes
            nothing. See ``bwnumbers/testing/_ratelimit.py`` for the model.
        inventory_size: how many numbers the seed puts in each NPA-NXX block below (default
            20, at most 10,000); each toll-free NPA gets half as many, rounded up. Anything
            else raises :class:`bwnumbers.ValidationError`.

    The seeded inventory (the same for the same *seed* and *inventory_size*) holds
    *inventory_size* random numbers in each of 13 NPA-NXX blocks: 540-551 and 540-227
    (Washington, VA, LATA 246, ZIP 22747, plus the seven numbers of Bandwidth's ordering
    guide), 919-439 and 919-228 (Raleigh, NC) and 919-234 (Cary, NC), 201-345 and 201-350
    (Ridgewood, NJ), 636-555 and 636-123 (St Louis, MO), 435-477 and 435-709 (Salt Lake City,
    UT), 415-555 (San Francisco, CA) and 512-555 (Austin, TX); and toll-free numbers in 800,
    833, 844, 855, 866, 877 and 888 (plus 833-876-0878). With the defaults that is 338
    numbers, so a search finds at most 40 in NJ or 47 in area code 540. Searches never use
    numbers up; every number an order gets (or :meth:`take` removes) is gone for good, and
    :meth:`add_numbers` puts numbers in. Like Bandwidth, a search returns what is left, fewer
    than *quantity* or none, and an order by criteria that finds too few is PARTIAL,
    BACKORDERED or FAILED (5018) as it asked. When that happens because earlier orders took
    the matching numbers, the ``bwnumbers.emulator`` logger says so once with a WARNING,
    until numbers are added.

    Attributes:
        faults: the :class:`Faults` to inject.
        inventory: the numbers in stock: ``len(emulator.inventory)`` counts them and
            ``number in emulator.inventory`` checks one.
        deliveries: every notification attempt, in order.
        legacy_basic_auth: as the argument; change it at any time.
        client_id, client_secret, token_lifetime: as the arguments (read-only).
        token_url: the token endpoint, same scheme, host and port as ``base_url``.
        token_requests: how many requests reached the token endpoint, answered or not.
        rate_limits: as the argument (a read-only mapping, empty when off); assigning new
            limits gives every group a fresh, full bucket at once.
        rate_limit_counts: a :class:`RateLimitCounts` snapshot (``accepted``, ``refused``,
            ``refused_per_window``) for each of ``"ORDER"``, ``"SEARCH"`` and ``"DISCONNECT"``,
            limited or not.

    Access tokens are HS256 JWTs signed with a key of this emulator alone, with the claims
    ``accounts`` (``[account_id]``), ``roles`` (``["Numbers"]``, assumed), ``express``,
    ``sub`` and ``client_id``, ``iat``, ``exp`` and a unique ``jti``. Every API route takes
    ``Authorization: Bearer <token>`` while the token is unexpired and not revoked; anything
    else gets the same 401 "Access Denied" as wrong Basic credentials. Token endpoint errors
    follow RFC 6749 §5.2 (``invalid_client`` 401, ``invalid_request`` and
    ``unsupported_grant_type`` 400), since Bandwidth documents none.

    .. versionadded:: 0.1
    .. versionadded:: 0.2
       *client_id*, *client_secret*, *token_lifetime*, *legacy_basic_auth*, the token endpoint,
       Bearer authentication, :meth:`issue_token`, :meth:`revoke_tokens`, *rate_limits* and
       :attr:`rate_limit_counts`.
    .. versionadded:: 0.2 *inventory_size*, the WARNING when the inventory runs dry.
    .. versionchanged:: 0.2 :attr:`faults` takes only a :class:`Faults` (else ValidationError).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        account_id: str = "9900000",
        username: str = "emulator-user",
        password: str | None = None,
        site_id: str = "743",
        peer_id: str = "546348",
        order_delay: float = 0.05,
        ssl_context: ssl.SSLContext | None = None,
        client_id: str = "emulator-client",
        client_secret: str | None = None,
        token_lifetime: float = 3600,
        legacy_basic_auth: bool = True,
        rate_limits: Mapping[str, RateLimit] | None = None,
        inventory_size: int = DEFAULT_SIZE,
    ) -> None:
        self.host = host
        self._ssl_context = ssl_context
        self.port = port
        self.account_id = account_id
        self.username = username
        self.password = password or secrets.token_urlsafe(16)
        self.site_id = site_id
        self.peer_id = peer_id
        self.order_delay = order_delay
        self._faults = Faults()
        self.deliveries: list[Delivery] = []
        self.inventory = Inventory(seed=seed, size=inventory_size)
        self._dry_stock = DryStock(self.inventory)
        self._rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
        self._sites: dict[str, set[str]] = {site_id: {peer_id}}
        self._subscriptions: dict[str, _Subscription] = {}
        self._orders: dict[str, _Order] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._expected_auth = self._basic(username, self.password)
        self.legacy_basic_auth = legacy_basic_auth
        self._tokens = TokenIssuer(
            account_id=account_id,
            client_id=client_id,
            client_secret=client_secret or secrets.token_urlsafe(24),
            lifetime=token_lifetime,
        )
        self._limiter = ratelimit.RateLimiter(rate_limits)
        self.app = self._build_app()

    def __repr__(self) -> str:
        return f"<BandwidthEmulator base_url={self.base_url!r} account_id={self.account_id!r}>"

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """The API root to give a client, e.g. ``http://127.0.0.1:54321/api``.

        When the emulator listens on every interface (``host="0.0.0.0"`` or ``"::"``), the URL
        names the loopback address instead, since nothing can connect to ``0.0.0.0``.
        """
        return f"{self._origin}/api"

    @property
    def token_url(self) -> str:
        """The OAuth 2.0 token endpoint, e.g. ``http://127.0.0.1:54321/api/v1/oauth2/token``."""
        return f"{self._origin}{TOKEN_PATH}"

    @property
    def _origin(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        host = _LOOPBACK_FOR_ANY.get(self.host, self.host)
        if ":" in host:  # an IPv6 address is bracketed in a URL
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    async def start(self) -> None:
        """Start listening; ``port`` is the real port afterwards.

        Raises:
            OSError: the address cannot be bound (the port is taken, say); nothing is left
                open.
        """
        if self._runner is not None:
            raise RuntimeError("The emulator is already running.")
        session = aiohttp.ClientSession()
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        try:
            await runner.setup()
            site = web.TCPSite(runner, self.host, self.port, ssl_context=self._ssl_context)
            await site.start()
        except BaseException:
            # `async with` calls stop() only after a successful start, so a failed bind (a
            # busy port) must release the server and the session here, or they leak.
            await runner.cleanup()
            await session.close()
            raise
        self._session = session
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        log.info("Bandwidth emulator listening at %s", self.base_url)

    async def stop(self) -> None:
        """Stop serving, cancel pending processing and notifications, close everything."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def client(self, **kwargs: object) -> NumbersClient:
        """A :class:`NumbersClient` for this emulator, on its client credentials.

        Use it with ``async with``. Keyword arguments are passed on; giving ``access_token=``
        or ``username=``/``password=`` replaces the client credentials.
        """
        arguments: dict[str, object] = {"account_id": self.account_id, "base_url": self.base_url}
        if not _OTHER_AUTH.intersection(kwargs):
            arguments.update(client_id=self.client_id, client_secret=self.client_secret)
        arguments.update(kwargs)
        return NumbersClient(**arguments)  # type: ignore[arg-type]

    async def settle(self) -> None:
        """Wait until every pending order step and notification has run."""
        while pending := [t for t in self._tasks if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------ OAuth 2.0

    @property
    def client_id(self) -> str:
        """The OAuth 2.0 client id the token endpoint accepts."""
        return self._tokens.client_id

    @property
    def client_secret(self) -> str:
        """The OAuth 2.0 client secret the token endpoint accepts."""
        return self._tokens.client_secret

    @property
    def token_lifetime(self) -> float:
        """Seconds a token from the token endpoint stays valid."""
        return self._tokens.lifetime

    @property
    def token_requests(self) -> int:
        """How many requests reached the token endpoint, successful or not."""
        return self._tokens.requests

    def issue_token(self, lifetime: float | None = None) -> str:
        """A valid access token, minted without HTTP (for pre-minted tokens and expiry tests).

        Args:
            lifetime: seconds it stays valid (default ``token_lifetime``); zero or less gives
                a token that is already expired.

        .. versionadded:: 0.2
        """
        return self._tokens.issue(lifetime)

    def revoke_tokens(self) -> None:
        """Refuse every token issued so far from now on; tokens issued later work.

        .. versionadded:: 0.2
        """
        self._tokens.revoke_all()

    # ------------------------------------------------------------------ rate limits

    @property
    def rate_limits(self) -> Mapping[str, RateLimit]:
        """The limit of each limited endpoint group (read-only; empty when nothing is limited)."""
        return self._limiter.limits

    @rate_limits.setter
    def rate_limits(self, limits: Mapping[str, RateLimit] | None) -> None:
        self._limiter.limits = limits

    @property
    def rate_limit_counts(self) -> Mapping[str, RateLimitCounts]:
        """Accepted and refused requests of every endpoint group, limited or not (a snapshot)."""
        return self._limiter.counts()

    # ------------------------------------------------------------------ test controls

    @property
    def faults(self) -> Faults:
        """The :class:`Faults` to inject; assigning a fresh ``Faults()`` clears them all."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        # Checked like each knob, so that a dict of knobs is not taken for faults and ignored.
        if not isinstance(faults, Faults):
            raise ValidationError(
                f"emulator.faults = {shown(faults)} is not allowed: give a "
                "bwnumbers.testing.Faults, such as Faults(drop_callbacks=0.5)."
            )
        self._faults = faults

    def add_site(self, site_id: str, *peer_ids: str) -> None:
        """Create a site (sub-account) with SIP peers."""
        self._sites.setdefault(site_id, set()).update(peer_ids)

    def add_numbers(self, numbers: Iterable[str], **location: str) -> list[str]:
        """Put numbers in stock and give waiting backorders another chance."""
        added = self.inventory.add(numbers, **location)
        self._dry_stock.refilled()
        for order in list(self._orders.values()):
            if order.status == "BACKORDERED":
                self._spawn(self._process(order, delay=0.0))
        return added

    def take(self, number: str) -> bool:
        """ "Another customer" orders *number* now; returns whether it was available."""
        return self.inventory.take(number) is not None

    def order_status(self, order_id: str) -> str:
        """The current status of an order (for assertions)."""
        return self._orders[order_id].status

    def finished_at(self, order_id: str) -> float | None:
        """When the order reached a final status (``time.time()`` seconds), else ``None``."""
        completed = self._orders[order_id].completed_at
        return completed.timestamp() if completed is not None else None

    @property
    def order_count(self) -> int:
        """How many orders exist."""
        return len(self._orders)

    def orders_with_customer_order_id(self, customer_order_id: str) -> list[str]:
        """Ids of the orders placed with *customer_order_id*."""
        return [o.id for o in self._orders.values() if o.customer_order_id == customer_order_id]

    # ------------------------------------------------------------------ HTTP plumbing

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1024**2)
        prefix = ratelimit.ACCOUNT_ROOT
        app.router.add_get(f"{prefix}/availableNumbers", self._search)
        app.router.add_get(f"{prefix}/subscriptions", self._list_subscriptions)
        app.router.add_post(f"{prefix}/subscriptions", self._create_subscription)
        app.router.add_get(f"{prefix}/subscriptions/{{id}}", self._get_subscription)
        app.router.add_put(f"{prefix}/subscriptions/{{id}}", self._update_subscription)
        app.router.add_delete(f"{prefix}/subscriptions/{{id}}", self._delete_subscription)
        app.router.add_get(f"{prefix}/orders", self._list_orders)
        app.router.add_post(f"{prefix}/orders", self._create_order)
        app.router.add_get(f"{prefix}/orders/{{id}}", self._get_order)
        app.router.add_put(f"{prefix}/orders/{{id}}", self._update_order)
        app.router.add_get(f"{prefix}/orders/{{id}}/history", self._order_history)
        app.router.add_route("*", TOKEN_PATH, self._token)
        app.on_shutdown.append(self._tokens.release)
        return app

    async def _token(self, request: web.Request) -> web.StreamResponse:
        return await self._tokens.handle(request, self.faults.token_failure)

    @staticmethod
    def _basic(username: str, password: str) -> bytes:
        return base64.b64encode(f"{username}:{password}".encode())

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return self._tokens.verify(value.strip()) is not None
        if scheme.lower() != "basic" or not self.legacy_basic_auth:
            return False
        try:
            presented = base64.b64encode(base64.b64decode(value.strip(), validate=True))
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(presented, self._expected_auth)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path == TOKEN_PATH:
            # Like Bandwidth's, the token endpoint authenticates clients itself and is neither
            # rate limited nor slowed by the API's faults.
            return await handler(request)
        try:
            if self.faults.response_delay:
                await asyncio.sleep(self.faults.response_delay)
            if not self._authorized(request):
                raise _Refusal(401, wire.error_response("Access Denied", 1001))
            account = request.match_info.get("account_id")
            if account is not None and account != self.account_id:
                raise _Refusal(
                    403, wire.error_response("The user is not authorized for this action", 1001)
                )
            if self.faults.rate_limit_next > 0:
                self.faults.rate_limit_next -= 1
                now = ratelimit.clock()
                return web.Response(
                    status=429,
                    body=wire.error_response("Too many requests; the request was not executed"),
                    content_type=_XML,
                    headers=ratelimit.reset_headers(
                        self.faults.rate_limit_header, now + self.faults.rate_limit_reset, now
                    ),
                )
            group = ratelimit.endpoint_group(request)
            reset_at = self._limiter.take(account or self.account_id, group)
            if reset_at is not None:
                log.debug("Rate limit of %s reached; resets at %d", group, reset_at)
                headers = ratelimit.reset_headers(
                    self.faults.rate_limit_header, reset_at, ratelimit.clock()
                )
                return web.Response(status=429, headers=headers)
            return await handler(request)
        except _Refusal as refusal:
            return web.Response(status=refusal.status, body=refusal.body, content_type=_XML)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return web.Response(
                status=exc.status,
                body=wire.error_response(exc.reason or "Error"),
                content_type=_XML,
                headers={k: v for k, v in exc.headers.items() if k == "Allow"},
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Emulator bug while serving %s %s", request.method, request.path)
            return web.Response(
                status=500,
                body=wire.error_response("Internal Server Error. Please try again.", 1000),
                content_type=_XML,
            )

    @staticmethod
    async def _xml_body(
        request: web.Request, root: str, refusal: Callable[[str], _Refusal]
    ) -> wire.Node:
        if request.content_type not in ("application/xml", "text/xml"):
            raise _Refusal(
                415,
                wire.error_response(
                    f"Content-Type {request.content_type or 'none'} is not supported; "
                    "send application/xml"
                ),
            )
        try:
            return wire.parse(await request.read(), root)
        except wire.BadXML as exc:
            raise refusal(str(exc)) from None

    @staticmethod
    def _xml(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(status=status, body=body, content_type=_XML, headers=headers)

    def _location(self, request: web.Request, kind: str, item_id: str) -> str:
        return f"{request.scheme}://{request.host}/api/accounts/{self.account_id}/{kind}/{item_id}"

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _spawn(self, coroutine: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ search

    async def _search(self, request: web.Request) -> web.Response:
        try:
            criteria = from_query(request.query)
        except SearchFault as fault:
            raise _Refusal(400, wire.search_error(fault.code, fault.description)) from None
        found = match(self.inventory, criteria)
        # Without a quantity the caller asked for "what you have", which is short only if none.
        wanted = criteria.quantity if "quantity" in request.query else 1
        self._dry_stock.check("A search", criteria, wanted=wanted, found=len(found))
        if not found:
            return self._xml(wire.document(wire.element("SearchResult")))
        if criteria.enable_tn_detail:
            listing = wire.element(
                "TelephoneNumberDetailList", *(self._detail(info) for info in found)
            )
        else:
            listing = wire.listing(
                "TelephoneNumberList", "TelephoneNumber", (i.number for i in found)
            )
        root = wire.element("SearchResult", wire.element("ResultCount", text=len(found)), listing)
        return self._xml(wire.document(root))

    @staticmethod
    def _detail(info: NumberInfo) -> wire.Node:
        return wire.element(
            "TelephoneNumberDetail",
            wire.optional("City", info.city),
            wire.optional("LATA", info.lata),
            wire.optional("RateCenter", info.rate_center),
            wire.optional("State", info.state),
            wire.element("FullNumber", text=info.number),
            wire.element("Tier", text=info.tier),
            wire.element("VendorId", text=info.vendor_id),
            wire.element("VendorName", text=info.vendor_name),
        )

    # ------------------------------------------------------------------ subscriptions

    @staticmethod
    def _subscription_error(status: int, code: int, description: str) -> _Refusal:
        return _Refusal(status, wire.response_status("SubscriptionsResponse", code, description))

    def _subscription_fields(self, node: wire.Node) -> dict[str, object]:
        order_type = wire.text(node, "OrderType")
        if order_type is None:
            raise self._subscription_error(
                400, 14508, "OrderType or EventType should be specified."
            )
        if order_type not in _ORDER_TYPES_FOR_SUBSCRIPTIONS:
            raise self._subscription_error(400, 14500, "Incorrect order type.")
        callback = node.find("CallbackSubscription")
        if callback is None:
            raise self._subscription_error(400, 14501, "Subscription object is invalid")
        url = wire.text(callback, "URL")
        if url is None:
            raise self._subscription_error(400, 14503, "Callback URL is empty")
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
            raise self._subscription_error(400, 14506, "Callback URL is invalid")
        expiry_text = wire.text(callback, "Expiry") or "86400"
        if not expiry_text.isdigit() or int(expiry_text) <= 0:
            raise self._subscription_error(404, 14501, "Subscription expiry is invalid")
        auth = callback.find("CallbackCredentials/BasicAuthentication")
        username = password = None
        if auth is not None:
            username = wire.text(auth, "Username")
            password = wire.text(auth, "Password")
            if not username or not password:
                raise self._subscription_error(
                    400,
                    14505,
                    "Basic authentication must contain both a non-blank username and password",
                )
        return {
            "order_type": order_type,
            "order_id": wire.text(node, "OrderId"),
            "url": url,
            "expires_at": asyncio.get_running_loop().time() + int(expiry_text),
            "username": username,
            "password": password,
        }

    def _subscription_refusal(self, message: str) -> _Refusal:
        return self._subscription_error(400, 14501, f"Subscription object is invalid: {message}")

    async def _create_subscription(self, request: web.Request) -> web.Response:
        node = await self._xml_body(request, "Subscription", self._subscription_refusal)
        fields = self._subscription_fields(node)
        for existing in self._subscriptions.values():
            if (existing.order_type, existing.order_id, existing.url) == (
                fields["order_type"], fields["order_id"], fields["url"],
            ):  # fmt: skip
                raise self._subscription_error(409, 16008, "Duplicate subscription already exists")
        subscription = _Subscription(id=self._new_id(), **fields)  # type: ignore[arg-type]
        self._subscriptions[subscription.id] = subscription
        location = self._location(request, "subscriptions", subscription.id)
        return web.Response(status=201, headers={"Location": location})

    def _subscription(self, request: web.Request) -> _Subscription:
        subscription = self._subscriptions.get(request.match_info["id"])
        if subscription is None:
            raise self._subscription_error(
                404,
                16000,
                f"Subscription {request.match_info['id']} not found for accountId "
                f"{self.account_id}",
            )
        return subscription

    def _subscription_node(self, s: _Subscription) -> wire.Node:
        remaining = max(0, int(s.expires_at - asyncio.get_running_loop().time()))
        credentials = None
        if s.username:
            credentials = wire.element(
                "CallbackCredentials",
                wire.element("BasicAuthentication", wire.element("Username", text=s.username)),
            )
        return wire.element(
            "Subscription",
            wire.element("SubscriptionId", text=s.id),
            wire.element("OrderType", text=s.order_type),
            wire.optional("OrderId", s.order_id),
            wire.element(
                "CallbackSubscription",
                wire.element("URL", text=s.url),
                wire.element("Expiry", text=remaining),
                wire.element("Status", text=s.status),
                credentials,
            ),
        )

    async def _list_subscriptions(self, request: web.Request) -> web.Response:
        wanted = request.query.get("orderType")
        chosen = [s for s in self._subscriptions.values() if wanted in (None, s.order_type)]
        root = wire.element(
            "SubscriptionsResponse",
            wire.element("Subscriptions", *(self._subscription_node(s) for s in chosen)),
        )
        return self._xml(wire.document(root))

    async def _get_subscription(self, request: web.Request) -> web.Response:
        subscription = self._subscription(request)
        root = wire.element(
            "SubscriptionsResponse",
            wire.element("Subscriptions", self._subscription_node(subscription)),
        )
        return self._xml(wire.document(root))

    async def _update_subscription(self, request: web.Request) -> web.Response:
        subscription = self._subscription(request)
        node = await self._xml_body(request, "Subscription", self._subscription_refusal)
        for name, value in self._subscription_fields(node).items():
            setattr(subscription, name, value)
        return web.Response(status=200)

    async def _delete_subscription(self, request: web.Request) -> web.Response:
        subscription = self._subscription(request)
        del self._subscriptions[subscription.id]
        return web.Response(status=200)

    # ------------------------------------------------------------------ orders: create

    @staticmethod
    def _order_refusal(message: str) -> _Refusal:
        return _order_error(400, 5002, f"Validation error: {message}")

    def _parse_order(self, node: wire.Node) -> _Order:
        customer_order_id = wire.text(node, "CustomerOrderId")
        if customer_order_id is not None and not _CUSTOMER_ORDER_ID.fullmatch(customer_order_id):
            raise _order_error(400, 5052, "Customer order ID is invalid.")
        name = wire.text(node, "Name")
        if name is None or len(name) > 50:
            raise _order_error(
                400, 5002, "Validation error: Name is required, at most 50 characters"
            )
        site_id = wire.text(node, "SiteId")
        if site_id is None:
            raise _order_error(400, 5022, "SiteId is a required field")
        if site_id not in self._sites:
            raise _order_error(400, 5016, "The SiteId submitted is invalid.")
        peer_id = wire.text(node, "PeerId")
        if peer_id is None:
            if not self._sites[site_id]:
                raise _order_error(400, 5020, "No default SIP peer is set for the site")
            peer_id = sorted(self._sites[site_id])[0]
        elif peer_id not in self._sites[site_id]:
            raise _order_error(400, 5023, "SIP peer submitted is invalid.")
        flags = {}
        for element, code in (("PartialAllowed", 5217), ("BackOrderRequested", 5002)):
            value = (wire.text(node, element) or "false").lower()
            if value not in ("true", "false"):
                raise _order_error(400, code, f"The {element} value submitted is invalid.")
            flags[element] = value == "true"
        numbers: tuple[str, ...] = ()
        criteria: Criteria | None = None
        search_fields: dict[str, str] = {}
        types = [child.tag for child in node if child.tag in ORDER_TYPES]
        existing = node.find("ExistingTelephoneNumberOrderType")
        if existing is not None and not types:
            order_type = "ExistingTelephoneNumberOrderType"
            numbers = tuple(
                (n.text or "").strip()
                for n in existing.findall("TelephoneNumberList/TelephoneNumber")
            )
            if not numbers:
                raise _order_error(400, 5074, "Telephone number is required.")
            if any(not _TN.fullmatch(n) for n in numbers):
                raise _order_error(400, 5070, "Telephone number is invalid.")
            if len(set(numbers)) != len(numbers):
                raise _order_error(400, 5093, "Order cannot contain duplicate telephone numbers.")
            if flags["BackOrderRequested"]:
                raise _order_error(
                    400, 5522, "Backorders are not compatible with Specific TN orders"
                )
        elif len(types) == 1 and existing is None:
            order_type = types[0]
            type_node = node.find(order_type)
            assert type_node is not None
            search_fields = {c.tag: (c.text or "").strip() for c in type_node}
            try:
                criteria = from_order_type(order_type, search_fields)
            except SearchFault as fault:
                raise _order_error(400, fault.code, fault.description) from None
            if flags["BackOrderRequested"] and (
                order_type in NO_BACKORDER_TYPES
                or criteria.present & {"npa_nxxx", "local_vanity", "toll_free_vanity"}
            ):
                raise _order_error(
                    400,
                    5522,
                    "Backorders are not compatible with Specific TN, NPANXX, NPANXXX, "
                    "TollFree Vanity or Local Vanity orders",
                )
        else:
            raise _order_error(400, 5087, "The input order type is not a valid entry.")
        return _Order(
            id=self._new_id(),
            customer_order_id=customer_order_id,
            name=name,
            site_id=site_id,
            peer_id=peer_id,
            partial_allowed=flags["PartialAllowed"],
            back_order_requested=flags["BackOrderRequested"],
            numbers=numbers,
            order_type=order_type,
            search_fields=search_fields,
            criteria=criteria,
            created=_now(),
        )

    async def _create_order(self, request: web.Request) -> web.StreamResponse:
        node = await self._xml_body(request, "Order", self._order_refusal)
        order = self._parse_order(node)
        self._orders[order.id] = order
        order.history.append((order.created, "RECEIVED", "Order received"))
        log.info("Order %s received (%s)", order.id, order.customer_order_id)
        body = wire.document(
            wire.element(
                "OrderResponse",
                self._order_node(order, with_id=True),
                wire.element("OrderStatus", text="RECEIVED"),
            )
        )
        if self.faults.callback_before_response:
            await self._process(order, delay=0.0)
        else:
            self._spawn(self._process(order, delay=self.order_delay))
        headers = {"Location": self._location(request, "orders", order.id)}
        failure, self.faults.fail_next_order = self.faults.fail_next_order, None
        if failure == "500":
            return self._xml(
                wire.error_response("Internal Server Error. Please try again.", 1000), 500
            )
        if failure == "disconnect":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=201, body=body, content_type=_XML, headers=headers)
        if failure == "truncate":
            return self._xml(body[: len(body) // 2], 201, headers)
        return self._xml(body, 201, headers)

    # ------------------------------------------------------------------ orders: processing

    async def _process(self, order: _Order, *, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if order.processing or order.status in _FINAL:
            return
        order.processing = True
        try:
            previous = order.status
            self._fill(order)
            if order.status != previous:
                await self._notify(order)
        finally:
            order.processing = False

    def _fill(self, order: _Order) -> None:
        if order.criteria is None:
            self._fill_specific(order)
        else:
            self._fill_search(order)
        order.modified = _now()
        if order.status in _FINAL:
            order.completed_at = order.modified
        note = {
            "COMPLETE": f"{len(order.completed)} number(s) ordered",
            "PARTIAL": f"{len(order.completed)} out of {order.quantity} numbers ordered",
            "FAILED": "Order failed",
            "BACKORDERED": "Order backordered - awaiting additional numbers",
        }.get(order.status, order.status)
        order.history.append((order.modified, order.status, note))
        log.info("Order %s is %s", order.id, order.status)

    def _fill_specific(self, order: _Order) -> None:
        missing = [n for n in order.numbers if n not in self.inventory]
        if missing and not order.partial_allowed:
            order.status = "FAILED"
            order.failed = list(order.numbers)  # nothing was activated
            order.errors = [
                (5005, "The telephone number is unavailable for ordering", n) for n in missing
            ]
            return
        for number in order.numbers:
            if number not in missing:
                self.inventory.take(number)
                order.completed.append(number)
        order.failed = missing
        order.errors = [
            (5005, "The telephone number is unavailable for ordering", n) for n in missing
        ]
        order.status = "COMPLETE" if not missing else ("PARTIAL" if order.completed else "FAILED")

    def _fill_search(self, order: _Order) -> None:
        assert order.criteria is not None
        wanted = order.quantity - len(order.completed)
        found = available(self.inventory, order.criteria)[:wanted]
        enough = len(found) == wanted
        self._dry_stock.check(f"Order {order.id}", order.criteria, wanted=wanted, found=len(found))
        if enough or order.partial_allowed or order.completed:
            for info in found:
                self.inventory.take(info.number)
                order.completed.append(info.number)
        if enough:
            order.status = "COMPLETE"
            order.errors = []
        elif order.back_order_requested:
            order.status = "BACKORDERED"
            order.errors = [(5520, "Order backordered - awaiting additional numbers", None)]
        elif order.partial_allowed and order.completed:
            order.status = "PARTIAL"
            order.errors = [
                (5017, "Only a partial quantity of the numbers could be fulfilled", None)
            ]
        else:
            order.status = "FAILED"
            order.errors = [(5018, "The entire quantity of numbers is unavailable", None)]

    def _close(self, order: _Order) -> None:
        order.status = "PARTIAL" if order.completed else "FAILED"
        order.errors = [(5521, "Backorder closed before all numbers were allocated", None)]
        order.modified = order.completed_at = _now()
        order.history.append((order.modified, order.status, "Order closed by customer"))

    # ------------------------------------------------------------------ notifications

    def _notification(self, order: _Order, subscription: _Subscription) -> bytes:
        if order.status == "FAILED" and order.errors:
            code, description, _ = order.errors[0]
            message = f"{code}: {description}"
            numbers = list(order.numbers) or order.failed  # the documented "attempted" quirk
        elif order.status == "BACKORDERED":
            message = "Order backordered - awaiting additional numbers"
            numbers = order.completed
        else:
            message = f"Created a new number order for {len(order.completed)} number(s)"
            numbers = order.completed
        return wire.document(
            wire.element(
                "Notification",
                wire.element("Status", text=order.status),
                wire.element("SubscriptionId", text=subscription.id),
                wire.element("Message", text=message),
                wire.element("OrderId", text=order.id),
                wire.element("OrderType", text="orders"),
                wire.optional("CustomerOrderId", order.customer_order_id),
                wire.listing("CompletedTelephoneNumbers", "TelephoneNumber", numbers),
                wire.element("LastModifiedDate", text=_iso(order.modified)),
            )
        )

    async def _notify(self, order: _Order) -> None:
        loop = asyncio.get_running_loop()
        targets = [
            s
            for s in self._subscriptions.values()
            if s.order_type == "orders"
            and s.order_id in (None, order.id)
            and s.expires_at > loop.time()
        ]
        sends = []
        for subscription in targets:
            body = self._notification(order, subscription)
            if self._rng.random() < self.faults.drop_callbacks:
                self._record(subscription, order, None, authenticated=False, dropped=True)
                continue
            copies = 2 if self._rng.random() < self.faults.duplicate_callbacks else 1
            for _ in range(copies):
                sends.append(self._deliver(subscription, order, body))
        if self.faults.callback_before_response:
            await asyncio.gather(*sends)
        else:
            for send in sends:
                self._spawn(send)

    async def _deliver(self, subscription: _Subscription, order: _Order, body: bytes) -> None:
        """One notification, with Bandwidth's challenge flow and no retries."""
        if self.faults.callback_delay:
            await asyncio.sleep(self.faults.callback_delay)
        session = self._session
        assert session is not None
        headers = {"Content-Type": "application/xml; charset=utf-8"}

        async def post(authorization: str | None = None) -> tuple[int, str, str]:
            # A header, not aiohttp.BasicAuth, which aiohttp 3.14 deprecates (a warning per call).
            sent = headers if authorization is None else {**headers, "Authorization": authorization}
            async with session.post(
                subscription.url,
                data=body,
                headers=sent,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                challenge = response.headers.get("WWW-Authenticate", "")
                return response.status, response.reason or "", challenge

        status: int | None = None
        authenticated = False
        try:
            status, reason, challenge = await post()
            if status == 401 and subscription.username and challenge.lower().startswith("basic"):
                authenticated = True
                pair = f"{subscription.username}:{subscription.password or ''}".encode("latin-1")
                status, reason, _ = await post("Basic " + base64.b64encode(pair).decode("ascii"))
            subscription.status = f"{status} {reason}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            subscription.status = f"Callback failed: {type(exc).__name__}"
        log.info(
            "Notification %s for order %s to %s: %s",
            order.status,
            order.id,
            subscription.url,
            subscription.status,
        )
        self._record(subscription, order, status, authenticated=authenticated)

    def _record(
        self,
        subscription: _Subscription,
        order: _Order,
        http_status: int | None,
        *,
        authenticated: bool,
        dropped: bool = False,
    ) -> None:
        self.deliveries.append(
            Delivery(
                subscription_id=subscription.id,
                order_id=order.id,
                status=order.status,
                http_status=http_status,
                authenticated=authenticated,
                dropped=dropped,
            )
        )

    # ------------------------------------------------------------------ orders: read and update

    def _order(self, request: web.Request) -> _Order:
        order = self._orders.get(request.match_info["id"])
        if order is None:
            raise _Refusal(404, wire.error_response("The resource does not exist"))
        return order

    def _order_node(self, order: _Order, *, with_id: bool) -> wire.Node:
        if order.criteria is None:
            order_type = wire.element(
                order.order_type,
                wire.listing("TelephoneNumberList", "TelephoneNumber", order.numbers),
            )
        else:
            order_type = wire.element(
                order.order_type,
                *(wire.element(tag, text=value) for tag, value in order.search_fields.items()),
            )
        return wire.element(
            "Order",
            wire.optional("CustomerOrderId", order.customer_order_id),
            wire.element("Name", text=order.name),
            wire.element("OrderCreateDate", text=_iso(order.created)),
            wire.element("PeerId", text=order.peer_id),
            wire.boolean("BackOrderRequested", order.back_order_requested),
            wire.optional("id", order.id if with_id else None),
            order_type,
            wire.boolean("PartialAllowed", order.partial_allowed),
            wire.element("SiteId", text=order.site_id),
        )

    async def _get_order(self, request: web.Request) -> web.Response:
        order = self._order(request)
        summary = {
            "COMPLETE": f"{len(order.completed)} number(s) ordered",
            "PARTIAL": f"{len(order.completed)} out of {order.quantity} numbers ordered",
        }.get(order.status, f"{order.quantity} number(s) requested")
        root = wire.element(
            "OrderResponse",
            wire.element("CompletedQuantity", text=len(order.completed)),
            wire.element("CreatedByUser", text=self.username),
            wire.error_list(order.errors),
            wire.listing("FailedNumbers", "FullNumber", order.failed),
            wire.element("LastModifiedDate", text=_iso(order.modified or order.created)),
            wire.optional("OrderCompleteDate", _iso(order.completed_at)),
            self._order_node(order, with_id=False),
            wire.element("OrderStatus", text=order.status),
            wire.element(
                "CompletedNumbers",
                *(
                    wire.element("TelephoneNumber", wire.element("FullNumber", text=n))
                    for n in order.completed
                ),
            ),
            wire.element("Summary", text=summary),
            wire.element("FailedQuantity", text=len(order.failed)),
        )
        return self._xml(wire.document(root))

    async def _list_orders(self, request: web.Request) -> web.Response:
        customer_order_id = request.query.get("customerOrderId")
        status = request.query.get("status")
        if status is not None and status.lower() not in (
            "complete",
            "partial",
            "failed",
            "backordered",
        ):
            raise _order_error(400, 15518, "Status is invalid")
        chosen = [
            o
            for o in self._orders.values()
            if customer_order_id in (None, o.customer_order_id)
            and (status is None or o.status == status.upper())
        ]
        rows = [
            wire.element(
                "OrderIdUserIdDate",
                wire.element("CountOfTNs", text=len(o.completed) or o.quantity),
                wire.optional("CustomerOrderId", o.customer_order_id),
                wire.element("lastModifiedDate", text=_iso(o.modified or o.created)),
                wire.element("OrderDate", text=_iso(o.created)),
                wire.element("OrderType", text="new_number"),
                wire.element("orderId", text=o.id),
                wire.element("OrderStatus", text=o.status),
                wire.element("userId", text=self.username),
            )
            for o in chosen
        ]
        root = wire.element(
            "ResponseSelectWrapper",
            wire.element(
                "ListOrderIdUserIdDate", wire.element("TotalCount", text=len(rows)), *rows
            ),
        )
        return self._xml(wire.document(root))

    async def _update_order(self, request: web.Request) -> web.Response:
        order = self._order(request)
        node = await self._xml_body(request, "Order", self._order_refusal)
        if (wire.text(node, "CloseOrder") or "").lower() != "true":
            raise _order_error(400, 5002, "Validation error: only CloseOrder is supported")
        if order.status != "BACKORDERED":
            raise _order_error(400, 5060, "Only Backordered order can be closed.")
        self._close(order)
        await self._notify(order)
        return self._xml(wire.document(wire.element("OrderResponse")))

    async def _order_history(self, request: web.Request) -> web.Response:
        order = self._order(request)
        if len(order.history) <= 1:
            return web.Response(status=200)  # "no events other than creation": empty payload
        root = wire.element(
            "OrderHistoryWrapper",
            *(
                wire.element(
                    "OrderHistory",
                    wire.element("OrderDate", text=_iso(at)),
                    wire.element("Note", text=note),
                    wire.element("Author", text="System"),
                    wire.element("Status", text=status),
                )
                for at, status, note in order.history
            ),
        )
        return self._xml(wire.document(root))
