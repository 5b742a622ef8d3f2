"""HTTP plumbing of the emulator: error answers, XML bodies, and the middleware in front of the API.

The middleware does what Bandwidth's gateway does before a route runs: authentication (HTTP
Basic or an OAuth 2.0 Bearer token,
https://dev.bandwidth.com/docs/account/credentials/management ), the account check, rate limits
(429 with ``X-RateLimit-Reset``, https://new.dev.bandwidth.com/numbers/rateLimits.html ) and
the slow-answer fault.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hmac
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from bwnumbers.testing import _ratelimit as ratelimit
from bwnumbers.testing import _wire as wire
from bwnumbers.testing._tokens import TOKEN_PATH, TokenIssuer

from ._context import Context

__all__ = [
    "API_ROOTS",
    "XML",
    "Guard",
    "Refusal",
    "links",
    "listing_response",
    "location",
    "order_error",
    "query_day",
    "read_xml",
    "xml_response",
]

log = logging.getLogger("bwnumbers.emulator")

XML = "application/xml"

API_ROOTS = ("/api", "/api/v1")
"""Where the API answers: below ``/api`` (the root clients have always been given) and below
``/api/v1``, the server URL of Bandwidth's published specification
(``https://dashboard.bandwidth.com/api/v1``). Both serve the same routes and the same state."""
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refusal(Exception):
    """An API error answer: HTTP status and body. The middleware turns it into the response."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def order_error(status: int, code: int, description: str) -> Refusal:
    """An ``<OrderResponse>`` error, as the orders endpoints give them."""
    root = wire.element("OrderResponse", wire.error_list([(code, description, None)]))
    return Refusal(status, wire.document(root))


def xml_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(status=status, body=body, content_type=XML, headers=headers)


async def read_xml(request: web.Request, root: str, refusal: Callable[[str], Refusal]) -> wire.Node:
    """The request's XML body, whose root must be *root*; *refusal* words a parse error."""
    if request.content_type not in ("application/xml", "text/xml"):
        raise Refusal(
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


_DAY = re.compile(r"(\d{2}|\d{4})-(\d{2})-(\d{2})")


def query_day(text: str) -> dt.date:
    """A date query parameter as Bandwidth's listings take it: ``YYYY-MM-DD``, or the
    specification's ``YY-MM-DD`` (read as 20YY).

    Raises:
        ValueError: not such a date; each listing refuses it with its own error answer.
    """
    found = _DAY.fullmatch(text)
    if found is None:
        raise ValueError(text)
    year, month, day = (int(part) for part in found.groups())
    return dt.date(year + 2000 if year < 100 else year, month, day)


def api_root(request: web.Request) -> str:
    """The root of :data:`API_ROOTS` that *request* came in below."""
    return next(
        (root for root in reversed(API_ROOTS) if request.path.startswith(f"{root}/")), "/api"
    )


def location(request: web.Request, account_id: str, kind: str, item_id: str) -> str:
    """The ``Location`` of a created item, on the scheme, host and API root the client used."""
    root = api_root(request)
    return f"{request.scheme}://{request.host}{root}/accounts/{account_id}/{kind}/{item_id}"


def listing_response(
    request: web.Request,
    *,
    total: int,
    size: int,
    next_page: str | None,
    rows: Iterable[wire.Node],
) -> web.Response:
    """A page of an order-like listing (``GET /orders``, ``GET /disconnects``), as Bandwidth
    writes both: ``ResponseSelectWrapper/ListOrderIdUserIdDate`` holding the ``TotalCount`` of
    every match, the ``Links`` (first page ``"1"``) and the page's rows."""
    root = wire.element(
        "ResponseSelectWrapper",
        wire.element(
            "ListOrderIdUserIdDate",
            wire.element("TotalCount", text=total),
            links(request, size=size, first="1", next_page=next_page),
            *rows,
        ),
    )
    return xml_response(wire.document(root))


def links(request: web.Request, *, size: int, first: str, next_page: str | None) -> wire.Node:
    """``<Links>`` with ``first`` (and ``next`` when there is one) as Bandwidth writes them:
    ``Link=<url>;rel="next";``, XML-escaped, on this emulator's own URL, every filter of the
    request kept and only ``page`` and ``size`` changed."""
    filters = [(k, v) for k, v in request.query.items() if k not in ("page", "size")]

    def link(page: str, rel: str) -> wire.Node:
        query = urllib.parse.urlencode([*filters, ("page", page), ("size", str(size))])
        url = f"{request.scheme}://{request.host}{request.path}?{query}"
        return wire.element(rel, text=f'Link=<{url}>;rel="{rel}";')

    return wire.element(
        "Links", link(first, "first"), None if next_page is None else link(next_page, "next")
    )


class Guard:
    """The API middleware: authentication, the account check, rate limits, the delay fault.

    Args:
        context: the emulator's shared state (account and faults).
        tokens: the token issuer that checks Bearer tokens.
        limiter: the per-account rate limits.
        username, password: the account's Basic credentials.
        legacy_basic_auth: accept them (change :attr:`legacy_basic_auth` at any time).
    """

    def __init__(
        self,
        context: Context,
        tokens: TokenIssuer,
        limiter: ratelimit.RateLimiter,
        *,
        username: str,
        password: str,
        legacy_basic_auth: bool,
    ) -> None:
        self._context = context
        self._tokens = tokens
        self._limiter = limiter
        self._expected_auth = base64.b64encode(f"{username}:{password}".encode())
        self.legacy_basic_auth = legacy_basic_auth

    def authorized(self, request: web.Request) -> bool:
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
    async def middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path == TOKEN_PATH:
            # Like Bandwidth's, the token endpoint authenticates clients itself and is neither
            # rate limited nor slowed by the API's faults.
            return await handler(request)
        try:
            return await self._guarded(request, handler)
        except Refusal as refusal:
            return xml_response(refusal.body, refusal.status)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return web.Response(
                status=exc.status,
                body=wire.error_response(exc.reason or "Error"),
                content_type=XML,
                headers={k: v for k, v in exc.headers.items() if k == "Allow"},
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Emulator bug while serving %s %s", request.method, request.path)
            return xml_response(
                wire.error_response("Internal Server Error. Please try again.", 1000), 500
            )

    async def _guarded(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if self._context.faults.response_delay:
            await asyncio.sleep(self._context.faults.response_delay)
        faults = self._context.faults  # read after the delay: a test may have replaced them
        if not self.authorized(request):
            raise Refusal(401, wire.error_response("Access Denied", 1001))
        account = request.match_info.get("account_id")
        if account is not None and account != self._context.account_id:
            raise Refusal(
                403, wire.error_response("The user is not authorized for this action", 1001)
            )
        if faults.rate_limit_next > 0:
            faults.rate_limit_next -= 1
            now = ratelimit.clock()
            return xml_response(
                wire.error_response("Too many requests; the request was not executed"),
                429,
                ratelimit.reset_headers(
                    faults.rate_limit_header, now + faults.rate_limit_reset, now
                ),
            )
        group = ratelimit.endpoint_group(request)
        reset_at = self._limiter.take(account or self._context.account_id, group)
        if reset_at is not None:
            log.debug("Rate limit of %s reached; resets at %d", group, reset_at)
            headers = ratelimit.reset_headers(faults.rate_limit_header, reset_at, ratelimit.clock())
            return web.Response(status=429, headers=headers)
        return await handler(request)
