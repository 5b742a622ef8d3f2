"""The client's error messages, read as a newcomer meets them: against the real emulator.

Each message must say what went wrong, which credentials or address were involved, and what to
check, with every fact once; tests/test_secrets.py checks that none of them shows a secret.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import pytest
import trustme

from bwnumbers import (
    AuthenticationError,
    ForbiddenError,
    NotFoundError,
    NumbersClient,
    RetryPolicy,
    TransportError,
)
from bwnumbers.testing import BandwidthEmulator


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (nobody else takes it), not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# ---------------------------------------------------------------- 404


@pytest.mark.parametrize(
    ("call", "request_line"),
    [
        ("get_order", "GET /orders/nope"),
        ("get_order_history", "GET /orders/nope/history"),
        ("close_order", "PUT /orders/nope"),
    ],
)
async def test_not_found_names_the_order_once(
    bandwidth_emulator: BandwidthEmulator, call: str, request_line: str
) -> None:
    """A 404 for an unknown order names the request and the order id once, not twice."""
    async with bandwidth_emulator.client() as client:
        with pytest.raises(NotFoundError) as info:
            await getattr(client, call)("nope")
    assert str(info.value) == (
        f"Bandwidth answered HTTP 404 to {request_line}: The resource does not exist."
    )
    assert info.value.order_id == "nope"


# ---------------------------------------------------------------- 401 and 403


async def test_refused_client_credentials_token_names_the_client(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """A token from another environment's token URL: the 401 names the client id and both URLs."""
    async with BandwidthEmulator() as elsewhere:
        client = NumbersClient(
            account_id=bandwidth_emulator.account_id,
            base_url=bandwidth_emulator.base_url,
            token_url=elsewhere.token_url,
            client_id=elsewhere.client_id,
            client_secret=elsewhere.client_secret,
        )
        async with client:
            with pytest.raises(AuthenticationError) as info:
                await client.get_order("o-1")
    assert str(info.value) == (
        "Bandwidth answered HTTP 401 with Bandwidth error code 1001 to GET /orders/o-1: Access "
        f"Denied. The request used client id {elsewhere.client_id!r}, and Bandwidth refused its "
        "freshly issued access token: check that the client may use account "
        f"{bandwidth_emulator.account_id} at base_url={bandwidth_emulator.base_url!r} and that "
        f"token_url={elsewhere.token_url!r} is in the same Bandwidth environment."
    )


async def test_refused_static_token_says_it_is_static(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """A revoked static token: the 401 says a static token was used and what to check."""
    token = bandwidth_emulator.issue_token()
    bandwidth_emulator.revoke_tokens()
    async with bandwidth_emulator.client(access_token=token) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.get_order("o-1")
    assert str(info.value) == (
        "Bandwidth answered HTTP 401 with Bandwidth error code 1001 to GET /orders/o-1: Access "
        "Denied. The request used a static access token, which bwnumbers never refreshes: "
        f"check that it has not expired and was issued for account "
        f"{bandwidth_emulator.account_id} at base_url={bandwidth_emulator.base_url!r}, or pass "
        "access_token= an async callable, or client_id= and client_secret=, so that tokens are "
        "renewed."
    )


async def test_refused_token_callable_says_it_was_asked_twice(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """A callable whose tokens are all refused: the 401 names the callable and the account."""

    async def expired() -> tuple[str, float]:
        return bandwidth_emulator.issue_token(lifetime=-1), 3600.0

    async with bandwidth_emulator.client(access_token=expired) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.get_order("o-1")
    text = str(info.value)
    assert "The request used an access-token callable" in text
    assert "refused its token twice" in text
    assert f"account {bandwidth_emulator.account_id} at base_url=" in text


async def test_refused_api_user_names_the_user(bandwidth_emulator: BandwidthEmulator) -> None:
    """A wrong legacy password: the 401 names the API user, the account and the deadline."""
    with pytest.warns(DeprecationWarning, match="2026-12-02"):
        client = bandwidth_emulator.client(username="api-user-7", password="not-it")
    async with client:
        with pytest.raises(AuthenticationError) as info:
            await client.get_order("o-1")
    assert str(info.value) == (
        "Bandwidth answered HTTP 401 with Bandwidth error code 1001 to GET /orders/o-1: Access "
        "Denied. The request used API user 'api-user-7' (legacy HTTP Basic): check its user name "
        f"and password and that it may use account {bandwidth_emulator.account_id} at "
        f"base_url={bandwidth_emulator.base_url!r}; API users stop working on 2026-12-02, so "
        "switch to client_id= and client_secret=."
    )


async def test_forbidden_names_the_credentials_role_and_account(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """A 403 says which credentials were accepted but not allowed, and to check role and account."""
    async with bandwidth_emulator.client(account_id="5550000") as client:
        with pytest.raises(ForbiddenError) as info:
            await client.get_order("o-1")
    assert str(info.value) == (
        "Bandwidth answered HTTP 403 with Bandwidth error code 1001 to GET /orders/o-1: The user "
        f"is not authorized for this action. The request used client id "
        f"{bandwidth_emulator.client_id!r}, which Bandwidth accepted but does not allow to do "
        "this: check in the Bandwidth App that it has the role this request needs (the Numbers "
        "role, to search and order numbers) and access to account 5550000."
    )


# ---------------------------------------------------------------- transport


async def test_connection_refused_names_address_and_attempts(
    closed_port: int, sleeps: list[float]
) -> None:
    """A closed port: host:port, "connection refused", the attempts made, no "ssl:default"."""
    async with NumbersClient(
        account_id="1",
        access_token="t0ken",
        base_url=f"http://127.0.0.1:{closed_port}/api",
        retry=RetryPolicy(attempts=3),
    ) as client:
        with pytest.raises(TransportError) as info:
            await client.get_order("o-1")
    address = f"127.0.0.1:{closed_port}"
    assert str(info.value) == (
        f"Could not connect to {address} for GET /orders/o-1: connection refused (tried 3 "
        f"times). Check base_url= and that the server is running and listening on {address}."
    )
    assert (info.value.address, info.value.attempts) == (address, 3)
    assert info.value.request_sent is False
    assert len(sleeps) == 2


async def test_https_connection_refused_does_not_mention_tls(closed_port: int) -> None:
    """TLS is named only when TLS failed: a refused https connection never got that far."""
    async with NumbersClient(
        account_id="1",
        access_token="t0ken",
        base_url=f"https://127.0.0.1:{closed_port}/api",
        retry=RetryPolicy(attempts=1),
    ) as client:
        with pytest.raises(TransportError) as info:
            await client.get_order("o-1")
    assert "connection refused (tried once)" in str(info.value)
    assert "ssl" not in str(info.value).lower()
    assert "tls" not in str(info.value).lower()


async def test_unreachable_token_endpoint_points_at_token_url(
    closed_port: int, sleeps: list[float]
) -> None:
    """The token request names its own setting, token_url=, and its own attempts."""
    async with NumbersClient(
        account_id="1",
        client_id="cid-1",
        client_secret="s3cret-xyz",
        base_url=f"http://127.0.0.1:{closed_port}/api",
        retry=RetryPolicy(attempts=2),
    ) as client:
        with pytest.raises(TransportError) as info:
            await client.get_order("o-1")
    assert str(info.value).startswith(
        f"Could not connect to 127.0.0.1:{closed_port} for POST /api/v1/oauth2/token: "
        "connection refused (tried twice). Check token_url= "
    )


async def test_https_to_a_plain_http_server_names_the_tls_handshake(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """https:// to the plain-http emulator fails in TLS, and the message says to check http://."""
    async with NumbersClient(
        account_id="1",
        access_token="t0ken",
        base_url=bandwidth_emulator.base_url.replace("http://", "https://"),
        retry=RetryPolicy(attempts=1),
    ) as client:
        with pytest.raises(TransportError) as info:
            await client.get_order("o-1")
    address = f"127.0.0.1:{bandwidth_emulator.port}"
    assert str(info.value).startswith(
        f"The TLS handshake with {address} failed for GET /orders/o-1: "
    )
    assert f"Check that {address} speaks https (a plain-http server needs http://" in str(
        info.value
    )


async def test_untrusted_certificate_says_which_and_what_to_pass() -> None:
    """A certificate from an unknown CA: the message names the certificate and ssl_context=."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    async with (
        BandwidthEmulator(ssl_context=context) as emulator,
        emulator.client(retry=RetryPolicy(attempts=1)) as client,
    ):
        with pytest.raises(TransportError) as info:
            await client.authenticate()
    text = str(info.value)
    assert text.startswith(
        f"The TLS handshake with 127.0.0.1:{emulator.port} failed for POST /api/v1/oauth2/token: "
        "the server's certificate was not accepted ("
    )
    assert "(tried once). Check that token_url= names the host" in text
    assert "ssl_context=" in text


async def test_timeout_names_the_seconds_and_attempts(
    bandwidth_emulator: BandwidthEmulator, sleeps: list[float]
) -> None:
    """A slow answer: the seconds waited per attempt, the attempts, and timeout= to raise."""
    bandwidth_emulator.faults.response_delay = 0.3
    async with bandwidth_emulator.client(timeout=0.05, retry=RetryPolicy(attempts=2)) as client:
        with pytest.raises(TransportError) as info:
            await client.get_order("o-1")
    assert str(info.value) == (
        f"GET /orders/o-1 to 127.0.0.1:{bandwidth_emulator.port} got no complete answer within "
        "0.05 s (tried twice). The server may be slow or overloaded: try again later, or raise "
        "timeout=."
    )


def test_transport_error_reads_as_sentences_before_and_after_retries() -> None:
    """Before the retry loop sets attempts (as in DEBUG logs), the hint is still a new sentence."""
    error = TransportError("Could not connect to h:1 for GET /x: connection refused", hint="Check.")
    assert str(error) == "Could not connect to h:1 for GET /x: connection refused. Check."
    error.attempts = 4
    assert (
        str(error)
        == "Could not connect to h:1 for GET /x: connection refused (tried 4 times). Check."
    )
    assert str(TransportError("Plain message.")) == "Plain message."
