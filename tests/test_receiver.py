"""CallbackReceiver over real loopback HTTP: auth challenge, limits, decoding, hand-off."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from bwnumbers import (
    CallbackReceiver,
    Notification,
    OrderStatus,
    ValidationError,
    parse_notification,
)
from bwnumbers._receiver import RECEIVER_KEY
from tests.conftest import sample

USER, PASSWORD = "cb-user", "cb-Pa55"
GOOD = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
BODY = sample("notification_complete.xml")


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    """A started receiver with callback credentials on 127.0.0.1."""
    async with CallbackReceiver(username=USER, password=PASSWORD) as started:
        yield started


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes = BODY, **headers: str
) -> tuple[int, dict[str, str]]:
    async with http.post(url, data=body, headers=headers) as response:
        await response.read()
        return response.status, dict(response.headers)


async def test_url_and_port() -> None:
    """Port 0 becomes a real port; public_url overrides the URL given to Bandwidth."""
    async with CallbackReceiver(path="/bw") as receiver:
        assert receiver.port > 0
        assert receiver.url == f"http://127.0.0.1:{receiver.port}/bw"
    behind_proxy = CallbackReceiver(public_url="https://me.example/bw")
    assert behind_proxy.url == "https://me.example/bw"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "u"}, "both"),
        ({"password": "p"}, "both"),
        ({"path": "bw"}, "start with"),
        ({"public_url": "me.example/bw"}, "public_url"),
        ({"max_body": 0}, "max_body=0 must be a whole number of bytes >= 1"),
        ({"max_body": True}, "max_body=True must be a whole number"),
        ({"read_timeout": 0}, r"read_timeout=0 must be a number of seconds > 0"),
        ({"read_timeout": "5"}, r"read_timeout='5' must be a number of seconds"),
        ({"unclaimed_ttl": -1}, r"unclaimed_ttl=-1 must be a number of seconds >= 0"),
        ({"unclaimed_limit": 1.5}, r"unclaimed_limit=1.5 must be a whole number >= 0"),
    ],
)
def test_bad_configuration(kwargs: dict[str, object], message: str) -> None:
    """Misconfiguration is a ValidationError."""
    with pytest.raises(ValidationError, match=message):
        CallbackReceiver(**kwargs)  # type: ignore[arg-type]


async def test_challenge_then_accept(
    receiver: CallbackReceiver, http: aiohttp.ClientSession
) -> None:
    """Unauthenticated: 401 with WWW-Authenticate Basic; authenticated: 200, delivered."""
    async with receiver.waiters.register(("orders", "c-1")) as waiter:
        await waiter.bind("a8ef295b-fcf4-44a7-945c-0520c8f49123")
        status, headers = await post(http, receiver.url)
        assert status == 401
        assert headers["WWW-Authenticate"] == 'Basic realm="bwnumbers"'
        assert not waiter.future.done()
        status, _ = await post(http, receiver.url, Authorization=GOOD)
        assert status == 200
        assert waiter.future.result().status is OrderStatus.COMPLETE


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Basic ",
        "Bearer " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        "Basic " + base64.b64encode(f"other:{PASSWORD}".encode()).decode(),
        "Basic " + base64.b64encode(f"{USER}:wrong".encode()).decode(),
        "Basic " + base64.b64encode(f"{USER}:{PASSWORD}x".encode()).decode(),
        "Basic " + base64.b64encode(f"{USER}{PASSWORD}".encode()).decode(),
        "Basic " + base64.b64encode("cb-üser:pä".encode()).decode(),
        "Basic " + base64.b64encode("cb-\xfcser:p".encode("latin-1")).decode(),
        "Basic !!!not-base64!!!",
        "Basic w6k=",
    ],
)
async def test_auth_matrix(
    receiver: CallbackReceiver, http: aiohttp.ClientSession, authorization: str
) -> None:
    """Every wrong credential gets the 401 challenge, never a 500."""
    status, headers = await post(http, receiver.url, Authorization=authorization)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic")


async def test_unknown_orders_are_accepted_and_buffered(
    receiver: CallbackReceiver, http: aiohttp.ClientSession
) -> None:
    """A notification nobody waits for still gets 200 and waits in the unclaimed buffer."""
    status, _ = await post(http, receiver.url, Authorization=GOOD)
    assert status == 200
    assert receiver.waiters.unclaimed_count == 1


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<Notification><Status>COMPLETE</Status>",
        b"<OrderResponse/>",
        b'<!DOCTYPE n [<!ENTITY a "b">]><Notification>&a;</Notification>',
        b'<!DOCTYPE Notification SYSTEM "file:///etc/passwd"><Notification/>',
        b"<a>" * 100 + b"</a>" * 100,
    ],
)
async def test_bad_bodies_get_400_and_the_server_keeps_serving(
    receiver: CallbackReceiver, http: aiohttp.ClientSession, body: bytes
) -> None:
    """Malformed XML, DOCTYPEs and entities are 400; a good callback right after is 200."""
    status, _ = await post(http, receiver.url, body, Authorization=GOOD)
    assert status == 400
    status, _ = await post(http, receiver.url, Authorization=GOOD)
    assert status == 200


async def test_oversized_body_is_413(
    receiver: CallbackReceiver, http: aiohttp.ClientSession
) -> None:
    """Bodies over max_body are refused with 413, with or without Content-Length."""
    big = b"<Notification>" + b"x" * (70 * 1024) + b"</Notification>"
    status, _ = await post(http, receiver.url, big, Authorization=GOOD)
    assert status == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 10_000

    async with http.post(receiver.url, data=chunks(), headers={"Authorization": GOOD}) as resp:
        assert resp.status == 413
    status, _ = await post(http, receiver.url, Authorization=GOOD)
    assert status == 200


async def test_slow_body_is_408_while_others_are_served(http: aiohttp.ClientSession) -> None:
    """A body that trickles past read_timeout gets 408; other requests are served meanwhile."""
    async with CallbackReceiver(read_timeout=0.3) as receiver:

        async def drip() -> AsyncIterator[bytes]:
            for byte in BODY[:20]:
                yield bytes([byte])
                await asyncio.sleep(0.1)

        async def slow() -> int:
            async with http.post(receiver.url, data=drip()) as response:
                return response.status

        slow_task = asyncio.ensure_future(slow())
        await asyncio.sleep(0.05)
        assert (await post(http, receiver.url))[0] == 200
        assert await slow_task == 408


@pytest.mark.parametrize(("suffix", "refusal"), [("", 408), ("/nope", 404)])
async def test_stop_leaves_no_task_after_a_refused_body_whose_client_left(
    http: aiohttp.ClientSession, suffix: str, refusal: int
) -> None:
    """After a refusal whose client left mid-body, stop() leaves no server task still reading."""
    async with CallbackReceiver(read_timeout=0.1) as receiver:

        async def stalled() -> AsyncIterator[bytes]:
            yield BODY[:10]
            await asyncio.sleep(30)

        async with http.post(receiver.url + suffix, data=stalled()) as response:
            assert response.status == refusal
        await asyncio.sleep(0.05)  # the client has gone; aiohttp still waits for the rest
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_stop_leaves_the_connections_of_a_host_app_alone(
    http: aiohttp.ClientSession,
) -> None:
    """A receiver both mounted and started only cancels its own server's connections on stop()."""
    host_connections: list[asyncio.Task[None]] = []

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        host_connections.append(request.task)
        return await handler(request)

    receiver = CallbackReceiver(path="/bandwidth")
    host = web.Application(middlewares=[record])
    host.add_subapp("/hooks", receiver.app)
    runner = web.AppRunner(host)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await receiver.start()
        status, _ = await post(http, f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/bandwidth")
        assert status == 200
        await receiver.stop()
        assert not host_connections[0].done()  # the keep-alive connection is still served
    finally:
        await runner.cleanup()


async def test_other_methods_are_not_5xx(
    receiver: CallbackReceiver, http: aiohttp.ClientSession
) -> None:
    """GET on the endpoint is 405 and an unknown path 404: never 5xx."""
    async with http.get(receiver.url) as response:
        assert response.status == 405
    async with http.post(receiver.url + "/nope", data=BODY) as response:
        assert response.status == 404


async def test_on_notification_hook_runs_after_and_errors_are_swallowed(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """The hook sees every accepted notification; its exceptions never reach Bandwidth."""
    seen: list[Notification] = []

    async def hook(notification: Notification) -> None:
        seen.append(notification)
        raise RuntimeError("user bug")

    async with CallbackReceiver(on_notification=hook) as receiver:
        status, _ = await post(http, receiver.url)
        assert status == 200
    assert len(seen) == 1
    assert "on_notification hook failed" in caplog.text


async def test_mount_into_an_existing_app(http: aiohttp.ClientSession) -> None:
    """receiver.app mounts as a sub-application; the receiver is reachable by its AppKey."""
    receiver = CallbackReceiver(path="/bandwidth")
    parent = web.Application()
    parent.add_subapp("/hooks", receiver.app)
    assert receiver.app[RECEIVER_KEY] is receiver
    runner = web.AppRunner(parent)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        status, _ = await post(http, f"http://127.0.0.1:{port}/hooks/bandwidth")
        assert status == 200
        assert receiver.waiters.unclaimed_count == 1
    finally:
        await runner.cleanup()


async def test_deliver_for_other_frameworks() -> None:
    """parse_notification + deliver resolve a waiter without any aiohttp server."""
    receiver = CallbackReceiver()
    async with receiver.waiters.register(("orders", "my-order-1")) as waiter:
        receiver.deliver(parse_notification(sample("notification_generic.xml")))
        assert waiter.future.result().completed_numbers == ("5402278098", "5402278099")


async def test_stop_releases_waiters() -> None:
    """Stopping the receiver fails pending waits instead of leaving them forever."""
    receiver = CallbackReceiver()
    await receiver.start()
    async with receiver.waiters.register(("orders", "c-1")) as waiter:
        await receiver.stop()
        assert waiter.future.done()
        assert "closed" in str(waiter.future.exception())
        assert len(receiver.waiters) == 0


async def test_repr_has_no_password() -> None:
    """The receiver's repr never shows its password."""
    receiver = CallbackReceiver(username=USER, password=PASSWORD)
    assert PASSWORD not in repr(receiver)
