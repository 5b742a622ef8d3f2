"""A real ``redis-server`` for tests: one subprocess on a unix socket, stopped, killed, restarted.

Redis listens on a unix socket only (``--port 0`` disables TCP; it does not pick a free port),
so parallel tests never race for a port. The data directory holds the AOF when *appendonly* is
on, so a restart with ``keep_data=True`` brings the data back; ``keep_data=False`` deletes it
first and Redis comes back empty, as after a crash without persistence. Everything Redis
prints goes to ``redis.log`` in the directory, whose tail is in the error when it fails to
start.

Tests get one through the ``redis_server`` fixture of ``tests/conftest.py``, or start their
own with ``async with RedisServer(directory) as server``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import redis.asyncio

#: How long Redis gets to answer PING after it was spawned.
START_TIMEOUT = 10.0
#: How long a SIGTERMed Redis gets to exit before it is killed.
STOP_TIMEOUT = 10.0
#: Linux's sockaddr_un holds 108 bytes with the terminating NUL.
MAX_SOCKET_PATH = 107
LOG_NAME = "redis.log"
#: Files in which Redis 7 persists data: the RDB snapshot and the AOF directory.
DATA_NAMES = ("dump.rdb", "appendonlydir")
_POLL_SECONDS = 0.01


class RedisServerError(RuntimeError):
    """The redis-server subprocess did not start or did not behave."""


class RedisServer:
    """One ``redis-server`` subprocess with its data in *directory*, on a unix socket.

    Args:
        directory: where Redis keeps its AOF/RDB files and its log (must exist).
        appendonly: persist every write to an AOF (``appendfsync always``), so the data
            survives :meth:`kill` and :meth:`restart`.
        maxmemory_policy: Redis's eviction policy (default ``noeviction``, the one bwnumbers
            documents; give ``allkeys-lru`` to test the warning about an evicting Redis).
        extra_args: more ``redis-server`` arguments, such as ``("--maxmemory", "10mb")``.
    """

    def __init__(
        self,
        directory: Path,
        *,
        appendonly: bool = False,
        maxmemory_policy: str = "noeviction",
        extra_args: Sequence[str] = (),
    ) -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.maxmemory_policy = maxmemory_policy
        self.extra_args = tuple(extra_args)
        self.log_path = directory / LOG_NAME
        # The socket stays at one path across restarts, so clients reconnect to the same URL.
        socket_path = directory / "r.sock"
        self._socket_dir: Path | None = None
        if len(os.fsencode(socket_path)) > MAX_SOCKET_PATH:
            # pytest's tmp_path can be too long for a unix socket address.
            self._socket_dir = Path(tempfile.mkdtemp(prefix="bwr"))
            socket_path = self._socket_dir / "r.sock"
        self.socket_path = socket_path
        self._process: asyncio.subprocess.Process | None = None

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<RedisServer {self.url} {state}>"

    @property
    def url(self) -> str:
        """The URL ``redis.asyncio.from_url`` takes, ``unix://<socket path>``."""
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        """The process id of the running server, or None."""
        return self._process.pid if self._is_running() and self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the server process was started and has not exited."""
        return self._is_running()

    def _is_running(self) -> bool:
        # A method, not the property, inside this class: mypy would take a property it saw
        # false once for false forever, across the awaits that change it.
        return self._process is not None and self._process.returncode is None

    def command(self) -> list[str]:
        """The ``redis-server`` command line :meth:`start` runs."""
        return [
            "redis-server",
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
            "--maxmemory-policy", self.maxmemory_policy,
            # DEBUG SLEEP hangs the server for stall tests; Redis 7 refuses DEBUG by default.
            "--enable-debug-command", "local",
            "--daemonize", "no",
            *self.extra_args,
        ]  # fmt: skip

    async def start(self) -> None:
        """Spawn Redis and return once it answers PING (after loading its AOF).

        Raises:
            RedisServerError: it exited or did not answer within 10 s (with its log's tail).
        """
        if self.running:
            raise RuntimeError(f"{self!r} is already running; stop it before starting it again.")
        log = self._open_log()
        try:
            # Redis logs to stdout by default; config errors go to stderr: both to the log.
            self._process = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        finally:
            os.close(log)
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while not await self._answers_ping():
                    if not self._is_running():
                        raise RedisServerError(self._failure("exited while starting"))
                    await asyncio.sleep(_POLL_SECONDS)
        except TimeoutError:
            await self.kill()
            raise RedisServerError(
                self._failure(f"did not answer PING within {START_TIMEOUT:g} s")
            ) from None
        except BaseException:
            await self.kill()
            raise

    async def stop(self) -> None:
        """SIGTERM (Redis shuts down cleanly, flushing its AOF) and wait; kill if it hangs."""
        await self._end(signal.SIGTERM)

    async def kill(self) -> None:
        """SIGKILL and wait: a crash, with no shutdown of any kind."""
        await self._end(signal.SIGKILL)

    async def restart(
        self, downtime: float = 0.0, *, keep_data: bool = True, graceful: bool = False
    ) -> None:
        """Kill Redis (or stop it, when *graceful*), wait *downtime* seconds, start it again.

        With ``keep_data=False`` its AOF and RDB files are deleted first, so it comes back
        empty. With ``keep_data=True`` it comes back with what it had persisted: everything
        when *appendonly* is on, nothing when it is off (there are no snapshots).
        """
        if graceful:
            await self.stop()
        else:
            await self.kill()
        if not keep_data:
            self.delete_data()
        if downtime > 0:
            await asyncio.sleep(downtime)
        await self.start()

    def delete_data(self) -> None:
        """Delete the files Redis persists data in (only while it is not running)."""
        if self.running:
            raise RuntimeError(f"{self!r} is running; stop it before deleting its data.")
        for name in DATA_NAMES:
            path = self.directory / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)

    def client(self, **kwargs: Any) -> redis.asyncio.Redis:
        """A new client of this server answering ``str``; the caller closes it (``aclose()``).

        *kwargs* go to :class:`redis.asyncio.Redis` (``retry=``, ``socket_timeout=``, ...).
        """
        kwargs.setdefault("decode_responses", True)
        return redis.asyncio.Redis(unix_socket_path=str(self.socket_path), **kwargs)

    @contextlib.asynccontextmanager
    async def inspect(self, **kwargs: Any) -> AsyncIterator[redis.asyncio.Redis]:
        """``async with server.inspect() as r``: :meth:`client`, closed on exit."""
        inspector = self.client(**kwargs)
        try:
            yield inspector
        finally:
            await inspector.aclose()

    async def blip(self) -> int:
        """Cut every normal client connection (``CLIENT KILL TYPE normal``); return how many.

        The connection issuing the command is spared (``SKIPME yes``, Redis's default), so the
        count is of the others: what a network blip or a Redis ``timeout`` would cut.
        """
        async with self.inspect() as inspector:
            return int(await inspector.client_kill_filter(_type="normal", skipme=True))

    async def client_count(self) -> int:
        """How many client connections Redis has, not counting the one asking."""
        async with self.inspect(single_connection_client=True) as inspector:
            me = await inspector.client_id()
            return sum(1 for entry in await inspector.client_list() if int(entry["id"]) != me)

    def close(self) -> None:
        """Last resort for fixtures: SIGKILL a server still running, remove the socket dir.

        Synchronous and without waiting; the normal way out is :meth:`stop` or :meth:`kill`.
        """
        if self.running and self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, signal.SIGKILL)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    async def __aenter__(self) -> RedisServer:
        try:
            await self.start()
        except BaseException:
            self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.stop()
        finally:
            self.close()

    async def _end(self, how: signal.Signals) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(how)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def _answers_ping(self) -> bool:
        """Whether Redis answers PING with PONG (not LOADING) on its socket, in plain RESP."""
        try:
            reader, writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError:  # no socket yet, or a stale one left by a killed server
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

    def _open_log(self) -> int:
        return os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def _failure(self, what: str) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        tail = "\n".join(lines[-20:]) or "(the log is empty)"
        return f"redis-server {what}; the end of {self.log_path}:\n{tail}"
