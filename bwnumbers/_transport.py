"""One HTTP exchange: send a request, read a bounded body, turn aiohttp's failures into ours.

Both the API requests of :class:`NumbersClient` and the OAuth token request go through
:func:`exchange`, so timeouts, the body limit and the rule that no exception may chain to
aiohttp's ``request_info`` (whose headers carry ``Authorization``) live in one place.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Final
from urllib.parse import urlsplit

import aiohttp
import attrs

from ._exceptions import TransportError, ValidationError

__all__ = ["MAX_RESPONSE_BYTES", "Response", "check_url", "exchange", "reason"]

log = logging.getLogger("bwnumbers.client")

MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024


@attrs.frozen
class Response:
    """A complete HTTP answer: status, headers and the whole (bounded) body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, where plain http is harmless."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(name: str, url: str, *, example: str, allow_insecure_http: bool) -> str:
    """Refuse a URL that would send credentials where they must not go; strip a final slash.

    The API and token URLs both carry secrets (a token, or the client secret), so both must be
    https, or plain http to loopback, unless the caller explicitly allows otherwise.
    """
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{name}={url!r} is not an http(s) URL such as {example!r}.")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            f"{name} must not contain credentials; pass them as keyword arguments instead."
        )
    if parts.query or parts.fragment:
        raise ValidationError(f"{name} must not have a query string or fragment.")
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure_http:
        raise ValidationError(
            f"{name} uses plain http:// for {parts.hostname}, which would send your "
            "credentials unencrypted; use https:// or pass allow_insecure_http=True."
        )
    return url.rstrip("/")


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    label: str,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: aiohttp.ClientTimeout,
    ssl_context: ssl.SSLContext | bool,
) -> Response:
    """Send one request and read the whole answer, or raise :class:`TransportError`.

    *label* (``"GET /orders/{id}"``) names the request in logs and messages; it never holds a
    credential, and neither does anything raised from here.
    """
    path = label.partition(" ")[2]
    started = time.perf_counter()
    failure: TransportError | None = None
    try:
        async with session.request(
            method,
            url,
            params=params,
            data=body,
            headers=headers,
            timeout=timeout,
            ssl=ssl_context,
            allow_redirects=False,
        ) as response:
            data = await _read_bounded(response)
            result = Response(response.status, dict(response.headers), data)
    except (aiohttp.ClientSSLError, aiohttp.InvalidURL) as exc:
        failure = TransportError(f"{label} failed: {_describe(exc)}.", method=method, path=path)
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        failure = TransportError(
            f"Could not connect to Bandwidth for {label}: {_describe(exc)}.",
            method=method,
            path=path,
            request_sent=False,
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        failure = TransportError(
            f"{label} got no complete answer: {_describe(exc)}.", method=method, path=path
        )
    if failure is not None:
        # Raised outside the except block on purpose: aiohttp's response errors carry
        # request_info, whose headers include Authorization; nothing may chain to them.
        log.debug("%s failed after %.1f ms: %s", label, _ms(started), failure)
        raise failure
    log.debug("%s -> %d in %.1f ms", label, result.status, _ms(started))
    return result


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
