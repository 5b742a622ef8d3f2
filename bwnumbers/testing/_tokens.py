"""OAuth 2.0 client credentials for the emulator: the token endpoint and the Bearer check.

Bandwidth retires HTTP Basic "API users" on 2026-12-02; from then on every client first trades
its client id and secret for a short-lived JWT at ``POST /api/v1/oauth2/token`` and sends it as
``Authorization: Bearer``
(https://dev.bandwidth.com/docs/account/credentials/management). The wire shape here is the
consensus of Bandwidth's official clients: client authentication with HTTP Basic only, a form
body of ``grant_type=client_credentials``, and
``{"access_token", "expires_in", "token_type": "bearer"}``.
Bandwidth documents no error body, so errors follow RFC 6749 §5.2; that, the realm and the roles
below are *assumed*.

Tokens are HS256 JWTs signed with a key that lives and dies with one emulator, so a token from
another emulator (or a previous run) never verifies. Each token's id (``jti``) is also kept with
its deadline, which is what makes "revoke everything issued so far" exact and lets sub-second
lifetimes work although the ``exp`` claim, like any JWT's, is in whole seconds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import urllib.parse
from typing import Literal

from aiohttp import web

__all__ = ["ROLES", "TOKEN_PATH", "TokenFailure", "TokenIssuer"]

log = logging.getLogger("bwnumbers.emulator")

TOKEN_PATH = "/api/v1/oauth2/token"  # noqa: S105 - a URL path, not a password
"""Where Bandwidth serves tokens, at the root of the API host (not under ``/api/accounts``)."""

ROLES: tuple[str, ...] = ("Numbers",)
"""The ``roles`` claim (assumed): the only role name in evidence is "Numbers", from the hint the
``band`` CLI prints on a 403 from number search."""

REALM = "Bandwidth OAuth2"
"""The ``WWW-Authenticate`` realm of an ``invalid_client`` answer (assumed)."""

TokenFailure = Literal["503", "timeout"]

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
# Tokens whose signature and claims were verified, by their exact string; see TokenIssuer._check.
_VERIFIED_MAX = 1024
_HEADER = {"alg": "HS256", "typ": "JWT"}
_FORM = "application/x-www-form-urlencoded"
# RFC 6749 §5.1 requires these on token answers; we send them on errors too, which is harmless
# and keeps every answer from this endpoint out of caches.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_UNAVAILABLE = (
    "<html><head><title>503 Service Unavailable</title></head>"
    "<body><h1>503 Service Unavailable</h1></body></html>"
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _compact_json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8")


class TokenIssuer:
    """Issues and verifies one emulator's access tokens and serves its token endpoint.

    Args:
        account_id: the account every token grants (the ``accounts`` claim).
        client_id, client_secret: the only client credentials the endpoint accepts.
        lifetime: seconds a token issued over HTTP stays valid; also ``expires_in``.
    """

    def __init__(
        self, *, account_id: str, client_id: str, client_secret: str, lifetime: float
    ) -> None:
        self.account_id = account_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime = lifetime
        self.requests = 0
        self._expected_client = f"{client_id}:{client_secret}".encode()
        self._key = secrets.token_bytes(32)
        # jti -> deadline on the monotonic clock. Expired entries go when they are next presented;
        # the rest stay small (one per token a test asked for).
        self._live: dict[str, float] = {}
        # token string -> its claims, once its signature and claims have been verified.
        self._verified: dict[str, dict[str, object]] = {}
        self._hung: set[asyncio.Future[None]] = set()

    def __repr__(self) -> str:
        return f"<TokenIssuer client_id={self.client_id!r} live_tokens={len(self._live)}>"

    # ------------------------------------------------------------------ tokens

    def issue(self, lifetime: float | None = None) -> str:
        """A signed access token valid for *lifetime* seconds (default: the issuer's).

        A *lifetime* of zero or less gives a token that is already expired.
        """
        lifetime = self.lifetime if lifetime is None else lifetime
        now = time.time()
        jti = secrets.token_urlsafe(16)
        claims = {
            "accounts": [self.account_id],
            "client_id": self.client_id,
            "exp": int(now + lifetime),  # rounded down: never later than the real deadline
            "express": False,  # read by the band CLI; True only on a Build trial account
            "iat": int(now),
            "jti": jti,
            "roles": list(ROLES),
            "sub": self.client_id,
        }
        signing_input = f"{_b64url(_compact_json(_HEADER))}.{_b64url(_compact_json(claims))}"
        self._live[jti] = time.monotonic() + lifetime
        log.debug("Issued access token %s for %s s", jti, lifetime)
        return f"{signing_input}.{self._sign(signing_input)}"

    def verify(self, token: str) -> dict[str, object] | None:
        """The claims of *token* if this issuer issued it and it is neither revoked nor expired.

        The claims are shared with the issuer's cache of verified tokens: do not modify them.
        """
        outcome = self._check(token)
        if isinstance(outcome, str):
            log.debug("Bearer token refused: %s", outcome)
            return None
        return outcome

    def _check(self, token: str) -> dict[str, object] | str:
        """The claims, or why *token* is refused.

        The signature and claims of a token are checked the first time it is presented; the
        exact string is then remembered with its claims, since the same string under the same
        key verifies the same way every time. Revocation and expiry are checked on every
        presentation, and a token refused for either is forgotten.
        """
        claims = self._verified.get(token)
        verified = claims is not None
        if claims is None:
            outcome = self._verify_signed(token)
            if isinstance(outcome, str):
                return outcome
            claims = outcome
        jti = claims.get("jti")
        if not isinstance(jti, str) or jti not in self._live:
            self._verified.pop(token, None)
            return "revoked or unknown"
        deadline = self._live[jti]
        if time.monotonic() >= deadline:
            del self._live[jti]
            self._verified.pop(token, None)
            return "expired"
        if not verified:
            if len(self._verified) >= _VERIFIED_MAX:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[token] = claims
        return claims

    def _verify_signed(self, token: str) -> dict[str, object] | str:
        """The claims of *token* if it is well formed and signed with this issuer's key."""
        segments = token.split(".")
        if len(segments) != 3 or not all(_SEGMENT.fullmatch(s) for s in segments):
            return "malformed"
        signing_input = f"{segments[0]}.{segments[1]}"
        # Compare the encoded signature, not decoded bytes: base64's spare trailing bits would
        # otherwise let a few different strings pass as the same signature. The algorithm is
        # always ours (HS256), never taken from the token's header, so "alg" tricks cannot work.
        if not hmac.compare_digest(self._sign(signing_input), segments[2]):
            return "bad signature"
        try:
            claims = json.loads(_unb64url(segments[1]))
        except (binascii.Error, ValueError):
            return "undecodable claims"
        if not isinstance(claims, dict):
            return "undecodable claims"
        return claims

    def revoke_all(self) -> None:
        """Refuse every token issued so far; tokens issued later work."""
        log.info("Revoked %d access token(s)", len(self._live))
        self._live.clear()
        self._verified.clear()

    def _sign(self, signing_input: str) -> str:
        digest = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return _b64url(digest)

    # ------------------------------------------------------------------ the endpoint

    async def handle(
        self, request: web.Request, failure: TokenFailure | None = None
    ) -> web.StreamResponse:
        """Answer one request to the token endpoint, failing as *failure* says."""
        self.requests += 1
        try:
            if failure == "503":
                return web.Response(status=503, text=_UNAVAILABLE, content_type="text/html")
            if failure == "timeout":
                return await self._hang(request)
            return await self._grant(request)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Emulator bug while serving %s %s", request.method, request.path)
            return self._error(500, "server_error", "The emulator failed; see its log.")

    async def _grant(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return self._error(
                405, "invalid_request", "Use POST for the token endpoint.", {"Allow": "POST"}
            )
        if not self._client_authenticated(request.headers.get("Authorization", "")):
            log.debug("Token request refused: client authentication failed")
            return self._error(
                401,
                "invalid_client",
                "Client authentication failed.",
                {"WWW-Authenticate": f'Basic realm="{REALM}"'},
            )
        if request.content_type != _FORM:
            return self._error(400, "invalid_request", f"The Content-Type must be {_FORM}.")
        try:
            pairs = urllib.parse.parse_qsl(
                (await request.read()).decode("utf-8"),
                keep_blank_values=True,
                errors="strict",
                max_num_fields=32,
            )
        except (UnicodeDecodeError, ValueError):
            return self._error(400, "invalid_request", "The form body cannot be decoded.")
        grants = [value for name, value in pairs if name == "grant_type"]
        if len(grants) > 1:  # RFC 6749 §3.2: parameters must not be repeated
            return self._error(400, "invalid_request", "grant_type was sent more than once.")
        if not grants or not grants[0]:
            return self._error(400, "invalid_request", "The grant_type parameter is missing.")
        if grants[0] != "client_credentials":
            return self._error(
                400, "unsupported_grant_type", "Only grant_type=client_credentials is supported."
            )
        body = {
            "access_token": self.issue(),
            "expires_in": max(0, int(self.lifetime)),
            "token_type": "bearer",
        }
        return web.json_response(body, headers=_NO_STORE)

    def _client_authenticated(self, header: str) -> bool:
        # Only the header: Bandwidth's clients never send client_id/client_secret in the body,
        # so a client that does is broken and should find out here rather than in production.
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            presented = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(presented, self._expected_client)

    @staticmethod
    def _error(
        status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        return web.json_response(
            {"error": error, "error_description": description},
            status=status,
            headers={**_NO_STORE, **(headers or {})},
        )

    # ------------------------------------------------------------------ the "timeout" fault

    async def _hang(self, request: web.Request) -> web.Response:
        """Never answer; a client sees its own timeout. :meth:`release` ends the wait."""
        future = asyncio.get_running_loop().create_future()
        self._hung.add(future)
        try:
            await future
        finally:
            self._hung.discard(future)
        # Released because the server is going down: drop the connection as a dead endpoint
        # would, instead of answering after all.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=503)

    async def release(self, _app: web.Application | None = None) -> None:
        """End every hung request (an ``on_shutdown`` hook).

        aiohttp waits up to a minute for running handlers when it shuts down, and a client that
        gave up does not end a handler; so without this, stopping the emulator would stall.
        """
        for future in self._hung:
            if not future.done():
                future.set_result(None)
