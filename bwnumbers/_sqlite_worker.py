"""One thread that owns an SQLite connection and commits the writes queued to it in groups.

``sqlite3`` blocks, so no call of it may run on the event loop. Like aiosqlite, one thread owns
the connection and is fed through a queue; unlike a plain executor it also batches: the worker
takes every job queued while it was busy and runs them in one transaction, so a burst of
writes pays one ``fsync`` rather than one each (group commit). A caller's await is resolved
only after the commit that holds its write, and each batch resolves its callers with one
``call_soon_threadsafe`` per event loop rather than one per job.

A failing batch is rolled back whole and every job in it gets a
:class:`~bwnumbers.StoreUnavailableError`: the failures SQLite can have here (a lock held past
the busy timeout, a full disk, a damaged file) are the file's, not one job's.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import queue
import sqlite3
import sys
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar

from ._exceptions import StoreUnavailableError

# No fcntl on Windows: one process per file is then only documented, not enforced.
fcntl: Any = None if sys.platform == "win32" else importlib.import_module("fcntl")

__all__ = ["FileProblem", "SQLiteWorker", "describe_failure"]

log = logging.getLogger("bwnumbers.store")

T = TypeVar("T")

#: The most jobs in one transaction: a burst larger than this commits in several, so no single
#: transaction holds the write lock (and other processes off the file) for long.
MAX_BATCH: Final = 1000


class FileProblem(Exception):
    """A problem with the file that SQLite itself does not see (raised by the store's setup)."""

    def __init__(self, problem: str, check: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.check = check


class _Job:
    __slots__ = ("action", "future", "run", "writes")

    def __init__(
        self,
        run: Callable[[sqlite3.Connection], Any],
        *,
        writes: bool,
        action: str,
        future: asyncio.Future[Any],
    ) -> None:
        self.run = run
        self.writes = writes
        self.action = action
        self.future = future


class _Stop:
    """Close the connection and end the thread once the jobs queued before it are done."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[Any] | None) -> None:
        self.future = future


_Settlement = tuple["asyncio.Future[Any]", BaseException | None, Any]


class SQLiteWorker:
    """The thread, its connection and its queue; :class:`~bwnumbers.SQLiteStore` drives it.

    *setup* runs on the worker thread right after each (re)connect, inside a write
    transaction: it creates the schema and prunes. The worker holds no reference to the store,
    so a store that is dropped without ``aclose()`` can still be garbage-collected.
    """

    def __init__(
        self,
        path: str,
        *,
        busy_timeout: float,
        setup: Callable[[sqlite3.Connection], None],
    ) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._setup = setup
        self._queue: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._connection: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        #: Write transactions committed so far (read from the loop; written by the worker).
        self.commits = 0

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        # A daemon thread, so a store nobody closed cannot keep the interpreter from exiting:
        # a non-daemon thread blocked on its queue would hang threading's shutdown, which runs
        # before any atexit hook could tell it to stop. Killing it mid-commit loses nothing
        # acknowledged: SQLite's WAL makes each commit atomic, and callers learn of a write
        # only after its commit.
        self._thread = threading.Thread(
            target=self._serve, name=f"bwnumbers-sqlite:{self.path}", daemon=True
        )
        self._thread.start()

    async def call(self, run: Callable[[sqlite3.Connection], T], *, writes: bool, action: str) -> T:
        """Run *run* on the worker in the next transaction; return once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(run, writes=writes, action=action, future=future))
        return await future

    def stop(self) -> None:
        """Ask the thread to finish the queued jobs and end, without waiting (finalizers)."""
        self._queue.put(_Stop(None))

    async def aclose(self) -> None:
        """Finish the queued jobs, close the connection and join the thread."""
        if self._thread is None:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Stop(done))
        # The thread's last act is to resolve *done*, so the join below returns at once.
        await asyncio.shield(done)
        self._thread.join()

    # ------------------------------------------------------------- on the worker thread

    def _serve(self) -> None:
        try:
            while True:
                batch = [self._queue.get()]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                jobs = [job for job in batch if isinstance(job, _Job)]
                stops = [job for job in batch if isinstance(job, _Stop)]
                if jobs:
                    self._settle(self._run_batch(jobs))
                if stops:
                    self._disconnect()
                    self._settle([(s.future, None, None) for s in stops if s.future is not None])
                    return
        finally:
            self._disconnect()

    def _run_batch(self, jobs: list[_Job]) -> list[_Settlement]:
        writes = any(job.writes for job in jobs)
        try:
            connection = self._connect()
            # IMMEDIATE takes the write lock up front, so waiting for it honours busy_timeout
            # instead of failing halfway through the batch when a read would need upgrading.
            connection.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
            results = [job.run(connection) for job in jobs]
            connection.execute("COMMIT")
        except Exception as error:
            self._rollback()
            return [(job.future, _failure(job.action, self, error), None) for job in jobs]
        if writes:
            self.commits += 1
        return [(job.future, None, result) for job, result in zip(jobs, results, strict=True)]

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=True
        )
        try:
            self._lock_fd = _lock_exclusively(self.path)
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                # Still durable, but each commit then blocks readers and costs more fsyncs.
                log.warning(
                    "The order journal %s cannot use WAL (journal mode %s)", self.path, mode
                )
            # FULL: in WAL mode each commit is fsynced before it returns, so an intent is on
            # disk before its POST is sent. NORMAL would survive a crash of the process but
            # not of the machine.
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("BEGIN IMMEDIATE")
            self._setup(connection)
            connection.execute("COMMIT")
        except BaseException:
            connection.close()
            self._unlock()
            raise
        self.commits += 1
        self._connection = connection
        return connection

    def _rollback(self) -> None:
        connection = self._connection
        if connection is None or not connection.in_transaction:
            return
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error:
            # A connection that cannot even roll back is reopened by the next batch.
            self._disconnect()

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
        self._unlock()

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock

    def _settle(self, settlements: list[_Settlement]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Settlement]] = {}
        for settlement in settlements:
            by_loop.setdefault(settlement[0].get_loop(), []).append(settlement)
        for loop, settlements in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, settlements)
            except RuntimeError:
                pass  # the loop is closed: nobody is left to await these


def _resolve(settlements: list[_Settlement]) -> None:
    for future, error, result in settlements:
        if future.done():  # the caller was cancelled; the write stands all the same
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _lock_exclusively(path: str) -> int | None:
    """Hold an exclusive lock on ``<path>.lock`` while the connection is open.

    A journal serves one process: two processes recovering the same file would each resend
    the intents the other still has in flight, and order twice. SQLite's own locks cannot say
    "open elsewhere" (WAL lets many connections in), so an advisory lock does; the kernel drops
    it when its process dies, SIGKILL included, so a restart on the same file is never refused.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return None
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise FileProblem(
            "another process (or another SQLiteStore in this one) has it open",
            "a journal serves one process, so give each process a file of its own (several "
            "instances of a service share a RedisStore instead) or close the other store first",
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _failure(action: str, worker: SQLiteWorker, error: Exception) -> StoreUnavailableError:
    message = describe_failure(action, worker.path, worker.busy_timeout, error)
    failure = StoreUnavailableError(message)
    failure.__cause__ = error
    return failure


def describe_failure(action: str, path: str, busy_timeout: float, error: Exception) -> str:
    """One sentence: what could not be done to which file, why, and what to check."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    name = getattr(error, "sqlite_errorname", None) or type(error).__name__
    if isinstance(error, FileProblem):
        return f"Could not {action} in the order journal {path}: {error.problem}; {error.check}."
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        problem = f"it stayed locked by another connection past the {busy_timeout:g} s busy timeout"
        check = "check that no other process keeps a transaction open on it"
    elif primary == sqlite3.SQLITE_FULL:
        problem = "the disk is full, or the database reached its size limit"
        check = "free space on the disk that holds it"
    elif primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        problem = "it is read-only"
        check = "check that this process may write the file, its directory and its -wal file"
    elif primary == sqlite3.SQLITE_CANTOPEN:
        problem = "it cannot be opened"
        check = "check that its directory exists and that this process may write there"
    elif primary in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        problem = "the file is not an SQLite database, or it is damaged"
        check = "move it aside, or give SQLiteStore the path of a new file"
    elif primary == sqlite3.SQLITE_IOERR:
        problem = "the disk reported an I/O error"
        check = "check the disk and the filesystem that hold it"
    else:
        problem = "SQLite failed"
        check = "check the file and the disk that holds it"
    return f"Could not {action} in the order journal {path}: {problem} ({name}); {check}."
