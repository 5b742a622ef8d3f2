"""A TCP proxy in front of Redis for fault tests: slow links, partitions, dropped connections.

Shaped like the ``DelayProxy`` of redis-py's ``tests/test_asyncio/test_cwe_404.py``: clients
connect to 127.0.0.1 and each connection is relayed, chunk by chunk, to Redis on its unix
socket (or on a host and port). On top of a per-chunk *delay* it can stop relaying while
keeping every connection open (:meth:`DelayProxy.pause`, a network partition: commands hang
rather than fail) and close every relayed connection at once (:meth:`DelayProxy.drop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from types import TracebackType

#: Bytes relayed per read, as in redis-py's proxy.
CHUNK = 65536


class DelayProxy:
    """Relays TCP connections on 127.0.0.1 to *target*, with faults on demand.

    Args:
        target: a unix socket path (a ``str`` or a path), or a ``(host, port)`` pair.
        delay: seconds to wait before relaying each chunk, both ways (changeable any time).

    Use it as ``async with DelayProxy(server.socket_path) as proxy`` and connect clients to
    :attr:`url`.
    """

    def __init__(
        self, target: str | os.PathLike[str] | tuple[str, int], *, delay: float = 0.0
    ) -> None:
        self.target = target
        self.delay = delay
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._connections: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        state = "paused" if self.paused else "relaying"
        return f"<DelayProxy {self._port or 'not started'} -> {self.target!s} {state}>"

    @property
    def url(self) -> str:
        """The URL to give redis-py, ``redis://127.0.0.1:PORT``."""
        if self._port is None:
            raise RuntimeError("The proxy has no URL until it is started.")
        return f"redis://127.0.0.1:{self._port}"

    @property
    def paused(self) -> bool:
        return not self._flowing.is_set()

    @property
    def connection_count(self) -> int:
        """How many client connections are being relayed."""
        return len(self._connections)

    def pause(self) -> None:
        """Stop relaying both ways; connections stay open and what is sent waits: a partition."""
        self._flowing.clear()

    def resume(self) -> None:
        """Relay again, starting with what waited during the pause."""
        self._flowing.set()

    async def drop(self) -> int:
        """Close every relayed connection (both sides); return how many there were."""
        connections = list(self._connections)
        for connection in connections:
            connection.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        return len(connections)

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        if self._server is not None:
            raise RuntimeError("The proxy is already started.")
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every relayed connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self.drop()
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> DelayProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if isinstance(self.target, tuple):
            return await asyncio.open_connection(*self.target)
        return await asyncio.open_unix_connection(os.fspath(self.target))

    async def _relay(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            try:
                target_reader, target = await self._open_target()
            except OSError:
                return  # the target is down: the client sees its connection closed
            try:
                pipes = {
                    asyncio.create_task(self._pipe(client_reader, target)),
                    asyncio.create_task(self._pipe(target_reader, client)),
                }
                try:
                    # Either side closing ends the connection, as it would without the proxy.
                    await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for pipe in pipes:
                        pipe.cancel()
                    await asyncio.gather(*pipes, return_exceptions=True)
            finally:
                await _close(target)
        finally:
            await _close(client)
            self._connections.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(CHUNK):
            await self._flowing.wait()
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            # A pause that began during the delay holds the chunk too.
            await self._flowing.wait()
            writer.write(chunk)
            await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
