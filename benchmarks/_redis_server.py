"""A throwaway ``redis-server`` for the benchmarks: a unix socket in a temporary directory.

``--port 0`` turns TCP off, so nothing listens beyond the socket and parallel runs never race
for a port. No persistence (``--save ''``, ``--appendonly no``): the benchmarks measure the
routing, and an AOF's fsync would measure the disk. The benchmarks do not import the tests'
harness (``tests/redis_server.py``), so this is the least of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import attrs

from ._emulator_process import _scheduled_ns

#: Seconds Redis gets to answer PING after it was spawned.
START_TIMEOUT = 10.0


def missing() -> str | None:
    """Why the Redis benchmarks cannot run here (no server, no redis-py), else ``None``."""
    if shutil.which("redis-server") is None:
        return "redis-server not found"
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        return "redis-py not installed (pip install 'bwnumbers[redis]')"
    return None


@attrs.frozen
class RedisProcess:
    """The running server: its URL (``unix://<socket>``) and process id."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (0.0 where the kernel does not say)."""
        return (_scheduled_ns(self.pid) or 0) / 1e9


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[RedisProcess]:
    """Run ``redis-server`` until the block ends."""
    with tempfile.TemporaryDirectory(prefix="bwbench") as directory:
        socket = Path(directory) / "r.sock"
        process = await asyncio.create_subprocess_exec(
            "redis-server", "--port", "0", "--unixsocket", str(socket), "--dir", directory,
            "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while not await _answers_ping(socket):
                    if process.returncode is not None:
                        raise RuntimeError(f"redis-server exited ({process.returncode})")
                    await asyncio.sleep(0.01)
            yield RedisProcess(f"unix://{socket}", process.pid)
        finally:
            if process.returncode is None:
                process.terminate()
            await process.wait()


async def _answers_ping(socket: Path) -> bool:
    try:
        reader, writer = await asyncio.open_unix_connection(socket)
    except OSError:  # no socket yet
        return False
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        return await reader.readline() == b"+PONG\r\n"
    except OSError:
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
