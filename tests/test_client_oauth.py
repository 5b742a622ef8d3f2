"""OAuth 2.0 client credentials, access tokens and legacy Basic in NumbersClient (aioresponses)."""

from __future__ import annotations

import asyncio
import base64
import warnings
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from bwnumbers import (
    AuthenticationError,
    DecodeError,
    NumbersClient,
    ServerError,
    TransportError,
    ValidationError,
)
from bwnumbers._auth import default_token_url
from tests.conftest import ACCOUNT, BASE, ROOT, calls, sample

if TYPE_CHECKING:
    from aioresponses import CallbackResult, aioresponses

TOKEN_URL = "https://dashboard.example.test/api/v1/oauth2/token"
CLIENT_ID = "client-7f3a"
SECRET = "cl1ent-s3cret-Zq9"
ORDER = f"{ROOT}/orders/o1"


def token_body(token: str = "tok-1", expires_in: object = 3600) -> dict[str, object]:
    return {"access_token": token, "expires_in": expires_in, "token_type": "bearer"}


@pytest.fixture
async def oauth(sleeps: list[float]) -> AsyncIterator[NumbersClient]:
    """A client with client credentials against the fake Bandwidth (use with fake_http)."""
    async with NumbersClient(
        account_id=ACCOUNT, client_id=CLIENT_ID, client_secret=SECRET, base_url=BASE
    ) as client:
        yield client


def authorizations(mocked: aioresponses, method: str, url: str) -> list[str]:
    return [call.kwargs["headers"]["Authorization"] for call in calls(mocked, method, url)]


# ---------------------------------------------------------------- choosing how to authenticate


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "got none"),
        ({"client_id": "c"}, "client_secret= is missing"),
        ({"client_secret": "s"}, "client_id= is missing"),
        ({"client_id": "c", "client_secret": " "}, "client_secret= is missing"),
        ({"username": "u"}, "password= is missing"),
        ({"client_id": "c", "client_secret": "s", "access_token": "t"}, "access_token="),
        ({"client_id": "c", "client_secret": "s", "username": "u", "password": "p"}, "and"),
        ({"access_token": "t", "password": "p"}, "access_token= and username="),
        ({"access_token": ""}, "non-empty token"),
        ({"access_token": "two words"}, "without spaces"),
        ({"access_token": 42}, "async callable"),
    ],
)
def test_exactly_one_way_to_authenticate(kwargs: dict[str, Any], message: str) -> None:
    """None, two, or half a pair of credentials is a ValidationError before any request."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValidationError, match=message) as info:
            NumbersClient(account_id=ACCOUNT, base_url=BASE, **kwargs)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("base_url", "token_url"),
    [
        ("https://api.bandwidth.com/api", "https://api.bandwidth.com/api/v1/oauth2/token"),
        ("https://dashboard.bandwidth.com/api", "https://api.bandwidth.com/api/v1/oauth2/token"),
        ("https://api.bandwidth.com/api/v2", "https://api.bandwidth.com/api/v1/oauth2/token"),
        (
            "https://test.api.bandwidth.com/api",
            "https://test.api.bandwidth.com/api/v1/oauth2/token",
        ),
        ("http://127.0.0.1:8099/api", "http://127.0.0.1:8099/api/v1/oauth2/token"),
        ("https://proxy.example:8443/bw/api", "https://proxy.example:8443/api/v1/oauth2/token"),
        ("https://notbandwidth.com/api", "https://notbandwidth.com/api/v1/oauth2/token"),
    ],
)
def test_default_token_url(base_url: str, token_url: str) -> None:
    """Bandwidth hosts use Bandwidth's token endpoint; any other host is asked itself."""
    assert default_token_url(base_url) == token_url
    client = NumbersClient(account_id=ACCOUNT, client_id="c", client_secret="s", base_url=base_url)
    assert client.token_url == token_url


def test_defaults_and_token_url_override() -> None:
    """The default host is api.bandwidth.com; token_url= moves the token endpoint alone."""
    client = NumbersClient(account_id=ACCOUNT, client_id="c", client_secret="s")
    assert client.base_url == "https://api.bandwidth.com/api"
    assert client.token_url == "https://api.bandwidth.com/api/v1/oauth2/token"
    moved = NumbersClient(
        account_id=ACCOUNT, client_id="c", client_secret="s", token_url="https://idp.test/t/"
    )
    assert (moved.base_url, moved.token_url) == (client.base_url, "https://idp.test/t")


# ---------------------------------------------------------------- the token request


async def test_token_request_on_the_wire(fake_http: aioresponses, oauth: NumbersClient) -> None:
    """One token request (Basic client auth, form body), then Bearer on every API request."""
    fake_http.post(TOKEN_URL, payload=token_body())
    fake_http.get(ORDER, body=sample("order_complete.xml"), repeat=True)
    await oauth.get_order("o1")
    await oauth.get_order("o1")
    (token_call,) = calls(fake_http, "POST", TOKEN_URL)
    headers = token_call.kwargs["headers"]
    expected = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    assert headers["Authorization"] == f"Basic {expected}"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert token_call.kwargs["data"] == b"grant_type=client_credentials"
    assert token_call.kwargs["timeout"].total == 15.0
    assert authorizations(fake_http, "GET", ORDER) == ["Bearer tok-1", "Bearer tok-1"]


async def test_authenticate_reports_the_lifetime(
    fake_http: aioresponses, oauth: NumbersClient
) -> None:
    """authenticate() fetches the token up front; a missing expires_in means one hour."""
    fake_http.post(TOKEN_URL, payload={"access_token": "tok-1"})
    token = await oauth.authenticate()
    assert token is not None
    assert token.lifetime == 3600
    assert 3599 < token.seconds_left() <= 3600
    assert await oauth.authenticate() is token
    assert len(calls(fake_http, "POST", TOKEN_URL)) == 1


async def test_numeric_string_expires_in_is_accepted(
    fake_http: aioresponses, oauth: NumbersClient
) -> None:
    """An expires_in sent as a numeric string is read as seconds."""
    fake_http.post(TOKEN_URL, payload=token_body(expires_in="1800"))
    token = await oauth.authenticate()
    assert token is not None
    assert token.lifetime == 1800


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, b'{"error":"invalid_client","error_description":"Bad secret"}', "invalid_client"),
        (401, b'{"error":"invalid_client"}', "invalid_client"),
        (401, b"", "Unauthorized"),
        (403, b"<html>forbidden</html>", "Forbidden"),
    ],
)
async def test_refused_credentials(
    fake_http: aioresponses, oauth: NumbersClient, status: int, body: bytes, expected: str
) -> None:
    """A refusal names the client id and token URL and what Bandwidth said, never the secret."""
    fake_http.post(TOKEN_URL, status=status, body=body)
    with pytest.raises(AuthenticationError) as info:
        await oauth.get_order("o1")
    text = str(info.value)
    assert "refused the client credentials" in text
    assert CLIENT_ID in text
    assert TOKEN_URL in text
    assert expected in text
    assert SECRET not in text
    assert info.value.status == status
    assert len(calls(fake_http, "POST", TOKEN_URL)) == 1  # a refusal is not retried
    assert not calls(fake_http, "GET")


async def test_token_url_not_found(fake_http: aioresponses, oauth: NumbersClient) -> None:
    """A 404 says the token URL is wrong."""
    fake_http.post(TOKEN_URL, status=404, body=b"<html>Not Found</html>")
    with pytest.raises(AuthenticationError, match="does not exist") as info:
        await oauth.get_order("o1")
    assert "token_url=" in str(info.value)


async def test_server_errors_are_retried_then_raised_once(
    fake_http: aioresponses, oauth: NumbersClient, sleeps: list[float]
) -> None:
    """5xx from the token endpoint is retried like a GET; the API request does not retry it."""
    fake_http.post(TOKEN_URL, status=503, body=b"<html>busy</html>", repeat=True)
    with pytest.raises(ServerError, match="token endpoint") as info:
        await oauth.get_order("o1")
    assert info.value.status == 503
    assert len(calls(fake_http, "POST", TOKEN_URL)) == oauth.retry.attempts
    assert len(sleeps) == oauth.retry.attempts - 1
    assert not calls(fake_http, "GET")


async def test_transient_failures_then_a_token(
    fake_http: aioresponses, oauth: NumbersClient, sleeps: list[float]
) -> None:
    """A 503, a 429 and a reset before the token arrives cost retries, not the request."""
    fake_http.post(TOKEN_URL, status=503)
    fake_http.post(TOKEN_URL, status=429, headers={"X-RateLimit-Reset": "0.05"})
    fake_http.post(TOKEN_URL, exception=aiohttp.ServerDisconnectedError())
    fake_http.post(TOKEN_URL, payload=token_body())
    fake_http.get(ORDER, body=sample("order_complete.xml"))
    await oauth.get_order("o1")
    assert len(calls(fake_http, "POST", TOKEN_URL)) == 4
    assert len(sleeps) == 2  # backoffs after the 503 and the reset; the 429 waited at a gate


async def test_timeout_is_a_transport_error(fake_http: aioresponses, oauth: NumbersClient) -> None:
    """A token endpoint that never answers ends in TransportError after the retries."""
    fake_http.post(TOKEN_URL, exception=TimeoutError(), repeat=True)
    with pytest.raises(TransportError, match="oauth2/token"):
        await oauth.get_order("o1")
    assert len(calls(fake_http, "POST", TOKEN_URL)) == oauth.retry.attempts


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<html>login</html>", "text/html", "not JSON"),
        (b'{"access_token": "tok-1", ', "application/json", "not JSON"),
        (b'["tok-1"]', "application/json", "no usable access_token"),
        (b'{"expires_in": 3600}', "application/json", "no usable access_token"),
        (b'{"access_token": ""}', "application/json", "no usable access_token"),
        (b'{"access_token": "a b"}', "application/json", "no usable access_token"),
        (b'{"access_token": "tok-1", "expires_in": "soon"}', "application/json", "expires_in"),
        (b'{"access_token": "tok-1", "expires_in": 0}', "application/json", "expires_in"),
        (b'{"access_token": "tok-1", "expires_in": true}', "application/json", "expires_in"),
        (b'{"access_token": "tok-1", "token_type": "mac"}', "application/json", "bearer"),
    ],
)
async def test_unusable_token_answers(
    fake_http: aioresponses,
    oauth: NumbersClient,
    body: bytes,
    content_type: str,
    expected: str,
) -> None:
    """A 2xx without a usable token is a DecodeError that keeps no body (it may hold a token)."""
    fake_http.post(TOKEN_URL, body=body, content_type=content_type)
    with pytest.raises(DecodeError, match=expected) as info:
        await oauth.authenticate()
    assert info.value.body == b""
    assert "tok-1" not in str(info.value)


# ---------------------------------------------------------------- 401 from the API


async def test_401_renews_the_token_and_resends_once(
    fake_http: aioresponses, oauth: NumbersClient
) -> None:
    """A 401 from the API costs one token request and one re-send with the new token."""
    fake_http.post(TOKEN_URL, payload=token_body("tok-1"))
    fake_http.post(TOKEN_URL, payload=token_body("tok-2"))
    fake_http.get(ORDER, status=401, body=sample("access_denied.xml"))
    fake_http.get(ORDER, body=sample("order_complete.xml"))
    await oauth.get_order("o1")
    assert authorizations(fake_http, "GET", ORDER) == ["Bearer tok-1", "Bearer tok-2"]
    assert len(calls(fake_http, "POST", TOKEN_URL)) == 2


async def test_second_401_raises_without_looping(
    fake_http: aioresponses, oauth: NumbersClient
) -> None:
    """A fresh token refused again raises AuthenticationError after exactly two API requests."""
    fake_http.post(TOKEN_URL, payload=token_body("tok-1"))
    fake_http.post(TOKEN_URL, payload=token_body("tok-2"))
    fake_http.get(ORDER, status=401, body=sample("access_denied.xml"), repeat=True)
    with pytest.raises(AuthenticationError, match="freshly issued access token") as info:
        await oauth.get_order("o1")
    assert CLIENT_ID in str(info.value)
    assert len(calls(fake_http, "GET", ORDER)) == 2
    assert len(calls(fake_http, "POST", TOKEN_URL)) == 2


async def test_post_orders_refused_with_401_is_resent_not_adopted(
    fake_http: aioresponses, oauth: NumbersClient
) -> None:
    """A 401 means not executed: POST /orders is re-sent once, with no look-up by customer id."""
    orders = f"{ROOT}/orders"
    fake_http.post(TOKEN_URL, payload=token_body("tok-1"))
    fake_http.post(TOKEN_URL, payload=token_body("tok-2"))
    fake_http.post(orders, status=401, body=sample("access_denied.xml"))
    fake_http.post(
        orders, status=201, body=sample("order_created.xml"), headers={"Location": f"{orders}/n1"}
    )
    order = await oauth.create_order(site_id="743", numbers=["5402278098"])
    assert order.id
    assert authorizations(fake_http, "POST", orders) == ["Bearer tok-1", "Bearer tok-2"]
    assert not calls(fake_http, "GET")


async def test_concurrent_401s_share_one_renewal(
    fake_http: aioresponses, oauth: NumbersClient
) -> None:
    """Requests refused together with the same token share one token request."""
    fake_http.post(TOKEN_URL, payload=token_body("tok-1"))
    fake_http.post(TOKEN_URL, payload=token_body("tok-2"))
    await oauth.authenticate()

    all_sent = asyncio.Event()
    first_sends: list[str] = []

    from aioresponses import CallbackResult

    async def revoked_tok_1(url: object, **kwargs: Any) -> CallbackResult:
        if kwargs["headers"]["Authorization"] == "Bearer tok-1":
            first_sends.append("tok-1")
            if len(first_sends) == 50:
                all_sent.set()
            await all_sent.wait()  # all fifty are in flight when the revocation is noticed
            return CallbackResult(status=401, body=sample("access_denied.xml"))
        return CallbackResult(body=sample("order_complete.xml"))

    fake_http.get(ORDER, callback=revoked_tok_1, repeat=True)
    await asyncio.gather(*(oauth.get_order("o1") for _ in range(50)))
    assert len(calls(fake_http, "POST", TOKEN_URL)) == 2
    sent = authorizations(fake_http, "GET", ORDER)
    assert (sent.count("Bearer tok-1"), sent.count("Bearer tok-2")) == (50, 50)


async def test_401_when_the_renewal_is_refused(
    fake_http: aioresponses, oauth: NumbersClient
) -> None:
    """If the token endpoint refuses during a renewal, that refusal is what the caller sees."""
    fake_http.post(TOKEN_URL, payload=token_body("tok-1"))
    fake_http.post(TOKEN_URL, status=401, payload={"error": "invalid_client"})
    fake_http.get(ORDER, status=401, body=sample("access_denied.xml"))
    with pytest.raises(AuthenticationError, match="refused the client credentials"):
        await oauth.get_order("o1")
    assert len(calls(fake_http, "GET", ORDER)) == 1


# ---------------------------------------------------------------- tokens you bring


async def test_static_token_is_never_refreshed(
    fake_http: aioresponses, sleeps: list[float]
) -> None:
    """A string token is sent as is; a 401 raises at once, saying it is never refreshed."""
    fake_http.get(ORDER, status=401, body=sample("access_denied.xml"), repeat=True)
    async with NumbersClient(account_id=ACCOUNT, access_token="minted.jwt", base_url=BASE) as c:
        token = await c.authenticate()
        assert token is not None
        assert token.value == "minted.jwt"
        with pytest.raises(AuthenticationError, match="never refreshes"):
            await c.get_order("o1")
    assert authorizations(fake_http, "GET", ORDER) == ["Bearer minted.jwt"]
    assert not calls(fake_http, "POST")


async def test_token_callable_is_single_flight_and_called_after_401(
    fake_http: aioresponses, sleeps: list[float]
) -> None:
    """The callable is called once for concurrent first requests, and again after a 401."""
    issued: list[str] = []

    async def from_vault() -> tuple[str, float]:
        await asyncio.sleep(0)
        issued.append(f"vault-{len(issued) + 1}")
        return issued[-1], 900

    fake_http.get(ORDER, status=401, body=sample("access_denied.xml"))
    fake_http.get(ORDER, body=sample("order_complete.xml"), repeat=True)
    async with NumbersClient(account_id=ACCOUNT, access_token=from_vault, base_url=BASE) as c:
        await asyncio.gather(*(c.get_order("o1") for _ in range(20)))
        token = await c.authenticate()
    assert issued == ["vault-1", "vault-2"]
    assert token is not None
    assert token.lifetime == 900
    assert not calls(fake_http, "POST")


@pytest.mark.parametrize("returned", [("", 60), ("tok", 0), ("tok",), "tok", ("tok", "60")])
async def test_token_callable_returning_nonsense(fake_http: aioresponses, returned: object) -> None:
    """A callable that returns something unusable gets a ValidationError saying what to return."""

    async def broken() -> Any:
        return returned

    async with NumbersClient(account_id=ACCOUNT, access_token=broken, base_url=BASE) as c:
        with pytest.raises(ValidationError, match=r"\(token, seconds_left\)"):
            await c.get_order("o1")
    assert not fake_http.requests


# ---------------------------------------------------------------- legacy Basic


async def test_basic_still_works_with_a_deprecation_warning(
    fake_http: aioresponses, sleeps: list[float]
) -> None:
    """username=/password= sends Basic and warns, naming the caller and the deadline."""
    fake_http.get(ORDER, body=sample("order_complete.xml"))
    fake_http.get(f"{ROOT}/orders/o2", status=401, body=sample("access_denied.xml"))
    with pytest.warns(DeprecationWarning, match="2026-12-02") as warned:
        client = NumbersClient(
            account_id=ACCOUNT, username="api-user", password="pw", base_url=BASE
        )
    assert warned[0].filename == __file__
    async with client:
        assert await client.authenticate() is None
        await client.get_order("o1")
        with pytest.raises(AuthenticationError, match="API user 'api-user'"):
            await client.get_order("o2")
    (header,) = authorizations(fake_http, "GET", ORDER)
    assert header == "Basic " + base64.b64encode(b"api-user:pw").decode()
    assert not calls(fake_http, "POST")


# ---------------------------------------------------------------- from_env

ENV = ("BW_ACCOUNT_ID", "BW_CLIENT_ID", "BW_CLIENT_SECRET", "BW_USERNAME", "BW_PASSWORD",
       "BW_BASE_URL", "BW_TOKEN_URL")  # fmt: skip


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean BW_* environment."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("variables", "auth"),
    [
        ({"BW_CLIENT_ID": "cid", "BW_CLIENT_SECRET": SECRET}, "client id 'cid'"),
        (
            {
                "BW_CLIENT_ID": "cid",
                "BW_CLIENT_SECRET": SECRET,
                "BW_USERNAME": "u",
                "BW_PASSWORD": "pw-1",
            },
            "client id 'cid'",
        ),
        ({"BW_USERNAME": "u", "BW_PASSWORD": "pw-1"}, "API user 'u'"),
    ],
)
def test_from_env_chooses_credentials(
    env: pytest.MonkeyPatch, variables: dict[str, str], auth: str
) -> None:
    """Client credentials win over the legacy pair; the legacy pair alone works and warns."""
    env.setenv("BW_ACCOUNT_ID", "42")
    for name, value in variables.items():
        env.setenv(name, value)
    legacy = "BW_CLIENT_ID" not in variables
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = NumbersClient.from_env()
    assert [w.category for w in caught] == ([DeprecationWarning] if legacy else [])
    assert auth in repr(client)
    assert client.account_id == "42"


def test_from_env_urls_and_overrides(env: pytest.MonkeyPatch) -> None:
    """BW_BASE_URL and BW_TOKEN_URL are read; keyword arguments override the environment."""
    env.setenv("BW_ACCOUNT_ID", "42")
    env.setenv("BW_CLIENT_ID", "cid")
    env.setenv("BW_CLIENT_SECRET", SECRET)
    env.setenv("BW_BASE_URL", "https://x.test/api/v1")
    env.setenv("BW_TOKEN_URL", "https://idp.test/token")
    client = NumbersClient.from_env(timeout=5)
    assert (client.base_url, client.token_url) == (
        "https://x.test/api/v1",
        "https://idp.test/token",
    )
    assert NumbersClient.from_env(account_id="7").account_id == "7"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({}, ["BW_ACCOUNT_ID", "BW_CLIENT_ID", "BW_CLIENT_SECRET"]),
        ({"BW_ACCOUNT_ID": "42"}, ["BW_CLIENT_ID", "BW_CLIENT_SECRET"]),
        ({"BW_CLIENT_ID": "cid", "BW_CLIENT_SECRET": SECRET}, ["BW_ACCOUNT_ID"]),
        ({"BW_ACCOUNT_ID": "42", "BW_CLIENT_ID": "cid"}, ["BW_CLIENT_SECRET"]),
        ({"BW_ACCOUNT_ID": "42", "BW_CLIENT_SECRET": SECRET}, ["BW_CLIENT_ID"]),
        (
            {
                "BW_ACCOUNT_ID": "42",
                "BW_CLIENT_ID": "cid",
                "BW_USERNAME": "u",
                "BW_PASSWORD": "pw-1",
            },
            ["BW_CLIENT_SECRET"],
        ),
        ({"BW_ACCOUNT_ID": "42", "BW_USERNAME": "u"}, ["BW_PASSWORD", "BW_CLIENT_ID"]),
        ({"BW_ACCOUNT_ID": "42", "BW_PASSWORD": "pw-1"}, ["BW_USERNAME"]),
    ],
)
def test_from_env_missing_or_half_set(
    env: pytest.MonkeyPatch, variables: dict[str, str], named: list[str]
) -> None:
    """One sentence names the variables to set, and never shows a value."""
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        NumbersClient.from_env()
    text = str(info.value)
    for name in named:
        assert name in text
    for value in (SECRET, "pw-1", "cid", "42"):
        assert value not in text
    assert text.endswith(".")
    assert ". " not in text  # one sentence
