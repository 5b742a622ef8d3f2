"""``CallbackReceiver``: the aiohttp endpoint Bandwidth posts order notifications to.

A thin adapter: check Basic auth (answering Bandwidth's challenge flow), read a bounded body in
bounded time, decode, hand the notification to its :class:`OrderWaiters` (awaiting
``adeliver``), answer 200. It never decides an order's outcome, never answers 5xx (Bandwidth
never sends a notification again: https://dev.bandwidth.com/docs/numbers/webhooks),
and keeps serving whatever it is sent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import ssl
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from ._checks import check_absolute_url, check_both_or_neither, check_seconds, check_whole
from ._exceptions import DecodeError, ValidationError
from ._lifecycle import StartStop
from ._models import Notification
from ._store import OrderStore
from ._unclaimed import DEFAULT_UNCLAIMED_LIMIT, DEFAULT_UNCLAIMED_TTL
from ._waiters import OrderWaiters
from ._xml import parse_notification

__all__ = ["CallbackReceiver"]

log = logging.getLogger("bwnumbers.receiver")

DEFAULT_PATH: Final = "/bandwidth/callbacks"
DEFAULT_MAX_BODY: Final = 64 * 1024
DEFAULT_READ_TIMEOUT: Final = 10.0
# At most one warning a minute about callbacks refused for wrong credentials, per receiver.
REFUSED_CREDENTIALS_WARNING_INTERVAL: Final = 60.0

NotificationHook = Callable[[Notification], Awaitable[None] | None]


class _TooLarge(Exception):
    pass


class _UnsupportedEncoding(Exception):
    pass


# zlib window settings per Content-Encoding: gzip framing, or zlib-wrapped deflate.
_ZLIB_WBITS: Final = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS,
                      "deflate": zlib.MAX_WBITS}  # fmt: skip


class CallbackReceiver(StartStop):
    """Receives Bandwidth's ``<Notification>`` callbacks and wakes the orders awaiting them.

    Run it standalone (``async with CallbackReceiver(...) as receiver``), mount ``.app`` into
    an aiohttp application you already run (``parent.add_subapp("/hooks", receiver.app)``), or
    route requests to :meth:`handle`. Users of another web framework pass the body to
    :func:`bwnumbers.parse_notification` and the result to :meth:`deliver`. Mounted, it closes
    with the app that serves it: that app's cleanup releases the waiting orders as
    :meth:`stop` does.

    It is a :class:`~bwnumbers.WaiterSource`: ``order_and_wait`` waits in :attr:`waiters`.

    Args:
        host, port: where to listen when started (port 0 picks a free port).
        path: the URL path of the endpoint.
        username, password: Basic credentials Bandwidth must send (give both, or neither).
            Requests without them get 401 with ``WWW-Authenticate``, which is what makes
            Bandwidth send the notification again with credentials.
        public_url: the URL Bandwidth should call, when it differs from the bound address
            (behind a proxy or tunnel).
        max_body: largest accepted body in bytes (default 64 KiB); larger gets 413.
        read_timeout: seconds a body may take to arrive (default 10); slower gets 408.
        unclaimed_limit, unclaimed_ttl: bounds of the buffer for notifications nobody waits
            for yet (default 10,000 notifications, 600 s).
        on_notification: called with every accepted notification after it was answered;
            its errors are logged, never returned to Bandwidth.
        ssl_context: serve HTTPS with this context.
        waiters: share an existing :class:`OrderWaiters` (default: a new one).
        store: the journal of orders waited for here (an :class:`~bwnumbers.OrderStore`,
            such as ``SQLiteStore(path)`` to survive restarts), given to the new
            :class:`OrderWaiters`; default: a new :class:`~bwnumbers.MemoryStore`. With
            *waiters*, give it to those instead.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 *store*.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = DEFAULT_PATH,
        username: str | None = None,
        password: str | None = None,
        public_url: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        unclaimed_limit: int = DEFAULT_UNCLAIMED_LIMIT,
        unclaimed_ttl: float = DEFAULT_UNCLAIMED_TTL,
        on_notification: NotificationHook | None = None,
        ssl_context: ssl.SSLContext | None = None,
        waiters: OrderWaiters | None = None,
        realm: str = "bwnumbers",
        store: OrderStore | None = None,
    ) -> None:
        if waiters is not None and store is not None and waiters.store is not store:
            raise ValidationError(
                "Give store= to the OrderWaiters you pass as waiters=, not to the receiver: "
                "the store belongs to the waiters."
            )
        check_both_or_neither(
            "username", username, "password", password, purpose="for the receiver"
        )
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValidationError(f"path={path!r} must start with '/'.")
        if public_url is not None:
            check_absolute_url("public_url", public_url)
        check_whole("max_body", max_body, minimum=1, unit="bytes")
        check_seconds("read_timeout", read_timeout)
        self.host = host
        self.port = port
        self.path = path
        self.username = username
        self.public_url = public_url
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.on_notification = on_notification
        self.waiters = (
            waiters
            if waiters is not None
            else OrderWaiters(
                unclaimed_limit=unclaimed_limit, unclaimed_ttl=unclaimed_ttl, store=store
            )
        )
        self._ssl_context = ssl_context
        self._credentials = (
            (username.encode(), password.encode())
            if username is not None and password is not None
            else None
        )
        # What Bandwidth sends when the credentials are right, for a one-comparison fast path.
        self._expected_header = (
            b"Basic " + base64.b64encode(b":".join(self._credentials))
            if self._credentials is not None
            else b""
        )
        self._challenge = {"WWW-Authenticate": f'Basic realm="{realm}"'}
        self._clock: Callable[[], float] = time.monotonic
        self._refused_since_warning = 0
        self._last_refusal_warning: float | None = None
        # True once callbacks can reach us: started, mounted into an app that started, or
        # handed a request or a notification. Until then an order can only finish by polling.
        self._receiving = False
        self._idle_warned = False
        self._hooks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        # The task of each connection our own server is serving (see stop()).
        self._connections: set[asyncio.Task[None]] = set()
        # Our own server hands us compressed bodies and we inflate them within max_body;
        # a server of the user's decompresses before we see the body (up to aiohttp's limit).
        self._inflate = False
        self._bound = False  # whether start() has bound host:port, the address url names
        self.app = web.Application()
        # aiohttp runs a mounted sub-app's startup signal with its parent's, so this also
        # tells us when a parent app serving receiver.app has started.
        self.app.on_startup.append(self._note_startup)
        # Signals of a mounted sub-app run with its parent's, so this also releases the
        # waiting orders when a parent app serving receiver.app shuts down (stop() too
        # gets here, through its runner's cleanup).
        self.app.on_cleanup.append(self._release)
        self.app.on_response_prepare.append(self._track_connection)
        self.app[RECEIVER_KEY] = self
        self.app.router.add_post(path, self.handle)

    def __repr__(self) -> str:
        auth = "basic" if self._credentials else "none"
        where = f"url={self.url!r}" if self.public_url or self._bound else f"path={self.path!r}"
        return f"<CallbackReceiver {where} auth={auth} waiting={len(self.waiters)}>"

    @property
    def store(self) -> OrderStore:
        """The journal of the orders waited for here: that of :attr:`waiters`."""
        return self.waiters.store

    @property
    def url(self) -> str:
        """The URL to give Bandwidth: *public_url*, or the bound address and path.

        Raises:
            RuntimeError: the receiver was never started and has no *public_url*, so its
                address is not known.
        """
        if self.public_url is not None:
            return self.public_url
        if not self._bound:
            raise RuntimeError(
                "The receiver has no URL before it is started: start it first (async with "
                "receiver), or give public_url= with the address Bandwidth should call when "
                "receiver.app is mounted into your own app or sits behind a proxy."
            )
        scheme = "https" if self._ssl_context else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{self.path}"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on *host*:*port*; *port* holds the real port afterwards."""
        if self._runner is not None:
            raise RuntimeError("The receiver is already running.")
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, auto_decompress=False
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self._ssl_context)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._inflate = True
        self._bound = True
        self.port = int(runner.addresses[0][1])
        log.info("Receiving Bandwidth callbacks at %s", self.url)

    async def stop(self) -> None:
        """Stop listening, finish pending hooks, and release every waiting order.

        No task of the receiver's own server outlives the call.
        """
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            # aiohttp's cleanup waits for the connections it knows and cancels what remains,
            # but it forgets a connection whose client left while aiohttp was still reading
            # ("lingering" on) the rest of a body answered unread (408, 413, 404...): that
            # task would read on for up to 10 s after stop(). What it cancels, it does not
            # await. So: cancel and await every connection task still running.
            leftovers = list(self._connections)
            for task in leftovers:
                task.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)
        await self._release()

    async def _release(self, _: web.Application | None = None) -> None:
        """Finish pending hooks and fail every waiting order; safe to run more than once."""
        # A hook may still be scheduled while we wait for the others.
        while pending := [hook for hook in self._hooks if not hook.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
        self.waiters.close()

    # ------------------------------------------------------------------ the endpoint

    def deliver(self, notification: Notification) -> None:
        """Hand over a notification received some other way (another web framework).

        Synchronous: the waiting order has it when this returns.
        """
        self._receiving = True
        self.waiters.deliver(notification)
        self._schedule_hook(notification)

    def polling_started(self) -> None:
        """An order waiting here fell back to polling: warn, once, if no callback can reach
        this receiver (it was never started, mounted into an app that started, or handed a
        notification)."""
        if self._receiving or self._idle_warned:
            return
        self._idle_warned = True
        log.warning(
            "The CallbackReceiver at %s was never started, mounted into an aiohttp app that "
            "started, or handed a notification, so no callback can reach it and orders finish "
            "only by polling GET /orders (3 s or more each). Start it (async with receiver), "
            "mount receiver.app, or pass notifications to receiver.deliver().",
            self.public_url or self.path,
        )

    def _schedule_hook(self, notification: Notification) -> None:
        if self.on_notification is not None:
            task = asyncio.ensure_future(self._run_hook(notification))
            self._hooks.add(task)
            task.add_done_callback(self._hooks.discard)

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler: 401 challenge, 413, 408, 400 or 200. Never raises."""
        self._receiving = True
        try:
            if self._credentials is not None and not self._authorized(request):
                if "Authorization" in request.headers:  # not the challenge's first try
                    self._note_refused_credentials()
                return web.Response(status=401, headers=self._challenge)
            try:
                body = await self._read(request)
            except _TooLarge:
                return web.Response(status=413, text="body too large")
            except _UnsupportedEncoding:
                return web.Response(status=415, text="unsupported Content-Encoding")
            except TimeoutError:
                log.warning("A callback body did not arrive within %.1f s", self.read_timeout)
                return web.Response(status=408, text="body too slow")
            try:
                notification = parse_notification(body)
            except DecodeError as exc:
                log.warning("Rejected a callback that is not a notification: %s", exc)
                return web.Response(status=400, text="not a Bandwidth notification")
            log.debug(
                "Notification %s for order %s (customer order id %s)",
                notification.status,
                notification.order_id,
                notification.customer_order_id,
            )
            await self.waiters.adeliver(notification)
            self._schedule_hook(notification)
            return web.Response(status=200)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug of ours must not become a 5xx: Bandwidth only records the answer anyway.
            log.exception("Failed to process a Bandwidth callback")
            return web.Response(status=400, text="could not process the notification")

    async def _note_startup(self, _: web.Application) -> None:
        self._receiving = True

    def _note_refused_credentials(self) -> None:
        """Warn, at most once a minute, that callbacks came with wrong credentials.

        Bandwidth sends a notification a second time only to answer the 401 challenge; when
        that authenticated try is refused too, the notification is lost for good.
        """
        self._refused_since_warning += 1
        now = self._clock()
        last = self._last_refusal_warning
        if last is not None and now - last < REFUSED_CREDENTIALS_WARNING_INTERVAL:
            return
        refused = (
            "a callback"
            if last is None
            else f"{self._refused_since_warning} callback(s) in the {now - last:.0f} s since "
            "the last warning"
        )
        log.warning(
            "Refused %s with wrong Basic credentials at %s: Bandwidth never sends those "
            "notifications again, so their orders finish only by polling. Call "
            "client.ensure_subscription(url, username=..., password=...) with this receiver's "
            "username (%s) and password.",
            refused,
            self.public_url or self.path,
            self.username,
        )
        self._refused_since_warning = 0
        self._last_refusal_warning = now

    async def _track_connection(self, request: web.Request, _: web.StreamResponse) -> None:
        """Remember the task of each connection our own server answers on, for :meth:`stop`.

        A response signal rather than a middleware: both see every answer, 404s and 405s
        included, but a middleware would make every callback pay for aiohttp's middleware
        machinery.
        """
        # Only when this app is the root one, not when it is mounted into someone else's app.
        if request.match_info.apps[0] is self.app and request.task not in self._connections:
            self._connections.add(request.task)
            request.task.add_done_callback(self._connections.discard)

    def _authorized(self, request: web.Request) -> bool:
        assert self._credentials is not None
        header = request.headers.get("Authorization", "")
        try:
            if hmac.compare_digest(header.encode("latin-1"), self._expected_header):
                return True
        except UnicodeEncodeError:
            return False
        # Not the canonical form: parse it (scheme case, padding...) and compare the parts.
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip().encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return False
        username, colon, password = decoded.partition(b":")
        expected_user, expected_password = self._credentials
        # Compare both parts every time, so timing says nothing about which one was wrong.
        user_ok = hmac.compare_digest(username, expected_user)
        password_ok = hmac.compare_digest(password, expected_password)
        return bool(colon) and user_ok and password_ok

    async def _read(self, request: web.Request) -> bytes:
        """The body, at most *max_body* bytes once inflated, within *read_timeout*."""
        if request.content_length is not None and request.content_length > self.max_body:
            raise _TooLarge
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        inflater = None
        if self._inflate and encoding != "identity":
            if encoding not in _ZLIB_WBITS:
                raise _UnsupportedEncoding
            inflater = zlib.decompressobj(_ZLIB_WBITS[encoding])
        known_size = encoding == "identity" and request.content_length is not None
        if known_size and request.content.is_eof():
            return await request.read()  # all of it has arrived already: nothing to wait for
        async with asyncio.timeout(self.read_timeout):
            if known_size:
                return await request.read()  # a small body of known size
            return await self._read_chunks(request, inflater)

    async def _read_chunks(self, request: web.Request, inflater: zlib._Decompress | None) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(16 * 1024):
            if inflater is not None:
                try:
                    # max_length bounds what one small chunk of a bomb can expand to.
                    chunk = inflater.decompress(chunk, self.max_body - size + 1)
                except zlib.error:
                    return b""  # not valid compressed data: decodes as an empty body
                if inflater.unconsumed_tail:
                    raise _TooLarge
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def _run_hook(self, notification: Notification) -> None:
        assert self.on_notification is not None
        try:
            result = self.on_notification(notification)
            if result is not None:
                await result
        except Exception:
            log.exception("on_notification hook failed for order %s", notification.order_id)


#: Where ``receiver.app`` keeps its :class:`CallbackReceiver` (``app[RECEIVER_KEY]``).
RECEIVER_KEY: Final = web.AppKey("bwnumbers_receiver", CallbackReceiver)
