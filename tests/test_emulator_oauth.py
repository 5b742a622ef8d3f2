"""The emulator's OAuth 2.0 client credentials, over raw HTTP: token endpoint, Bearer on the API."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bwnumbers.testing import BandwidthEmulator
from bwnumbers.testing._tokens import _VERIFIED_MAX as VERIFIED_MAX
from bwnumbers.testing._tokens import TokenIssuer

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GRANT = "grant_type=client_credentials"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session; every request states its own credentials."""
    async with aiohttp.ClientSession() as http:
        yield http


def client_auth(emulator: BandwidthEmulator) -> aiohttp.BasicAuth:
    """The emulator's OAuth client credentials as HTTP Basic."""
    return aiohttp.BasicAuth(emulator.client_id, emulator.client_secret)


async def token_call(
    session: aiohttp.ClientSession,
    emulator: BandwidthEmulator,
    *,
    method: str = "POST",
    data: str | None = GRANT,
    headers: dict[str, str] | None = None,
    auth: aiohttp.BasicAuth | None = None,
    authenticate: bool = True,
    **kwargs: Any,
) -> tuple[int, dict[str, str], Any]:
    """Call the token endpoint, with the right client credentials unless told otherwise."""
    headers = FORM if headers is None else headers
    if authenticate and auth is None and "Authorization" not in headers:
        auth = client_auth(emulator)
    async with session.request(
        method, emulator.token_url, data=data, headers=headers, auth=auth, **kwargs
    ) as resp:
        raw = await resp.read()
        is_json = resp.content_type == "application/json"
        return resp.status, dict(resp.headers), json.loads(raw) if is_json else raw.decode()


async def fetch_token(session: aiohttp.ClientSession, emulator: BandwidthEmulator) -> str:
    """A token from the token endpoint."""
    status, _, body = await token_call(session, emulator)
    assert status == 200, body
    token: str = body["access_token"]
    return token


async def api_get(
    session: aiohttp.ClientSession,
    emulator: BandwidthEmulator,
    authorization: str | None,
    *,
    account_id: str | None = None,
) -> tuple[int, ET.Element]:
    """GET a real route (a one-number search) with this Authorization header."""
    url = f"{emulator.base_url}/accounts/{account_id or emulator.account_id}/availableNumbers"
    headers = {} if authorization is None else {"Authorization": authorization}
    params = {"areaCode": "540", "quantity": "1"}
    async with session.get(url, params=params, headers=headers) as resp:
        return resp.status, ET.fromstring(await resp.read())  # noqa: S314 - our own server


def bearer(token: str) -> str:
    return f"Bearer {token}"


def basic(emulator: BandwidthEmulator) -> str:
    return aiohttp.BasicAuth(emulator.username, emulator.password).encode()


def decode_segment(segment: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


def encode_segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def assert_access_denied(status: int, body: ET.Element) -> None:
    assert status == 401
    assert body.tag == "ErrorResponse"
    assert body.findtext("ResponseStatus/Description") == "Access Denied"
    assert body.findtext("ResponseStatus/ErrorCode") == "1001"


# ---------------------------------------------------------------- the token endpoint


async def test_token_is_issued_and_works_as_bearer(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A client-credentials grant returns a bearer token that a real API route accepts."""
    status, headers, body = await token_call(session, bandwidth_emulator)
    assert status == 200
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["token_type"] == "bearer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Content-Type"].startswith("application/json")
    status, result = await api_get(session, bandwidth_emulator, bearer(body["access_token"]))
    assert status == 200
    assert result.tag == "SearchResult"
    assert len(result.findall("TelephoneNumberList/TelephoneNumber")) == 1
    status, _ = await api_get(session, bandwidth_emulator, f"bearer  {body['access_token']} ")
    assert status == 200


async def test_token_claims(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """The token is an unpadded HS256 JWT carrying accounts, roles, times, subject and a jti."""
    first = await fetch_token(session, bandwidth_emulator)
    second = await fetch_token(session, bandwidth_emulator)
    segments = first.split(".")
    assert len(segments) == 3
    assert "=" not in first
    assert decode_segment(segments[0]) == {"alg": "HS256", "typ": "JWT"}
    claims = decode_segment(segments[1])
    assert claims["accounts"] == [bandwidth_emulator.account_id]
    assert claims["roles"] == ["Numbers"]
    assert claims["sub"] == claims["client_id"] == bandwidth_emulator.client_id
    assert claims["iat"] <= time.time() < claims["exp"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"] != decode_segment(second.split(".")[1])["jti"]


async def test_expires_in_is_the_token_lifetime(session: aiohttp.ClientSession) -> None:
    """expires_in (and exp - iat) equal token_lifetime; token_url shares base_url's origin."""
    async with BandwidthEmulator(token_lifetime=120, client_id="cid", client_secret="cs") as emu:
        assert emu.token_lifetime == 120
        assert (emu.client_id, emu.client_secret) == ("cid", "cs")
        assert emu.token_url == emu.base_url.removesuffix("/api") + "/api/v1/oauth2/token"
        status, _, body = await token_call(session, emu)
        assert status == 200
        assert body["expires_in"] == 120
        claims = decode_segment(body["access_token"].split(".")[1])
        assert claims["exp"] - claims["iat"] == 120
    https = BandwidthEmulator(ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    assert https.token_url.startswith("https://")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("wrong-secret", id="wrong-secret"),
        pytest.param("wrong-client", id="wrong-client-id"),
        pytest.param(None, id="no-header"),
        pytest.param("Basic !!!", id="malformed-base64"),
        pytest.param("Basic " + base64.b64encode(b"no-colon").decode(), id="no-colon"),
        pytest.param("Basic", id="scheme-only"),
        pytest.param("Bearer abc", id="bearer-scheme"),
    ],
)
async def test_bad_client_credentials_are_invalid_client(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator, authorization: str | None
) -> None:
    """Missing, wrong or malformed client credentials get 401 invalid_client with a challenge."""
    emulator = bandwidth_emulator
    if authorization == "wrong-secret":
        authorization = aiohttp.BasicAuth(emulator.client_id, "not-it").encode()
    elif authorization == "wrong-client":
        authorization = aiohttp.BasicAuth("someone-else", emulator.client_secret).encode()
    headers = FORM if authorization is None else {**FORM, "Authorization": authorization}
    status, response_headers, body = await token_call(
        session, emulator, headers=headers, authenticate=False
    )
    assert status == 401
    assert body["error"] == "invalid_client"
    assert body["error_description"]
    assert response_headers["WWW-Authenticate"].startswith('Basic realm="')


async def test_client_credentials_in_the_body_are_not_accepted(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Like Bandwidth's clients, only the Authorization header authenticates a client."""
    data = (
        f"{GRANT}&client_id={bandwidth_emulator.client_id}"
        f"&client_secret={bandwidth_emulator.client_secret}"
    )
    status, _, body = await token_call(session, bandwidth_emulator, data=data, authenticate=False)
    assert status == 401
    assert body["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("data", "content_type", "error"),
    [
        pytest.param(GRANT, "application/json", "invalid_request", id="json-content-type"),
        pytest.param(GRANT, None, "invalid_request", id="no-content-type"),
        pytest.param("", FORM["Content-Type"], "invalid_request", id="no-grant-type"),
        pytest.param("grant_type=", FORM["Content-Type"], "invalid_request", id="empty-grant"),
        pytest.param(
            f"{GRANT}&{GRANT}", FORM["Content-Type"], "invalid_request", id="repeated-grant"
        ),
        pytest.param(
            "grant_type=password", FORM["Content-Type"], "unsupported_grant_type", id="password"
        ),
        pytest.param(
            "grant_type=authorization_code&code=x",
            FORM["Content-Type"],
            "unsupported_grant_type",
            id="authorization-code",
        ),
    ],
)
async def test_bad_requests_are_400(
    session: aiohttp.ClientSession,
    bandwidth_emulator: BandwidthEmulator,
    data: str,
    content_type: str | None,
    error: str,
) -> None:
    """A wrong content type or a missing, repeated or other grant type gets 400 and its error."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    status, response_headers, body = await token_call(
        session,
        bandwidth_emulator,
        data=data,
        headers=headers,
        auth=client_auth(bandwidth_emulator),
    )
    assert status == 400
    assert body["error"] == error
    assert body["error_description"]
    assert response_headers["Cache-Control"] == "no-store"


async def test_token_requests_counts_every_request(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """token_requests counts successes, refusals, wrong methods and injected failures alike."""
    emulator = bandwidth_emulator
    assert emulator.token_requests == 0
    await fetch_token(session, emulator)
    await token_call(session, emulator, auth=aiohttp.BasicAuth("x", "y"))
    await token_call(session, emulator, data="grant_type=password")
    status, headers, body = await token_call(session, emulator, method="GET", data=None)
    assert (status, headers["Allow"], body["error"]) == (405, "POST", "invalid_request")
    emulator.faults.token_failure = "503"
    await token_call(session, emulator)
    assert emulator.token_requests == 5


async def test_token_endpoint_ignores_api_faults(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """rate_limit_next and response_delay spare the token endpoint; the API still gets them."""
    bandwidth_emulator.faults.rate_limit_next = 1
    bandwidth_emulator.faults.response_delay = 0.2
    status, _, body = await token_call(
        session, bandwidth_emulator, timeout=aiohttp.ClientTimeout(total=0.15)
    )
    assert status == 200
    bandwidth_emulator.faults.response_delay = 0
    status, _ = await api_get(session, bandwidth_emulator, bearer(body["access_token"]))
    assert status == 429


# ---------------------------------------------------------------- Bearer on the API


def tampered_signature(token: str, sibling: str) -> str:
    """*token* with the signature of another valid token of the same emulator."""
    return token.rsplit(".", 1)[0] + "." + sibling.rsplit(".", 1)[1]


def flipped_signature(token: str) -> str:
    """*token* with one character in the middle of its signature changed."""
    head, signature = token.rsplit(".", 1)
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def tampered_claims(token: str) -> str:
    """*token* with a later expiry written into its claims and its old signature kept."""
    header, payload, signature = token.split(".")
    claims = decode_segment(payload)
    claims["exp"] += 86400
    return f"{header}.{encode_segment(claims)}.{signature}"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t, s: tampered_signature(t, s), id="signature-of-another-token"),
        pytest.param(lambda t, s: flipped_signature(t), id="flipped-signature"),
        pytest.param(lambda t, s: tampered_claims(t), id="tampered-claims"),
        pytest.param(lambda t, s: t.rsplit(".", 1)[0] + ".", id="no-signature"),
        pytest.param(lambda t, s: t + "==", id="padded"),
        pytest.param(lambda t, s: "garbage", id="garbage"),
        pytest.param(lambda t, s: "a.b.c", id="three-bits-of-garbage"),
        pytest.param(lambda t, s: "", id="empty"),
        pytest.param(lambda t, s: "é.é.é", id="non-ascii"),
    ],
)
async def test_forged_tokens_are_access_denied(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator, forge: Any
) -> None:
    """A token that is not exactly as signed by the emulator gets 401 Access Denied."""
    token = await fetch_token(session, bandwidth_emulator)
    sibling = bandwidth_emulator.issue_token()
    forged = forge(token, sibling)
    async with session.get(
        f"{bandwidth_emulator.base_url}/accounts/{bandwidth_emulator.account_id}/orders",
        headers={"Authorization": f"Bearer {forged}".encode().decode("latin-1")},
    ) as resp:
        assert_access_denied(resp.status, ET.fromstring(await resp.read()))  # noqa: S314
    status, _ = await api_get(session, bandwidth_emulator, bearer(token))
    assert status == 200


async def test_token_of_another_emulator_is_access_denied(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A token signed by another emulator, even with the same account and client, is refused."""
    other = BandwidthEmulator(client_secret=bandwidth_emulator.client_secret)
    status, body = await api_get(session, bandwidth_emulator, bearer(other.issue_token()))
    assert_access_denied(status, body)


async def test_expired_tokens_are_access_denied(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """issue_token(lifetime<=0) is already expired; a short-lived token works, then expires."""
    for lifetime in (-1, 0):
        status, body = await api_get(
            session, bandwidth_emulator, bearer(bandwidth_emulator.issue_token(lifetime))
        )
        assert_access_denied(status, body)
    short = bandwidth_emulator.issue_token(lifetime=0.3)
    status, _ = await api_get(session, bandwidth_emulator, bearer(short))
    assert status == 200
    await asyncio.sleep(0.35)
    status, body = await api_get(session, bandwidth_emulator, bearer(short))
    assert_access_denied(status, body)


async def test_revoked_tokens_are_access_denied_and_new_ones_work(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """revoke_tokens() refuses every token issued so far, minted or fetched; later ones work."""
    fetched = await fetch_token(session, bandwidth_emulator)
    minted = bandwidth_emulator.issue_token()
    assert (await api_get(session, bandwidth_emulator, bearer(minted)))[0] == 200
    bandwidth_emulator.revoke_tokens()
    for token in (fetched, minted):
        assert_access_denied(*await api_get(session, bandwidth_emulator, bearer(token)))
    fresh = await fetch_token(session, bandwidth_emulator)
    assert (await api_get(session, bandwidth_emulator, bearer(fresh)))[0] == 200
    minted_again = bandwidth_emulator.issue_token()
    assert (await api_get(session, bandwidth_emulator, bearer(minted_again)))[0] == 200


def test_verified_tokens_are_remembered_yet_checked_every_time() -> None:
    """The issuer remembers the token strings it verified (a bounded number), yet checks
    expiry and revocation on every presentation; variants of a remembered token are refused."""
    issuer = TokenIssuer(account_id="9900000", client_id="c", client_secret="s", lifetime=3600)
    token = issuer.issue()
    claims = issuer.verify(token)
    assert claims is not None
    assert issuer.verify(token) == claims
    for variant in (flipped_signature(token), tampered_claims(token), token + "==", token[:-1]):
        assert issuer.verify(variant) is None
    short = issuer.issue(lifetime=0.05)
    assert issuer.verify(short) is not None
    time.sleep(0.06)
    assert issuer.verify(short) is None
    many = [issuer.issue() for _ in range(VERIFIED_MAX + 10)]
    assert all(issuer.verify(t) is not None for t in many)
    assert len(issuer._verified) <= VERIFIED_MAX
    assert issuer.verify(token) == claims  # forgotten by now, so verified afresh
    issuer.revoke_all()
    assert issuer.verify(token) is None
    assert issuer.verify(many[-1]) is None
    fresh = issuer.issue()
    assert issuer.verify(fresh) is not None


async def test_basic_still_works_by_default(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Until told otherwise the emulator takes the legacy Basic API user as before."""
    assert bandwidth_emulator.legacy_basic_auth is True
    status, _ = await api_get(session, bandwidth_emulator, basic(bandwidth_emulator))
    assert status == 200


async def test_legacy_basic_auth_off_refuses_basic_and_takes_bearer(
    session: aiohttp.ClientSession,
) -> None:
    """legacy_basic_auth=False refuses Basic with 401 Access Denied, as after 2026-12-02."""
    async with BandwidthEmulator(legacy_basic_auth=False) as emulator:
        assert_access_denied(*await api_get(session, emulator, basic(emulator)))
        token = await fetch_token(session, emulator)
        assert (await api_get(session, emulator, bearer(token)))[0] == 200
        emulator.legacy_basic_auth = True
        assert (await api_get(session, emulator, basic(emulator)))[0] == 200


async def test_account_mismatch_is_403_with_bearer(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A valid token used on another account's path gets the same 403 as with Basic."""
    token = await fetch_token(session, bandwidth_emulator)
    for authorization in (bearer(token), basic(bandwidth_emulator)):
        status, body = await api_get(
            session, bandwidth_emulator, authorization, account_id="1234567"
        )
        assert status == 403
        assert body.findtext("ResponseStatus/ErrorCode") == "1001"


# ---------------------------------------------------------------- token faults


async def test_token_failure_503(
    session: aiohttp.ClientSession, bandwidth_emulator: BandwidthEmulator
) -> None:
    """token_failure="503" answers 503 with an HTML page until it is set back to None."""
    bandwidth_emulator.faults.token_failure = "503"
    for _ in range(2):
        status, headers, body = await token_call(session, bandwidth_emulator)
        assert status == 503
        assert headers["Content-Type"].startswith("text/html")
        assert "503" in body
    bandwidth_emulator.faults.token_failure = None
    await fetch_token(session, bandwidth_emulator)
    assert bandwidth_emulator.token_requests == 3


async def test_token_failure_timeout_then_stop_is_prompt(session: aiohttp.ClientSession) -> None:
    """token_failure="timeout" never answers; stop() afterwards is quick and leaves no task."""
    emulator = BandwidthEmulator()
    await emulator.start()
    emulator.faults.token_failure = "timeout"
    with pytest.raises(TimeoutError):
        await token_call(session, emulator, timeout=aiohttp.ClientTimeout(total=0.3))
    assert emulator.token_requests == 1
    started = time.monotonic()
    await emulator.stop()
    assert time.monotonic() - started < 1.0
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_stop_drops_a_client_still_waiting_for_a_token(
    session: aiohttp.ClientSession,
) -> None:
    """Stopping while a client still waits on a hung token request disconnects it at once."""
    emulator = BandwidthEmulator()
    await emulator.start()
    emulator.faults.token_failure = "timeout"
    waiting = asyncio.ensure_future(
        token_call(session, emulator, timeout=aiohttp.ClientTimeout(total=10))
    )
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await emulator.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await waiting
    assert time.monotonic() - started < 1.0
    assert asyncio.all_tasks() == {asyncio.current_task()}


# ---------------------------------------------------------------- secrets stay secret


async def test_client_secret_stays_out_of_repr_and_logs(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """The secret is random by default and in neither repr nor logs; tokens are never logged."""
    assert BandwidthEmulator().client_secret != BandwidthEmulator().client_secret
    caplog.set_level(logging.DEBUG, logger="bwnumbers.emulator")
    async with BandwidthEmulator(client_secret="very-secret-value") as emulator:
        assert "very-secret-value" not in repr(emulator)
        assert "very-secret-value" not in repr(vars(emulator).get("_tokens"))
        token = await fetch_token(session, emulator)
        await token_call(session, emulator, auth=aiohttp.BasicAuth(emulator.client_id, "nope"))
        await api_get(session, emulator, bearer(token))
        await api_get(session, emulator, bearer(token + "x"))
        emulator.revoke_tokens()
    assert caplog.records
    for record in caplog.records:
        message = record.getMessage()
        assert "very-secret-value" not in message
        assert token not in message
        assert token.split(".")[2] not in message
