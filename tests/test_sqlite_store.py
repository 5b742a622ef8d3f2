"""SQLiteStore: durable before begin() returns, group commit, off the loop, clear failures."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bwnumbers import (
    IntentState,
    OrderStatus,
    SQLiteStore,
    StoredOutcome,
    StoreUnavailableError,
    TransportError,
    _sqlite_store,
)
from tests.test_store_conformance import COMPLETE, make_intent

ROOT = Path(__file__).resolve().parent.parent


def _store_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("bwnumbers-sqlite:")]


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Every SQL statement any new sqlite3 connection runs, with the thread that ran it."""
    statements: list[tuple[int, str]] = []
    connect = sqlite3.connect

    def tracing_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(lambda sql: statements.append((threading.get_ident(), sql)))
        return connection

    monkeypatch.setattr(sqlite3, "connect", tracing_connect)
    return statements


async def test_intents_survive_closing_and_reopening(tmp_path: Path) -> None:
    """Every state written by one store is read back, unchanged, by a new one on the file."""
    path = tmp_path / "orders.db"
    async with SQLiteStore(path, owner="first") as store:
        for name in ("new", "placed", "final", "never"):
            await store.begin(make_intent(name, metadata={"who": name}))
        await store.placed("placed", "bw-1")
        await store.progress("placed", "BACKORDERED")
        await store.finish("final", COMPLETE)
        await store.never_created("never")
        before = {name: await store.get(name) for name in ("new", "placed", "final", "never")}
    async with SQLiteStore(path, owner="second") as reopened:
        after = {name: await reopened.get(name) for name in before}
        unfinished = [i.customer_order_id for i in await reopened.unfinished()]
    assert after == before
    assert after["placed"] is not None
    assert (after["placed"].owner, after["placed"].state) == ("first", IntentState.PLACED)
    assert unfinished == ["new", "placed"]


_BEGIN_THEN_DIE = """
import asyncio, os, signal, sys
from bwnumbers import SQLiteStore
from tests.test_store_conformance import make_intent

async def main():
    store = SQLiteStore(sys.argv[1])
    # Large intents make a commit take long enough that a store answering before its commit
    # would be caught: the kill would land while the commit is still being written.
    pad = {"pad": "x" * 3000}
    await asyncio.gather(
        *(store.begin(make_intent(f"order-{i}", metadata=pad)) for i in range(300))
    )
    # begin() has returned for all fifty: this is where order_and_wait sends its POSTs.
    print("begun", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_begin_is_on_disk_when_it_returns_even_if_the_process_is_killed(
    tmp_path: Path,
) -> None:
    """A process SIGKILLed right after begin() returned leaves every intent in the file.

    This shows that begin() returns only after its commit reached the operating system; a
    process kill cannot show the fsync (synchronous=FULL), which only a power cut would test.
    """
    path = tmp_path / "orders.db"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _BEGIN_THEN_DIE,
        str(path),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await child.communicate()
    assert (child.returncode, stdout) == (-signal.SIGKILL, b"begun\n")
    async with SQLiteStore(path) as store:
        names = {intent.customer_order_id for intent in await store.unfinished()}
    assert names == {f"order-{i}" for i in range(300)}


async def test_a_burst_of_writes_shares_commits(tmp_path: Path) -> None:
    """1,000 concurrent begin() calls are committed in far fewer than 1,000 transactions."""
    async with SQLiteStore(tmp_path / "orders.db") as store:
        before = store.commits
        results = await asyncio.gather(*(store.begin(make_intent(f"o{i}")) for i in range(1000)))
        commits = store.commits - before
        assert results == [None] * 1000
        assert len(await store.unfinished()) == 1000
    assert 1 <= commits <= 100, commits


async def test_no_sqlite_call_runs_on_the_event_loop(
    tmp_path: Path, traced: list[tuple[int, str]]
) -> None:
    """Every statement, from opening to closing, runs on the store's worker thread."""
    loop_thread = threading.get_ident()
    async with SQLiteStore(tmp_path / "orders.db") as store:
        await store.begin(make_intent("order-1"))
        await store.placed("order-1", "bw-1")
        await store.progress("order-1", "RECEIVED")
        await store.get("order-1")
        await store.unfinished()
        await store.finish("order-1", COMPLETE)
        await store.prune()
    threads = {thread for thread, _ in traced}
    assert len(traced) > 10
    assert loop_thread not in threads
    assert len(threads) == 1


async def test_the_connection_is_wal_and_synchronous_full(
    tmp_path: Path, traced: list[tuple[int, str]]
) -> None:
    """The store asks for WAL and synchronous=FULL, so a commit is fsynced before it returns."""
    path = tmp_path / "orders.db"
    async with SQLiteStore(path) as store:
        await store.begin(make_intent("order-1"))
    pragmas = [sql for _, sql in traced if sql.startswith("PRAGMA")]
    assert "PRAGMA synchronous = FULL" in pragmas
    assert "PRAGMA journal_mode = WAL" in pragmas
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        check.close()


async def test_a_second_store_on_the_same_file_is_refused(tmp_path: Path) -> None:
    """One journal, one process: a second store (or process) on the file is refused until the
    first closes, since two would each resend the other's orders in flight."""
    path = tmp_path / "orders.db"
    async with SQLiteStore(path) as one:
        await one.begin(make_intent("order-1"))
        with pytest.raises(StoreUnavailableError) as refused:
            async with SQLiteStore(path):
                pass
        _assert_one_clear_sentence(refused.value, path, "another process", "file of its own")
        assert await one.get("order-1") is not None  # the first store is unaffected
    async with SQLiteStore(path) as two:  # once closed, the file is free again
        assert await two.get("order-1") is not None


async def test_another_process_holding_the_file_is_refused(tmp_path: Path) -> None:
    """The lock is per process too, and a killed holder leaves no stale lock behind."""
    path = tmp_path / "orders.db"
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import asyncio, sys\n"
        "from bwnumbers import SQLiteStore\n"
        "async def main():\n"
        "    store = SQLiteStore(sys.argv[1])\n"
        "    await store.unfinished()\n"
        "    print('open', flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n",
        str(path),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"open\n"
        with pytest.raises(StoreUnavailableError, match="another process"):
            async with SQLiteStore(path):
                pass
    finally:
        holder.kill()
        await holder.wait()
    async with SQLiteStore(path) as after_kill:
        assert await after_kill.unfinished() == []


def _assert_one_clear_sentence(error: StoreUnavailableError, path: Path, *words: str) -> None:
    message = str(error)
    assert type(error) is StoreUnavailableError
    assert isinstance(error, TransportError)
    assert error.request_sent is False
    assert str(path) in message
    assert message.endswith(".")
    assert ". " not in message
    for word in words:
        assert word in message


async def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    """A path in a directory that does not exist fails with the file and what to check."""
    path = tmp_path / "missing" / "orders.db"
    store = SQLiteStore(path)
    with pytest.raises(StoreUnavailableError) as caught:
        await store.begin(make_intent("order-1"))
    await store.aclose()
    _assert_one_clear_sentence(caught.value, path, "cannot be opened", "directory exists")


async def test_a_directory_that_is_a_file_is_named(tmp_path: Path) -> None:
    """A path under a regular file fails the same way, on `async with` already."""
    (tmp_path / "plain").write_text("not a directory")
    path = tmp_path / "plain" / "orders.db"
    with pytest.raises(StoreUnavailableError) as caught:
        async with SQLiteStore(path):
            pass
    _assert_one_clear_sentence(caught.value, path, "cannot be opened", "open the order journal")
    assert not _store_threads()


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write a read-only directory"
)
async def test_a_read_only_directory_is_named(tmp_path: Path) -> None:
    """A new file in a directory the process may not write fails with what to check."""
    directory = tmp_path / "locked"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        store = SQLiteStore(directory / "orders.db")
        with pytest.raises(StoreUnavailableError) as caught:
            await store.begin(make_intent("order-1"))
        await store.aclose()
    finally:
        directory.chmod(0o700)
    _assert_one_clear_sentence(caught.value, directory / "orders.db", "directory")


async def test_a_read_only_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file SQLite may only read (opened read-only here, as root ignores permissions) fails."""
    path = tmp_path / "orders.db"
    async with SQLiteStore(path) as store:
        await store.begin(make_intent("order-1"))
    connect = sqlite3.connect

    def read_only_connect(database: str, **kwargs: Any) -> sqlite3.Connection:
        return connect(f"file:{database}?mode=ro", uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only_connect)
    store = SQLiteStore(path)
    with pytest.raises(StoreUnavailableError) as caught:
        await store.get("order-1")
    await store.aclose()
    _assert_one_clear_sentence(caught.value, path, "read-only", "may write the file")


async def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    """A file that is not SQLite fails with what to do about it, and is left as it was."""
    path = tmp_path / "orders.db"
    path.write_bytes(b"these are somebody's notes, not a database\n" * 100)
    store = SQLiteStore(path)
    with pytest.raises(StoreUnavailableError) as caught:
        await store.begin(make_intent("order-1"))
    await store.aclose()
    _assert_one_clear_sentence(caught.value, path, "not an SQLite database", "move it aside")
    assert path.read_bytes().startswith(b"these are somebody's notes")


async def test_a_lock_held_past_the_busy_timeout_is_named_and_passes(tmp_path: Path) -> None:
    """Another connection's write lock fails begin() after busy_timeout; released, it works."""
    path = tmp_path / "orders.db"
    async with SQLiteStore(path, busy_timeout=0.05) as store:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreUnavailableError) as caught:
                await store.begin(make_intent("order-1"))
        finally:
            other.close()
        assert await store.begin(make_intent("order-1")) is None
    _assert_one_clear_sentence(caught.value, path, "locked", "0.05 s busy timeout", "order-1")


async def test_a_full_disk_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When SQLite cannot grow the file (SQLITE_FULL), the error says to free space."""
    connect = sqlite3.connect

    def small_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)
        connection.execute("PRAGMA max_page_count = 8")  # a disk that holds 32 KiB
        return connection

    monkeypatch.setattr(sqlite3, "connect", small_connect)
    path = tmp_path / "orders.db"
    async with SQLiteStore(path) as store:

        async def fill() -> None:
            for i in range(100):
                await store.begin(make_intent(f"order-{i}", metadata={"pad": "x" * 4000}))

        with pytest.raises(StoreUnavailableError) as caught:
            await fill()
        assert await store.get("order-0") is not None  # what was committed stays readable
    _assert_one_clear_sentence(caught.value, path, "disk is full", "free space")


async def test_a_file_from_a_newer_bwnumbers_is_refused(tmp_path: Path) -> None:
    """A schema version above ours is not touched, and the message says why."""
    path = tmp_path / "orders.db"
    newer = sqlite3.connect(path)
    newer.execute("PRAGMA user_version = 99")
    newer.close()
    store = SQLiteStore(path)
    with pytest.raises(StoreUnavailableError) as caught:
        await store.get("order-1")
    await store.aclose()
    _assert_one_clear_sentence(caught.value, path, "newer bwnumbers", "version 99", "upgrade")
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone() == (99,)
        assert check.execute("SELECT name FROM sqlite_master").fetchall() == []
    finally:
        check.close()


async def test_finished_intents_are_pruned_on_open(tmp_path: Path) -> None:
    """Opening the file forgets finished intents older than keep_finished, not live ones."""
    path = tmp_path / "orders.db"
    async with SQLiteStore(path) as store:
        await store.begin(make_intent("done"))
        await store.begin(make_intent("live"))
        await store.finish("done", COMPLETE)
    async with SQLiteStore(path, keep_finished=0.0) as store:
        assert await store.get("done") is None
        assert await store.get("live") is not None


async def test_finished_intents_are_pruned_every_so_many_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without prune() or a reopen, finishing orders now and then prunes the old ones."""
    monkeypatch.setattr(_sqlite_store, "PRUNE_EVERY", 3)
    async with SQLiteStore(tmp_path / "orders.db", keep_finished=0.0) as store:
        for name in ("a", "b", "c"):
            await store.begin(make_intent(name))
        await store.finish("a", COMPLETE)
        await store.finish("b", COMPLETE)
        assert await store.get("a") is not None
        await store.finish("c", COMPLETE)
        assert await store.get("a") is None
        assert await store.get("b") is None


async def test_aclose_finishes_queued_writes_and_ends_the_thread(tmp_path: Path) -> None:
    """Writes still queued when aclose() is called are committed; then no thread is left."""
    path = tmp_path / "orders.db"
    store = SQLiteStore(path)
    writes = [asyncio.create_task(store.begin(make_intent(f"o{i}"))) for i in range(200)]
    await asyncio.sleep(0)  # let them queue
    await store.aclose()
    assert await asyncio.gather(*writes) == [None] * 200
    assert not _store_threads()
    async with SQLiteStore(path) as reopened:
        assert len(await reopened.unfinished()) == 200


async def test_a_store_never_opened_starts_no_thread(tmp_path: Path) -> None:
    """Building and closing a store does no I/O and starts no thread."""
    path = tmp_path / "orders.db"
    store = SQLiteStore(path)
    assert not _store_threads()
    await store.aclose()
    assert not path.exists()
    assert repr(store) == f"<SQLiteStore path={str(path)!r} closed commits=0>"


async def test_a_store_dropped_unclosed_warns_and_stops_its_thread(tmp_path: Path) -> None:
    """Garbage-collecting an open store warns (ResourceWarning) and ends its thread."""
    stores = [SQLiteStore(tmp_path / "orders.db")]
    await stores[0].begin(make_intent("order-1"))
    (thread,) = _store_threads()

    def drop() -> None:
        stores.clear()
        gc.collect()

    with pytest.warns(ResourceWarning, match="never closed"):
        drop()
    thread.join(timeout=5)
    assert not thread.is_alive()


_EXIT_WITHOUT_CLOSING = """
import asyncio, sys
from bwnumbers import SQLiteStore
from tests.test_store_conformance import make_intent

store = SQLiteStore(sys.argv[1])
asyncio.run(store.begin(make_intent("order-1")))
print("exiting", flush=True)
"""


async def test_an_unclosed_store_does_not_hold_up_interpreter_exit(tmp_path: Path) -> None:
    """A program that never closes its store still exits, and says the store was not closed."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "default::ResourceWarning",
        "-c",
        _EXIT_WITHOUT_CLOSING,
        str(tmp_path / "orders.db"),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(child.communicate(), timeout=60)
    except TimeoutError:
        child.kill()
        await child.wait()
        pytest.fail("the interpreter did not exit with an SQLiteStore left open")
    assert (child.returncode, stdout) == (0, b"exiting\n")
    assert b"never closed" in stderr


async def test_repr_names_the_file_and_state(tmp_path: Path) -> None:
    """The repr says which file, whether it is open, and how many commits it made."""
    path = tmp_path / "orders.db"
    store = SQLiteStore(path)
    assert repr(store) == f"<SQLiteStore path={str(path)!r} unopened commits=0>"
    await store.begin(make_intent("order-1"))
    assert repr(store).startswith(f"<SQLiteStore path={str(path)!r} open commits=")
    await store.aclose()


async def test_a_cancelled_caller_leaves_the_store_working(tmp_path: Path) -> None:
    """Cancelling a call while it is queued neither breaks the store nor loses later writes."""
    async with SQLiteStore(tmp_path / "orders.db") as store:
        task = asyncio.create_task(store.begin(make_intent("cancelled")))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        outcome = StoredOutcome(status=OrderStatus.FAILED)
        async with asyncio.timeout(30):  # a broken worker would hang here, not fail
            await store.begin(make_intent("order-1"))
            assert await store.finish("order-1", outcome) is True
            stored = await store.get("order-1")
        assert stored is not None
        assert (stored.state, stored.outcome) == (IntentState.FINAL, outcome)
