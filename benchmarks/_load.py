"""A lean HTTP/1.1 load generator: keep-alive connections, raw bytes, no client library.

It is far cheaper per request than any HTTP client library, so the server under test, not the
generator, limits the measured rate. Both receivers are measured with the same generator.
"""

from __future__ import annotations

import asyncio
import time

import attrs


@attrs.frozen
class LoadResult:
    requests: int
    seconds: float
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


class _Connection(asyncio.Protocol):
    def __init__(self, requests: list[bytes], deadline: float, statuses: dict[int, int]) -> None:
        self._requests = requests
        self._deadline = deadline
        self._statuses = statuses
        self._buffer = b""
        self._next = 0
        self._transport: asyncio.Transport | None = None
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.count = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._send()

    def _send(self) -> None:
        assert self._transport is not None
        self._transport.write(self._requests[self._next % len(self._requests)])
        self._next += 1

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end]
            length = 0
            marker = head.lower().find(b"content-length:")
            if marker >= 0:
                length = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            if len(self._buffer) < end + 4 + length:
                return
            status = int(head[9:12])
            self._statuses[status] = self._statuses.get(status, 0) + 1
            self._buffer = self._buffer[end + 4 + length :]
            self.count += 1
            if time.perf_counter() >= self._deadline:
                assert self._transport is not None
                self._transport.close()
                return
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.count)


def build_request(path: str, port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def run_load(
    port: int, requests: list[bytes], *, connections: int, seconds: float
) -> LoadResult:
    """Keep *connections* busy for *seconds*; return how many answers came back."""
    loop = asyncio.get_running_loop()
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    deadline = started + seconds
    protocols = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(
            lambda: _Connection(requests, deadline, statuses), "127.0.0.1", port
        )
        protocols.append(protocol)
    counts = await asyncio.gather(*(p.done for p in protocols))
    return LoadResult(sum(counts), time.perf_counter() - started, statuses)
