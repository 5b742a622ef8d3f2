"""No password, client secret, access token or Authorization value leaks anywhere."""

from __future__ import annotations

import base64
import logging
import re
import socket
import traceback
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from bwnumbers import BWNumbersError, NumbersClient, Search
from tests.conftest import ACCOUNT, BASE, PASSWORD, ROOT, sample

if TYPE_CHECKING:
    from aioresponses import aioresponses

CALLBACK_PASSWORD = "cb-Pa55word-xyz"
CLIENT_SECRET = "cl13nt-S3cret-abc"
ACCESS_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrIn0.bGVha3ktc2ln"
TOKEN_URL = "https://dashboard.example.test/api/v1/oauth2/token"
SECRETS = (
    PASSWORD,
    CALLBACK_PASSWORD,
    CLIENT_SECRET,
    ACCESS_TOKEN,
    base64.b64encode(f"api-user:{PASSWORD}".encode()).decode(),
    base64.b64encode(f"api-client:{CLIENT_SECRET}".encode()).decode(),
    "Authorization",
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


async def test_full_flow_at_debug_leaks_nothing(
    fake_http: aioresponses, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    """Every call and failure, logged at DEBUG, never shows a secret or token anywhere."""
    caplog.set_level(logging.DEBUG)
    orders = f"{ROOT}/orders"
    fake_http.post(TOKEN_URL, payload={"access_token": ACCESS_TOKEN, "expires_in": 3600})
    fake_http.post(TOKEN_URL, payload={"access_token": ACCESS_TOKEN + "2", "expires_in": 3600})
    fake_http.post(f"{ROOT}/subscriptions", status=201, headers={"Location": "x/sub-1"})
    fake_http.get(re.compile(r".*/availableNumbers.*"), body=sample("search_list.xml"))
    fake_http.post(orders, status=500, body=b"<html>boom</html>")
    fake_http.get(re.compile(rf"{re.escape(orders)}\?.*"), status=204)
    fake_http.get(f"{orders}/o1", status=401, body=b"<html>no</html>", repeat=True)
    fake_http.get(f"{orders}/o2", exception=aiohttp.ServerDisconnectedError(), repeat=True)
    fake_http.get(f"{orders}/o3", exception=TimeoutError(), repeat=True)
    fake_http.get(f"{orders}/o4", body=b"<OrderResponse>")

    errors: list[BaseException] = []
    async with NumbersClient(
        account_id=ACCOUNT, client_id="api-client", client_secret=CLIENT_SECRET, base_url=BASE
    ) as client:
        auth: Any = client._auth
        texts = [repr(client), repr(await client.authenticate()), repr(auth)]
        texts += [repr(auth._cache), repr(auth._cache._source)]
        await client.create_subscription(
            "https://me.test/bw", username="cb", password=CALLBACK_PASSWORD
        )
        await client.search_available_numbers(Search(npa_nxx="540551"))
        for call in (
            client.create_order(site_id="743", numbers=["5402278098"]),
            client.get_order("o1"),
            client.get_order("o2"),
            client.get_order("o3"),
            client.get_order("o4"),
        ):
            with pytest.raises(BWNumbersError) as info:
                await call
            errors.append(info.value)

    # The token endpoint's failures, and the legacy Basic user, leak nothing either.
    for status, body in (
        (401, b'{"error":"invalid_client"}'),
        (404, b""),
        (503, b"<html>down</html>"),
        (200, b"<html>not json</html>"),
        (200, b'{"access_token": "' + ACCESS_TOKEN.encode() + b'", "expires_in": "soon"}'),
    ):
        fake_http.post(TOKEN_URL, status=status, body=body, repeat=status == 503)
        async with NumbersClient(
            account_id=ACCOUNT, client_id="api-client", client_secret=CLIENT_SECRET, base_url=BASE
        ) as failing:
            with pytest.raises(BWNumbersError) as info:
                await failing.get_order("o1")
            errors.append(info.value)
        fake_http.clear()
    fake_http.get(f"{orders}/o5", status=401, body=b"<html>no</html>")
    with pytest.warns(DeprecationWarning, match="2026-12-02"):
        legacy = NumbersClient(
            account_id=ACCOUNT, username="api-user", password=PASSWORD, base_url=BASE
        )
    async with legacy:
        texts.append(repr(legacy))
        with pytest.raises(BWNumbersError) as info:
            await legacy.get_order("o5")
        errors.append(info.value)

    assert len(errors) == 11
    for error in errors:
        for link in _chain(error):
            texts.extend(
                [str(link), repr(link), repr(vars(link)) if hasattr(link, "__dict__") else ""]
            )
            assert not hasattr(link, "request_info"), f"{type(link).__name__} carries request_info"
        texts.append("".join(traceback.format_exception(error)))
    texts.extend(record.getMessage() for record in caplog.records)
    assert any("<Password>***</Password>" in t for t in texts), "the body log was not exercised"
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


async def test_faulty_flow_on_the_emulator_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """Every fault of the hardening suite, at DEBUG, shows no credential anywhere."""
    from bwnumbers import (
        CallbackReceiver,
        OrderFailedError,
        PollPolicy,
        RetryPolicy,
        order_and_wait,
    )
    from bwnumbers.testing import BandwidthEmulator

    caplog.set_level(logging.DEBUG)
    api_password = "emulator-Pa55-zz"
    texts: list[str] = []
    errors: list[BaseException] = []
    polling = PollPolicy(first_poll=0.1, interval=0.1)
    async with (
        BandwidthEmulator(password=api_password) as emulator,
        emulator.client(retry=RetryPolicy(attempts=2, initial_backoff=0.01)) as client,
        CallbackReceiver(username="cb", password=CALLBACK_PASSWORD) as receiver,
    ):
        await client.ensure_subscription(receiver.url, username="cb", password=CALLBACK_PASSWORD)
        await client.create_subscription(receiver.url + "?x", username="cb", password="wrong-pw-1")
        for fault in ("500", "disconnect", "truncate"):
            emulator.faults.fail_next_order = fault  # type: ignore[assignment]
            await order_and_wait(client, receiver, site_id="743", search=Search(state="NJ"))
        emulator.faults.rate_limit_next = 1
        emulator.faults.rate_limit_reset = 0.01
        emulator.faults.drop_callbacks = 0.5
        emulator.faults.duplicate_callbacks = 0.5
        results = [
            await order_and_wait(
                client, receiver, site_id="743", search=Search(state="NJ"), polling=polling
            )
            for _ in range(4)
        ]
        emulator.take("5402278098")
        with pytest.raises(OrderFailedError) as failed:
            await order_and_wait(client, receiver, site_id="743", numbers=["5402278098"])
        errors.append(failed.value)
        async with emulator.client(client_secret="bad-" + api_password) as wrong:
            with pytest.raises(BWNumbersError) as unauthorized:
                await wrong.get_order("x")
            errors.append(unauthorized.value)
            texts.append(repr(wrong))
        emulator.faults.response_delay = 1.0
        async with emulator.client(timeout=0.1, retry=RetryPolicy(attempts=1)) as slow:
            with pytest.raises(BWNumbersError) as timed_out:
                await slow.get_order("x")
            errors.append(timed_out.value)
        emulator.faults.response_delay = 0
        await emulator.settle()
        texts += [repr(client), repr(receiver), repr(emulator), *map(repr, results)]
        texts += [repr(s) for s in await client.list_subscriptions()]
    token = emulator.issue_token()
    secrets = (
        api_password,
        "bad-" + api_password,
        emulator.client_secret,
        token.split(".")[0] + "." + token.split(".")[1][:20],  # any token's header and claims
        CALLBACK_PASSWORD,
        "wrong-pw-1",
        base64.b64encode(f"{emulator.username}:{api_password}".encode()).decode(),
        base64.b64encode(f"cb:{CALLBACK_PASSWORD}".encode()).decode(),
        "Authorization",
    )
    for error in errors:
        for link in _chain(error):
            texts += [str(link), repr(link), repr(getattr(link, "__dict__", ""))]
        texts.append("".join(traceback.format_exception(error)))
    texts.extend(record.getMessage() for record in caplog.records)
    assert any("<Password>***</Password>" in t for t in texts)
    for text in texts:
        for secret in secrets:
            assert secret not in text


async def test_refusal_and_connection_messages_leak_nothing(
    caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    """The 401, 403 and connection-failure messages name credentials but never a secret."""
    from bwnumbers import RetryPolicy
    from bwnumbers.testing import BandwidthEmulator

    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    async with BandwidthEmulator() as emulator, BandwidthEmulator() as elsewhere:
        revoked = emulator.issue_token()
        emulator.revoke_tokens()

        async def expired() -> tuple[str, float]:
            return revoked, 60.0

        with pytest.warns(DeprecationWarning, match="2026-12-02"):
            basic = emulator.client(username="api-user", password=PASSWORD)
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            unreachable = f"http://127.0.0.1:{closed.getsockname()[1]}/api"
            for client in (
                emulator.client(token_url=elsewhere.token_url, client_secret=CLIENT_SECRET),
                emulator.client(
                    token_url=elsewhere.token_url,
                    client_id=elsewhere.client_id,
                    client_secret=elsewhere.client_secret,
                ),
                emulator.client(access_token=revoked),
                emulator.client(access_token=expired),
                basic,
                emulator.client(account_id="5550000"),
                emulator.client(base_url=unreachable, retry=RetryPolicy(attempts=2)),
                emulator.client(base_url=unreachable, access_token=ACCESS_TOKEN),
            ):
                async with client:
                    with pytest.raises(BWNumbersError) as info:
                        await client.get_order("o-1")
                    errors.append(info.value)
        secrets = (
            PASSWORD,
            CLIENT_SECRET,
            ACCESS_TOKEN,
            revoked,
            emulator.client_secret,
            elsewhere.client_secret,
            base64.b64encode(f"api-user:{PASSWORD}".encode()).decode(),
            "Authorization",
        )
    texts = [record.getMessage() for record in caplog.records]
    for error in errors:
        for link in _chain(error):
            texts += [str(link), repr(link), repr(getattr(link, "__dict__", ""))]
        texts.append("".join(traceback.format_exception(error)))
    assert sum("The request used" in text for text in texts) >= 5, "no refusal was exercised"
    assert any("(tried twice)" in text for text in texts), "no connection failure was exercised"
    for text in texts:
        for secret in secrets:
            assert secret not in text
