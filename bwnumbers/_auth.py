"""How :class:`NumbersClient` proves who it is: OAuth 2.0 client credentials (the default),
an access token the user provides, or the legacy API-user password (HTTP Basic).

Bandwidth decommissions API users on 2026-12-02; from then on client credentials are the only
way in. Each way is an :class:`Authenticator`: it gives the ``Authorization`` value for the
next request and, after a 401, a new one when it can (see :mod:`bwnumbers._tokens`).
"""

from __future__ import annotations

import base64
import inspect
import json
import math
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import urlsplit

from . import _retry, _transport
from ._checks import is_number
from ._exceptions import (
    APIError,
    AuthenticationError,
    DecodeError,
    ServerError,
    ValidationError,
)
from ._ratelimit import RateGate
from ._retry import RetryPolicy
from ._tokens import AccessToken, TokenCache
from ._transport import Request, Transport

__all__ = [
    "BANDWIDTH_TOKEN_URL",
    "Authenticator",
    "TokenProvider",
    "choose",
    "default_token_url",
]

BANDWIDTH_TOKEN_URL: Final = "https://api.bandwidth.com/api/v1/oauth2/token"  # noqa: S105 - a URL
# Bandwidth's test environment has its own token endpoint (the `band` CLI's "test" and "uat").
_TEST_HOST: Final = "test.api.bandwidth.com"
_TOKEN_PATH: Final = "/api/v1/oauth2/token"  # noqa: S105 - a path
# Bandwidth does not document the lifetime; every official client assumes one hour.
DEFAULT_LIFETIME: Final = 3600.0
DECOMMISSIONED: Final = "2026-12-02"
BASIC_DEPRECATION: Final = (
    "Bandwidth API users (username= and password=, HTTP Basic) are deprecated and stop working "
    f"on {DECOMMISSIONED}; create OAuth 2.0 client credentials in the Bandwidth App and pass "
    "client_id= and client_secret= (or set BW_CLIENT_ID and BW_CLIENT_SECRET)."
)

TokenProvider = Callable[[], Awaitable[tuple[str, float]]]
"""An async callable returning ``(access_token, seconds_left)``, e.g. from a vault or sidecar."""


class Authenticator(Protocol):
    """One way of authenticating the API requests of a client."""

    def describe(self) -> str:
        """Which credentials are in use, for messages: never a secret."""
        ...

    def refused(self, where: str) -> str:
        """The sentence for a 401 that no new token cured: the credentials and what to check.

        *where* names the account and the API (``account 9900000 at base_url='...'``).
        """
        ...

    async def authorization(self) -> str:
        """The ``Authorization`` value for the next request."""
        ...

    async def renew(self, refused: str) -> str | None:
        """After a 401 to *refused*: a new value to re-send with once, or ``None``."""
        ...

    async def token(self) -> AccessToken | None:
        """The access token in use, obtained now if needed; ``None`` for Basic."""
        ...

    async def aclose(self) -> None: ...


def default_token_url(base_url: str) -> str:
    """Where client credentials are exchanged for a token, given the API's *base_url*.

    Bandwidth's hosts use Bandwidth's token endpoint (the test environment its own); any
    other host (the emulator, a proxy) is asked at the same scheme, host and port.
    """
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host == _TEST_HOST:
        return f"https://{_TEST_HOST}{_TOKEN_PATH}"
    if host == "bandwidth.com" or host.endswith(".bandwidth.com"):
        return BANDWIDTH_TOKEN_URL
    return f"{parts.scheme}://{parts.netloc}{_TOKEN_PATH}"


def basic_value(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _usable_token(value: object) -> bool:
    # A token goes into a header: printable ASCII without spaces (a JWT is base64url and dots).
    return (
        isinstance(value, str)
        and bool(value)
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


class _Basic:
    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._value = basic_value(username, password)

    def describe(self) -> str:
        return f"API user {self._username!r} (legacy HTTP Basic)"

    def refused(self, where: str) -> str:
        return (
            f"The request used {self.describe()}: check its user name and password and that it "
            f"may use {where}; API users stop working on {DECOMMISSIONED}, so switch to "
            "client_id= and client_secret=."
        )

    async def authorization(self) -> str:
        return self._value

    async def renew(self, refused: str) -> str | None:
        return None

    async def token(self) -> AccessToken | None:
        return None

    async def aclose(self) -> None:
        return None


class _StaticToken:
    def __init__(self, value: str) -> None:
        self._token = AccessToken(
            value=value, lifetime=math.inf, expires_at=math.inf, refresh_at=math.inf
        )
        self._value = "Bearer " + value

    def describe(self) -> str:
        return "a static access token"

    def refused(self, where: str) -> str:
        return (
            f"The request used {self.describe()}, which bwnumbers never refreshes: check that "
            f"it has not expired and was issued for {where}, or pass access_token= an async "
            "callable, or client_id= and client_secret=, so that tokens are renewed."
        )

    async def authorization(self) -> str:
        return self._value

    async def renew(self, refused: str) -> str | None:
        return None

    async def token(self) -> AccessToken | None:
        return self._token

    async def aclose(self) -> None:
        return None


class _Refreshing:
    """Bearer tokens from a :class:`TokenCache`, renewed once after a 401."""

    def __init__(self, cache: TokenCache, described: str, refused: Callable[[str], str]) -> None:
        self._cache = cache
        self._described = described
        self._refused = refused

    def __repr__(self) -> str:
        return f"<bearer tokens of {self._described}, {self._cache!r}>"

    def describe(self) -> str:
        return self._described

    def refused(self, where: str) -> str:
        return self._refused(where)

    async def authorization(self) -> str:
        return "Bearer " + (await self._cache.get()).value

    async def renew(self, refused: str) -> str | None:
        return "Bearer " + (await self._cache.renew(refused.removeprefix("Bearer "))).value

    async def token(self) -> AccessToken | None:
        return await self._cache.get()

    async def aclose(self) -> None:
        await self._cache.aclose()


def _from_provider(provider: TokenProvider) -> TokenCache:
    async def source() -> tuple[str, float]:
        result = await provider()
        token, seconds = result if isinstance(result, tuple) and len(result) == 2 else (None, 0)
        if not _usable_token(token) or not _positive_number(seconds):
            raise ValidationError(
                "The access_token callable must return (token, seconds_left): a non-empty "
                "token without spaces and a number of seconds > 0."
            )
        assert isinstance(token, str)
        return token, float(seconds)

    return TokenCache(source, what="the access_token callable")


def _positive_number(value: object) -> bool:
    return is_number(value) and value > 0


class ClientCredentials:
    """Fetches tokens from the OAuth 2.0 token endpoint with client credentials.

    ``POST token_url`` with ``Authorization: Basic base64(client_id:client_secret)`` and
    ``grant_type=client_credentials``, as every Bandwidth client does; no scope.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        token_url: str,
        transport: Callable[[], Transport],
        timeout: float,
        retry: RetryPolicy,
        user_agent: str,
    ) -> None:
        self.client_id = client_id
        self.token_url = token_url
        self._transport = transport
        self._timeout = timeout
        self._retry = retry
        self._headers = {
            "Authorization": basic_value(client_id, client_secret),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        self._path = urlsplit(token_url).path
        self._label = f"POST {self._path}"
        # The token endpoint is in no rate-limit group; a 429 from it closes a gate of its own.
        self._gate = RateGate()

    def __repr__(self) -> str:
        return f"<ClientCredentials client_id={self.client_id!r} token_url={self.token_url!r}>"

    async def __call__(self) -> tuple[str, float]:
        """Ask the token endpoint for a token; return it with its lifetime in seconds."""
        response = await _retry.with_retries(
            self._send,
            self._error,
            policy=self._retry,
            idempotent=True,
            label=self._label,
            gate=self._gate,
            group="POST token",
        )
        return self._decode(response)

    async def _send(self) -> _transport.Response:
        request = Request(
            method="POST",
            url=self.token_url,
            path=self._path,
            headers=self._headers,
            body=b"grant_type=client_credentials",
            timeout=self._timeout,
            setting="token_url",
        )
        return await self._transport().send(request)

    def _error(self, response: _transport.Response) -> APIError:
        # A 429 never gets here: with_retries waits for the rate limit before mapping errors.
        status = response.status
        description = _oauth_error(response.body) or _transport.reason(status)
        fields = {"status": status, "code": None, "description": description,
                  "body": response.body, "method": "POST", "path": self.token_url}  # fmt: skip
        if status >= 500:
            return ServerError(
                message=f"The token endpoint {self.token_url} answered HTTP {status} "
                f"({description}); Bandwidth may be having trouble: try again later.",
                **fields,  # type: ignore[arg-type]
            )
        if status == 404:
            problem = (
                f"The token URL {self.token_url} does not exist (HTTP 404): check token_url= "
                "(or BW_TOKEN_URL) and base_url="
            )
        else:
            problem = (
                f"Bandwidth refused the client credentials of client id {self.client_id!r} at "
                f"{self.token_url} (HTTP {status}: {description}): check the client id and "
                "secret (BW_CLIENT_ID and BW_CLIENT_SECRET)"
            )
        return AuthenticationError(message=problem + ".", **fields)  # type: ignore[arg-type]

    def _decode(self, response: _transport.Response) -> tuple[str, float]:
        # The body holds the token: it is never kept in the DecodeError or logged.
        where = f"The token endpoint {self.token_url} answered HTTP {response.status} but"
        try:
            document = json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            raise DecodeError(
                f"{where} its body is not JSON ({len(response.body)} bytes of "
                f"{response.headers.get('Content-Type', 'no content type')})."
            ) from None
        if not isinstance(document, dict) or not _usable_token(document.get("access_token")):
            raise DecodeError(f"{where} its JSON holds no usable access_token.")
        token_type = document.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise DecodeError(f"{where} the token type is not bearer.")
        lifetime = document.get("expires_in", DEFAULT_LIFETIME)
        if isinstance(lifetime, str):
            try:
                lifetime = float(lifetime)
            except ValueError:
                pass
        if not _positive_number(lifetime) or not math.isfinite(lifetime):
            raise DecodeError(f"{where} its expires_in is not a number of seconds > 0.")
        return document["access_token"], float(lifetime)


def _oauth_error(body: bytes) -> str | None:
    """RFC 6749 §5.2 ``error`` and ``error_description``, when the body has them."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("error"), str):
        return None
    described = document.get("error_description")
    if isinstance(described, str) and described.strip():
        return f"{document['error']}: {described.strip()}"
    return str(document["error"])


def choose(
    *,
    client_id: str | None,
    client_secret: str | None,
    access_token: str | TokenProvider | None,
    username: str | None,
    password: str | None,
    credentials: Callable[[str, str], ClientCredentials],
) -> Authenticator:
    """The one way to authenticate that the arguments give, or a :class:`ValidationError`."""
    ways = [
        name
        for name, given in (
            ("client_id=/client_secret=", client_id is not None or client_secret is not None),
            ("access_token=", access_token is not None),
            ("username=/password=", username is not None or password is not None),
        )
        if given
    ]
    if len(ways) != 1:
        found = "none" if not ways else " and ".join(ways)
        raise ValidationError(
            "Give exactly one way to authenticate: client_id= and client_secret= (OAuth 2.0 "
            f"client credentials), access_token=, or the legacy username= and password=; got "
            f"{found}."
        )
    if client_id is not None or client_secret is not None:
        _pair("client_id", client_id, "client_secret", client_secret)
        assert client_id is not None
        assert client_secret is not None
        fetcher = credentials(client_id, client_secret)
        return _Refreshing(
            TokenCache(fetcher, what=f"client id {client_id!r}"),
            f"client id {client_id!r}",
            lambda where: (
                f"The request used client id {client_id!r}, and Bandwidth refused its freshly "
                f"issued access token: check that the client may use {where} and that "
                f"token_url={fetcher.token_url!r} is in the same Bandwidth environment."
            ),
        )
    if access_token is not None:
        if isinstance(access_token, str):
            if not _usable_token(access_token):
                raise ValidationError("access_token= must be a non-empty token without spaces.")
            return _StaticToken(access_token)
        if not callable(access_token):
            raise ValidationError(
                "access_token= takes a token string or an async callable returning "
                "(token, seconds_left)."
            )
        return _Refreshing(
            _from_provider(access_token),
            "an access-token callable",
            lambda where: (
                "The request used an access-token callable, and Bandwidth refused its token "
                "twice (it was asked for a new one after the first 401): check what it returns "
                f"and that its tokens are for {where}."
            ),
        )
    _pair("username", username, "password", password)
    assert username is not None
    warnings.warn(BASIC_DEPRECATION, DeprecationWarning, stacklevel=_caller_stacklevel())
    assert password is not None
    return _Basic(username, password)


def _pair(first: str, first_value: object, second: str, second_value: object) -> None:
    for name, value in ((first, first_value), (second, second_value)):
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{name}= is missing or empty: give both {first}= and {second}=.")


_PACKAGE = str(Path(__file__).parent)


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside bwnumbers, so a warning names the caller."""
    caller = inspect.currentframe()
    frame = caller.f_back if caller is not None else None  # the frame that calls warn()
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level if frame is not None else 1
