"""Adversarial input on the receiver and the notification parser."""

from __future__ import annotations

import asyncio
import base64
import gzip
import http.client
import os
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bwnumbers import CallbackReceiver, DecodeError, Notification, parse_notification
from tests.conftest import sample

VALID = sample("notification_complete.xml")
VALID_SAMPLES = [
    sample(name)
    for name in (
        "notification_complete.xml",
        "notification_failed.xml",
        "notification_generic.xml",
        "notification_wild.xml",
        "notification_event.xml",
    )
]
USER, PASSWORD = "cb", "cb-password"
GOOD_AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def parses_or_refuses(body: bytes) -> Notification | None:
    """parse_notification's contract: a Notification, or DecodeError, and nothing else."""
    try:
        return parse_notification(body)
    except DecodeError as exc:
        message = str(exc)
    assert "\n" not in message
    return None


# ---------------------------------------------------------------- property-based parsing


@given(st.binary(max_size=4096))
def test_arbitrary_bytes(body: bytes) -> None:
    """Random bytes give a Notification or a DecodeError."""
    parses_or_refuses(body)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(st.sampled_from(VALID_SAMPLES)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if action == "insert":
            body[position:position] = chunk
        elif action == "delete":
            del body[position : position + len(chunk)]
        elif action == "replace":
            body[position : position + len(chunk)] = chunk
        else:
            body[position:position] = body[position : position + 40]
    return bytes(body)


@given(mutated())
def test_mutated_notifications(body: bytes) -> None:
    """Mutations of real notifications never escape as anything but DecodeError."""
    parses_or_refuses(body)


@given(
    st.sampled_from(VALID_SAMPLES), st.binary(min_size=1, max_size=4).filter(lambda b: b[0] >= 0x80)
)
def test_invalid_utf8_in_text(body: bytes, junk: bytes) -> None:
    """Invalid UTF-8 inside an element is refused cleanly."""
    parses_or_refuses(body.replace(b"COMPLETE", b"COMP" + junk + b"LETE", 1))


# Not ASCII, and the right single quotation mark is in windows-1252 but not in ISO-8859-1, so
# both ways the encoder writes a character (its own byte, or a character reference) are read back.
NOTE = "Zo\u00eb\u2019s caf\u00e9"


def declared_as(declared: str, codec: str) -> bytes:
    """VALID with a <Note> of NOTE, declared as *declared* and encoded with Python's *codec*.

    Characters *codec* cannot carry become character references, which every parser reads back.
    """
    text = VALID.decode().replace('encoding="UTF-8"', f'encoding="{declared}"')
    text = text.replace("<Status>", f"<Note>{NOTE}</Note><Status>", 1)
    return text.encode(codec, errors="xmlcharrefreplace")


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        ("UTF-8", "utf-8"),
        ("UTF-16", "utf-16"),  # with its byte order mark
        ("UTF-16LE", "utf-16-le"),  # no byte order mark: expat knows these names
        ("UTF-16BE", "utf-16-be"),
        ("ISO-8859-1", "iso-8859-1"),
        ("US-ASCII", "us-ascii"),
        ("windows-1252", "cp1252"),  # single-byte: pyexpat reads it through Python's codec
    ],
)
def test_declared_encodings(declared: str, codec: str) -> None:
    """A document in an encoding the parser reads, declared correctly, decodes the same."""
    data = declared_as(declared, codec)
    if codec == "utf-16":
        assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    notification = parse_notification(data)
    assert notification.note == NOTE
    assert notification == parse_notification(declared_as("UTF-8", "utf-8"))
    assert notification.completed_numbers == ("5402278098",)


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        # Python's spellings, unknown to expat: pyexpat's fallback takes single-byte codecs only.
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("Shift_JIS", "shift_jis"),
        ("UTF-32", "utf-32"),
    ],
)
def test_encodings_expat_cannot_read_are_refused(declared: str, codec: str) -> None:
    """Multi-byte encodings expat does not know are a one-line DecodeError, nothing else."""
    with pytest.raises(DecodeError, match=r"^The body is not well-formed XML \(") as info:
        parse_notification(declared_as(declared, codec))
    assert "\n" not in str(info.value)


def test_bom_and_mismatched_encodings() -> None:
    """A UTF-8 BOM is fine; a wrong or unknown declared encoding is a DecodeError."""
    assert parse_notification(b"\xef\xbb\xbf" + VALID).status == "COMPLETE"
    lying = VALID.replace(b'encoding="UTF-8"', b'encoding="UTF-16"')
    assert parses_or_refuses(lying) is None
    unknown = VALID.replace(b'encoding="UTF-8"', b'encoding="klingon"')
    assert parses_or_refuses(unknown) is None


# ---------------------------------------------------------------- the XML attack corpus

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<Notification><Status>&lol9;</Status></Notification>"""
QUADRATIC = (
    b'<!DOCTYPE n [<!ENTITY a "' + b"x" * 20_000 + b'">]><Notification><Status>'
    + b"&a;" * 2_000 + b"</Status></Notification>"
)  # fmt: skip
PARAMETER_ENTITY = (
    b"<!DOCTYPE n [<!ENTITY % p \"<!ENTITY e 'x'>\"> %p;]><Notification>&e;</Notification>"
)


def external_entity(url: str) -> bytes:
    return (
        f'<!DOCTYPE n [<!ENTITY e SYSTEM "{url}">]><Notification><Status>&e;</Status>'
        "</Notification>"
    ).encode()


def external_dtd(url: str) -> bytes:
    return f'<!DOCTYPE Notification SYSTEM "{url}"><Notification/>'.encode()


class ConnectionCounter:
    """A loopback TCP server that only counts who connects (it must stay at zero)."""

    def __init__(self) -> None:
        self.connections = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ConnectionCounter:
        async def count(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self._server = await asyncio.start_server(count, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/evil.dtd"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def test_attack_corpus_is_refused_fast_without_reads_or_connections(tmp_path: Path) -> None:
    """Every classic XML attack is a DecodeError in milliseconds; no file read, no connection."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    async with ConnectionCounter() as counter:
        corpus = [
            BILLION_LAUGHS,
            QUADRATIC,
            PARAMETER_ENTITY,
            external_entity(secret.as_uri()),
            external_entity(counter.url),
            external_dtd(counter.url),
            external_dtd(secret.as_uri()),
            b"<!DOCTYPE Notification><Notification/>",
            b"<Notification>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Notification>",
            b"<Notification>" + b"<x/>" * 200_000 + b"</Notification>",
        ]
        for body in corpus:
            started = time.perf_counter()
            with pytest.raises(DecodeError) as info:
                parse_notification(body)
            assert time.perf_counter() - started < 1.0
            assert "TOP-SECRET" not in str(info.value)
            assert "TOP-SECRET" not in repr(info.value.body)
        await asyncio.sleep(0.05)
        assert counter.connections == 0


async def test_attack_corpus_over_http(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Over HTTP the corpus gets 400 (413 when over max_body) and the server keeps serving."""
    corpus = [
        BILLION_LAUGHS,
        QUADRATIC,
        PARAMETER_ENTITY,
        external_entity((tmp_path / "x").as_uri()),
        b"<!DOCTYPE Notification><Notification/>",
        b"<Notification>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Notification>",
        b"<Notification>" + b"<x/>" * 200_000 + b"</Notification>",
    ]
    async with (
        CallbackReceiver(max_body=4 * 1024 * 1024) as roomy,
        CallbackReceiver() as default,
        aiohttp.ClientSession() as http,
    ):
        for body in corpus:
            async with http.post(roomy.url, data=body) as response:
                assert response.status == 400
            async with http.post(default.url, data=body) as response:
                assert response.status == (400 if len(body) <= default.max_body else 413)
        async with http.post(roomy.url, data=VALID) as response:
            assert response.status == 200
    assert "RecursionError" not in caplog.text


# ---------------------------------------------------------------- size, compression, time


async def test_gzip_bomb_is_413_with_bounded_memory() -> None:
    """A small gzip body that inflates to 100 MB is refused while inflating, in little memory."""
    bomb = gzip.compress(b"<Notification>" + b" " * (100 * 1024 * 1024) + b"</Notification>")
    async with CallbackReceiver() as receiver, aiohttp.ClientSession() as http:
        tracemalloc.start()
        try:
            async with http.post(
                receiver.url, data=bomb, headers={"Content-Encoding": "gzip"}
            ) as response:
                assert response.status == 413
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"
        async with http.post(receiver.url, data=VALID) as response:
            assert response.status == 200


async def test_compressed_notifications_are_accepted() -> None:
    """A small gzip or deflate notification is inflated and accepted; unknown codings get 415."""
    async with CallbackReceiver() as receiver, aiohttp.ClientSession() as http:
        for encoding, data in (("gzip", gzip.compress(VALID)), ("deflate", zlib.compress(VALID))):
            async with http.post(
                receiver.url, data=data, headers={"Content-Encoding": encoding}
            ) as response:
                assert response.status == 200
        async with http.post(
            receiver.url, data=VALID, headers={"Content-Encoding": "br"}
        ) as response:
            assert response.status == 415
        async with http.post(
            receiver.url, data=b"not gzip", headers={"Content-Encoding": "gzip"}
        ) as response:
            assert response.status == 400
    assert receiver.waiters.unclaimed_count == 0  # stopped: the buffer was released


@pytest.mark.slow
async def test_dripped_body_times_out_while_others_are_served() -> None:
    """One byte a second hits the read timeout (408) while other callbacks get 200."""
    async with CallbackReceiver(read_timeout=1.5) as receiver, aiohttp.ClientSession() as http:

        async def drip() -> AsyncIterator[bytes]:
            for byte in VALID:
                yield bytes([byte])
                await asyncio.sleep(1)

        async def slow() -> tuple[int, float]:
            started = time.perf_counter()
            async with http.post(receiver.url, data=drip()) as response:
                return response.status, time.perf_counter() - started

        slow_task = asyncio.ensure_future(slow())
        for _ in range(5):
            await asyncio.sleep(0.2)
            async with http.post(receiver.url, data=VALID) as response:
                assert response.status == 200
        status, took = await slow_task
        assert status == 408
        assert took < 3.0


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic",
        "Basic " + base64.b64encode(b"cb:cb-passwor").decode(),  # wrong length
        "Basic " + base64.b64encode(b"cb:cb-password-and-more").decode(),
        "Basic " + base64.b64encode("cb:cb-pässword".encode("latin-1")).decode(),
        "Basic " + base64.b64encode("cb:cb-pässword".encode()).decode(),
        "Basic Y2I6Y2ItcGFzc3dvcmQ",  # missing padding
        "basic " + base64.b64encode(b"cb cb-password").decode(),
        "Bearer abc.def.ghi",
        "Digest username=cb",
        "Basic " + "A" * 8_000,
    ],
)
async def test_auth_matrix_over_raw_http(authorization: str | None) -> None:
    """Odd Authorization headers, even non-ASCII bytes, get the 401 challenge, never 500."""
    async with CallbackReceiver(username=USER, password=PASSWORD) as receiver:
        headers = {} if authorization is None else {"Authorization": authorization}
        status, challenge = await asyncio.to_thread(raw_post, receiver.port, VALID, headers)
        assert status == 401
        assert challenge.startswith("Basic realm=")


async def test_oversized_header_is_4xx() -> None:
    """A header beyond aiohttp's line limit is refused by the server with 400, not 5xx."""
    async with CallbackReceiver(username=USER, password=PASSWORD) as receiver:
        headers = {"Authorization": "Basic " + "A" * 10_000}
        status, _ = await asyncio.to_thread(raw_post, receiver.port, VALID, headers)
        assert status == 400
        status, _ = await asyncio.to_thread(
            raw_post, receiver.port, VALID, {"Authorization": GOOD_AUTH}
        )
        assert status == 200


async def test_latin1_header_bytes() -> None:
    """Raw Latin-1 bytes in the header (not base64) are a 401, not a crash."""
    async with CallbackReceiver(username=USER, password=PASSWORD) as receiver:
        status, _ = await asyncio.to_thread(
            raw_post, receiver.port, VALID, {"Authorization": "Basic \xe9\xe8"}
        )
        assert status == 401
        status, _ = await asyncio.to_thread(
            raw_post, receiver.port, VALID, {"Authorization": GOOD_AUTH}
        )
        assert status == 200


def raw_post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """A blocking stdlib POST (run in a thread), which sends header bytes as given."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("POST", "/bandwidth/callbacks")
        for name, value in headers.items():
            connection.putheader(name, value.encode("latin-1"))
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status, response.headers.get("WWW-Authenticate", "")
    finally:
        connection.close()


# ---------------------------------------------------------------- a live receiver under hypothesis


@pytest.fixture(scope="module")
def threaded_receiver() -> Iterator[CallbackReceiver]:
    """A receiver on its own loop in a thread, so synchronous hypothesis tests can hit it."""
    loop = asyncio.new_event_loop()
    receiver = CallbackReceiver(username=USER, password=PASSWORD, unclaimed_limit=100)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(receiver.start(), loop).result(10)
    try:
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(receiver.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(st.binary(max_size=2048), mutated()), authenticated=st.booleans())
def test_receiver_never_answers_5xx(
    threaded_receiver: CallbackReceiver, body: bytes, authenticated: bool
) -> None:
    """Whatever arrives, the answer is 200 or 4xx, and the unclaimed buffer stays bounded."""
    headers = {"Authorization": GOOD_AUTH} if authenticated else {}
    status, _ = raw_post(threaded_receiver.port, body, headers)
    assert status in (200, 400, 401, 413) if authenticated else status == 401
    assert len(threaded_receiver.waiters.unclaimed) <= 100


# ---------------------------------------------------------------- a flood of unknown orders


def resident_bytes() -> int:
    """The process's current resident memory (Linux), for growth checks."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
async def test_flood_of_unknown_orders_is_bounded() -> None:
    """100,000 notifications for unknown orders: all 200, buffer bounded, real orders still work."""
    limit = 1_000
    async with CallbackReceiver(unclaimed_limit=limit) as receiver:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as http:
            statuses: dict[int, int] = {}
            before = resident_bytes()

            async def send(start: int) -> None:
                for i in range(start, 100_000, 64):
                    order_id = f"unknown-{i}".encode()
                    body = VALID.replace(b"a8ef295b-fcf4-44a7-945c-0520c8f49123", order_id)
                    async with http.post(receiver.url, data=body) as response:
                        statuses[response.status] = statuses.get(response.status, 0) + 1
                    assert len(receiver.waiters.unclaimed) <= limit

            await asyncio.gather(*(send(start) for start in range(64)))
            growth = resident_bytes() - before
            assert statuses == {200: 100_000}
            assert receiver.waiters.unclaimed_count == limit
            assert growth < 64 * 1024 * 1024, f"resident memory grew by {growth} bytes"
            async with receiver.waiters.register(("orders", "real-customer-order")) as waiter:
                await waiter.bind("real-order")
                real = VALID.replace(b"a8ef295b-fcf4-44a7-945c-0520c8f49123", b"real-order")
                async with http.post(receiver.url, data=real) as response:
                    assert response.status == 200
                assert waiter.future.result().order_id == "real-order"
