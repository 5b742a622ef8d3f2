"""``BandwidthEmulator``: a real, local Bandwidth Dashboard API server for tests and demos.

It speaks the wire format of Bandwidth's Numbers API, https://dev.bandwidth.com/apis/numbers/
(element names and case, status codes, ``Location`` headers, the error shapes), so that any
client written for the real API works against it unchanged. Orders are processed in the
background and announced with ``<Notification>`` callbacks that follow Bandwidth's Basic-auth
challenge flow and, like Bandwidth, are never retried. Fault knobs (:class:`Faults`) make the
failures that lose orders in production happen on demand.

This module holds the emulator's lifecycle and its test controls; the routes live in the
``_*_routes`` modules, ``_search`` and ``_subscriptions``, the rules in ``_orders``,
``_disconnects`` and ``_numbers`` (what each number is: reserved, in service, aging).
"""

from __future__ import annotations

import logging
import random
import secrets
import ssl
from collections.abc import Mapping

import aiohttp
from aiohttp import web

from bwnumbers import NumbersClient, ValidationError
from bwnumbers._lifecycle import StartStop
from bwnumbers.testing import _ratelimit as ratelimit
from bwnumbers.testing._criteria import DryStock
from bwnumbers.testing._faults import Faults, shown
from bwnumbers.testing._inventory import DEFAULT_SIZE, Inventory
from bwnumbers.testing._ratelimit import RateLimit, RateLimitCounts
from bwnumbers.testing._tokens import TOKEN_PATH, TokenIssuer

from ._book import OrderBook
from ._context import Context
from ._controls import NumberControls
from ._delivery import Delivery, Notifier
from ._disconnect_routes import DisconnectRoutes
from ._http import API_ROOTS, Guard
from ._inventory_routes import InventoryRoutes
from ._numbers import NumberStates
from ._order_listing import OrderListing
from ._order_routes import OrderRoutes
from ._reservation_routes import ReservationRoutes
from ._search import SearchRoutes
from ._subscriptions import SubscriptionRoutes

__all__ = ["BandwidthEmulator"]

log = logging.getLogger("bwnumbers.emulator")

_OTHER_AUTH = frozenset({"access_token", "username", "password"})
# Listening on every interface: a client on this machine connects through loopback.
_LOOPBACK_FOR_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


class BandwidthEmulator(NumberControls, StartStop):
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
        order_delay: seconds an order or a disconnect stays RECEIVED before it is processed
            (default 0.05).
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
        reservation_lifetime: seconds a ``tnreservation`` lasts (default 14400, Bandwidth's
            "default time of 4 hours"); then its number is back in stock.
        aging_period: seconds a disconnected number stays Aging (default 30 days, Bandwidth's
            "typically 30 days"); meanwhile only this account can order it (by number), then
            it is back in stock.

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

    After the order, numbers live as on Bandwidth: reserved (``tnreservation``, refused to
    other accounts; assumed: hidden from searches, and an order without the reservation id
    fails that number with 5005), Inservice (``inserviceNumbers``, ``/tns/{tn}``),
    disconnected in the background (``disconnects``, announced to ``disconnects``
    subscriptions only), Aging (orderable again by this account only), then back in stock.
    :meth:`number_status` says where a number is.

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
    .. versionadded:: 0.2 *reservation_lifetime*, *aging_period*, :meth:`reserve_elsewhere`;
       reservations, disconnects, in-service numbers and ``/tns/{tn}``.
    .. versionchanged:: 0.2 :attr:`faults` takes only a :class:`Faults` (else ValidationError).
    .. versionchanged:: 0.3 the API answers below ``/api/v1`` too.
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
        reservation_lifetime: float = 14400.0,
        aging_period: float = 30 * 86400.0,
    ) -> None:
        self.host = host
        self._ssl_context = ssl_context
        self.port = port
        self.account_id = account_id
        self.username = username
        self.password = password or secrets.token_urlsafe(16)
        self.site_id = site_id
        self.peer_id = peer_id
        self.inventory = Inventory(seed=seed, size=inventory_size)
        self._context = Context(
            account_id=account_id,
            username=username,
            order_delay=order_delay,
            rng=random.Random(seed),  # noqa: S311 - repeatable test data, not secrets
        )
        dry_stock = DryStock(self.inventory)
        self._sites: dict[str, set[str]] = {site_id: {peer_id}}
        self._subscriptions = SubscriptionRoutes(self._context)
        self._notifier = Notifier(self._context, self._subscriptions)
        self._numbers = NumberStates(
            self.inventory,
            account_id=account_id,
            reservation_lifetime=reservation_lifetime,
            aging_period=aging_period,
        )
        self._book = OrderBook(
            self._context, self.inventory, dry_stock, self._notifier, self._numbers
        )
        self._disconnects = DisconnectRoutes(self._context, self._numbers, self._notifier)
        self._dry_stock = dry_stock
        self._runner: web.AppRunner | None = None
        self._tokens = TokenIssuer(
            account_id=account_id,
            client_id=client_id,
            client_secret=client_secret or secrets.token_urlsafe(24),
            lifetime=token_lifetime,
        )
        self._limiter = ratelimit.RateLimiter(rate_limits)
        self._guard = Guard(
            self._context,
            self._tokens,
            self._limiter,
            username=username,
            password=self.password,
            legacy_basic_auth=legacy_basic_auth,
        )
        self.app = self._build_app()

    def __repr__(self) -> str:
        return f"<BandwidthEmulator base_url={self.base_url!r} account_id={self.account_id!r}>"

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """The API root to give a client, e.g. ``http://127.0.0.1:54321/api``.

        The same API also answers below ``/api/v1`` (``http://127.0.0.1:54321/api/v1``), the
        server URL of Bandwidth's published specification, with the same state, rate limits and
        ``Location`` headers on the root the request used.

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
        self._notifier.session = session
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        log.info("Bandwidth emulator listening at %s", self.base_url)

    async def stop(self) -> None:
        """Stop serving, cancel pending processing and notifications, close everything.

        When it returns, every order step and notification still pending has been cancelled
        and has ended, so nothing is processed or delivered afterwards.
        """
        await self._context.cancel_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # A request that was being answered while the server shut down may have scheduled
        # an order step; it must not outlive stop() either.
        await self._context.cancel_all()
        session, self._notifier.session = self._notifier.session, None
        if session is not None:
            await session.close()

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
        await self._context.settle()

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
        return self._context.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        # Checked like each knob, so that a dict of knobs is not taken for faults and ignored.
        if not isinstance(faults, Faults):
            raise ValidationError(
                f"emulator.faults = {shown(faults)} is not allowed: give a "
                "bwnumbers.testing.Faults, such as Faults(drop_callbacks=0.5)."
            )
        self._context.faults = faults

    @property
    def order_delay(self) -> float:
        """Seconds an order stays RECEIVED before it is processed; change it at any time."""
        return self._context.order_delay

    @order_delay.setter
    def order_delay(self, seconds: float) -> None:
        self._context.order_delay = seconds

    @property
    def legacy_basic_auth(self) -> bool:
        """Whether the API accepts HTTP Basic credentials; change it at any time."""
        return self._guard.legacy_basic_auth

    @legacy_basic_auth.setter
    def legacy_basic_auth(self, accept: bool) -> None:
        self._guard.legacy_basic_auth = accept

    @property
    def deliveries(self) -> list[Delivery]:
        """Every notification attempt, in order."""
        return self._notifier.deliveries

    @deliveries.setter
    def deliveries(self, deliveries: list[Delivery]) -> None:
        self._notifier.deliveries = deliveries

    def add_site(self, site_id: str, *peer_ids: str) -> None:
        """Create a site (sub-account) with SIP peers."""
        self._sites.setdefault(site_id, set()).update(peer_ids)

    # ------------------------------------------------------------------ HTTP app

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard.middleware], client_max_size=1024**2)
        search = SearchRoutes(self.inventory, self._dry_stock)
        orders = OrderRoutes(self._context, self._book, self._sites)
        listing = OrderListing(self._context, self._book, self.inventory)
        reservations = ReservationRoutes(self._context, self._numbers)
        inventory = InventoryRoutes(self._context, self._numbers, self.inventory, self._book)
        for root in API_ROOTS:
            prefix = f"{root}/accounts/{{account_id}}"
            search.add_routes(app.router, prefix)
            self._subscriptions.add_routes(app.router, prefix)
            orders.add_routes(app.router, prefix)
            listing.add_routes(app.router, prefix)
            reservations.add_routes(app.router, prefix, api_root=root)
            self._disconnects.add_routes(app.router, prefix)
            inventory.add_routes(app.router, prefix, api_root=root)
        app.router.add_route("*", TOKEN_PATH, self._token)
        app.on_shutdown.append(self._tokens.release)
        return app

    async def _token(self, request: web.Request) -> web.StreamResponse:
        return await self._tokens.handle(request, self.faults.token_failure)
