"""One HTTP exchange: send a request, read a bounded body, turn aiohttp's failures into ours.

Both the API requests of :class:`NumbersClient` and the OAuth token request go through a
:class:`Transport`, so timeouts, the body limit and the rule that no exception may chain to
aiohttp's ``request_info`` (whose headers carry ``Authorization``) live in one place. The
client takes any object with the one method :meth:`Transport.send` (its private
``_transport=`` argument), which is how tests check request building and response handling
without patching aiohttp.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Final, Protocol
from urllib.parse import urlsplit

import aiohttp
import attrs

from ._exceptions import TransportError

__all__ = [
    "MAX_RESPONSE_BYTES",
    "AiohttpTransport",
    "Request",
    "Response",
    "Transport",
    "reason",
]

log = logging.getLogger("bwnumbers.client")

MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024


@attrs.frozen
class Response:
    """A complete HTTP answer: status, headers and the whole (bounded) body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@attrs.frozen(kw_only=True)
class Request:
    """One HTTP request, complete with its credentials, as the client hands it to a transport.

    *path* (``/orders/{id}``, never with a query) names the request in logs and messages,
    which never hold a credential; *setting* names the argument the URL came from
    (``base_url`` or ``token_url``), for messages saying what to check.
    """

    method: str
    url: str
    path: str
    headers: Mapping[str, str] = attrs.field(repr=False)  # Authorization: never in a repr
    params: Mapping[str, str] | None = None
    body: bytes | None = attrs.field(default=None, repr=False)
    timeout: float
    connect_timeout: float | None = None
    setting: str = "base_url"

    @property
    def label(self) -> str:
        """``"GET /orders/{id}"``: how logs and messages name the request."""
        return f"{self.method} {self.path}"


class Transport(Protocol):
    """What sends a :class:`Request`: returns any complete :class:`Response`, whatever its
    status, and raises :class:`TransportError` when there is none."""

    async def send(self, request: Request) -> Response: ...


class AiohttpTransport:
    """The :class:`Transport` of every client: one ``aiohttp`` request per :meth:`send`.

    It uses the *session* it is given and never closes it, or creates its own on first use
    (inside a coroutine, so that it binds to the running loop) and closes it in :meth:`aclose`.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        ssl_context: ssl.SSLContext | bool = True,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._ssl = ssl_context

    def session(self) -> aiohttp.ClientSession:
        """The session requests go through, created on first use when none was given."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def aclose(self) -> None:
        """Close the session this transport created; a given one stays open."""
        session, self._session = self._session, None
        if self._owns_session and session is not None:
            await session.close()

    async def send(self, request: Request) -> Response:
        """Send *request* and read the whole answer, or raise :class:`TransportError`."""
        started = time.perf_counter()
        timeout = aiohttp.ClientTimeout(total=request.timeout, connect=request.connect_timeout)
        failure: TransportError | None = None
        try:
            async with self.session().request(
                request.method,
                request.url,
                params=request.params,
                data=request.body,
                headers=request.headers,
                timeout=timeout,
                ssl=self._ssl,
                allow_redirects=False,
            ) as response:
                data = await _read_bounded(response)
                result = Response(response.status, dict(response.headers), data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = _failure(exc, request, timeout)
        if failure is not None:
            # Raised outside the except block on purpose: aiohttp's response errors carry
            # request_info, whose headers include Authorization; nothing may chain to them.
            log.debug("%s failed after %.1f ms: %s", request.label, _ms(started), failure)
            raise failure
        log.debug("%s -> %d in %.1f ms", request.label, result.status, _ms(started))
        return result


def _failure(
    exc: BaseException, request: Request, timeout: aiohttp.ClientTimeout
) -> TransportError:
    """The :class:`TransportError` for *exc*: where, what failed, and what to check.

    The address comes from the URL, not from aiohttp's message, which says "ssl:default" even
    for plain http; TLS is mentioned only when the failure was in TLS.
    """
    label, setting = request.label, request.setting
    parts = urlsplit(request.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = f"{parts.hostname}:{port}"
    request_sent = True
    hint = "Try again later; if it keeps happening, check any proxy in between."
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        verify = getattr(exc.certificate_error, "verify_message", None)
        message = (
            f"The TLS handshake with {address} failed for {label}: the server's certificate "
            f"was not accepted ({verify or exc.certificate_error})"
        )
        hint = (
            f"Check that {setting}= names the host of the server's certificate, and pass "
            "ssl_context= trusting its CA if it uses a private one."
        )
    elif isinstance(exc, aiohttp.ClientSSLError):
        message = f"The TLS handshake with {address} failed for {label}: {_ssl_reason(exc)}"
        hint = (
            f"Check that {address} speaks https (a plain-http server needs http:// in "
            f"{setting}=) and the ssl_context= you passed, if any."
        )
    elif isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        reason, hint = _connect_reason(exc, address, setting, timeout)
        message = f"Could not connect to {address} for {label}: {reason}"
        request_sent = False
    elif isinstance(exc, aiohttp.InvalidURL):
        message = f"{label} was not sent: the URL is invalid ({exc})"
        hint = f"Check {setting}=."
        request_sent = False
    elif isinstance(exc, TimeoutError):
        message = f"{label} to {address} got no complete answer within {_seconds(timeout.total)}"
        hint = "The server may be slow or overloaded: try again later, or raise timeout=."
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        message = (
            f"{label} to {address} got no complete answer: the server closed the connection "
            "without answering"
        )
    else:
        message = f"{label} to {address} got no complete answer: {_describe(exc)}"
    return TransportError(
        message,
        method=request.method,
        path=request.path,
        request_sent=request_sent,
        address=address,
        hint=hint,
    )


def _connect_reason(
    exc: aiohttp.ClientError, address: str, setting: str, timeout: aiohttp.ClientTimeout
) -> tuple[str, str]:
    """Why a connection failed, in words, and what to check."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return (
            f"no connection within {_seconds(timeout.connect or timeout.total)}",
            f"Check {setting}= and any firewall or proxy between here and {address}.",
        )
    os_error = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else None
    if _is_dns_failure(exc):
        cause = f' with "{os_error.strerror}"' if os_error is not None and os_error.strerror else ""
        host = address.rpartition(":")[0]
        return (
            f"the DNS lookup of {host} failed{cause}",
            f"Check the host in {setting}= and this machine's DNS.",
        )
    if isinstance(os_error, ConnectionRefusedError):
        return (
            "connection refused",
            f"Check {setting}= and that the server is running and listening on {address}.",
        )
    if os_error is not None and os_error.errno is not None:
        reason = os.strerror(os_error.errno).lower()
    else:
        reason = str(os_error or exc) or type(exc).__name__
    return reason, f"Check {setting}= and that {address} can be reached from this machine."


def _is_dns_failure(exc: BaseException) -> bool:
    # aiohttp has a class of its own for DNS failures only from 3.11; the floor is 3.10.
    dns_error: type[BaseException] | None = getattr(aiohttp, "ClientConnectorDNSError", None)
    return dns_error is not None and isinstance(exc, dns_error)


def _ssl_reason(exc: aiohttp.ClientSSLError) -> str:
    reason = getattr(exc.os_error, "reason", None)
    return f"OpenSSL reported {reason}" if reason else str(exc.os_error or exc)


def _seconds(value: float | None) -> str:
    return f"{value:g} s" if value else "the timeout"


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


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def reason(status: int) -> str:
    """The reason phrase of an HTTP status, for errors whose body says nothing."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "unexpected status"
