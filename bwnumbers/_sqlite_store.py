"""The journal of orders in an SQLite file, for one process that must survive restarts.

Standard-library :mod:`sqlite3` on one worker thread (:mod:`bwnumbers._sqlite_worker`), in WAL
mode with ``synchronous=FULL``: :meth:`SQLiteStore.begin` returns only once the intent is
committed and fsynced, so the ``POST /orders`` that follows it can never be forgotten by a
restart. Concurrent writes share commits, so a burst pays one fsync per group, not per order.

One table, ``intents``, keyed by customer order id (in its ``customer_order_id`` column: a
disconnect's is ``disconnects:<id>``, its :attr:`~bwnumbers.OrderIntent.key`, so the files of
0.2 and 0.3, which hold orders only, read unchanged), with the fields of
:class:`~bwnumbers.OrderIntent` as columns (JSON for the request, the metadata and the
outcome). Mappings are stored as JSON, so they come back exactly as
:func:`~bwnumbers._store.check_metadata` and :func:`~bwnumbers._store.request_fields` made them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
import warnings
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, TypeVar

from ._exceptions import StoreUnavailableError
from ._sqlite_worker import FileProblem, SQLiteWorker
from ._store import DEFAULT_KEEP_FINISHED, OrderIntent, StoredOutcome, split_journal_key

__all__ = ["SQLiteStore"]

T = TypeVar("T")

#: Written to ``PRAGMA user_version``; a file with a higher one was made by a newer bwnumbers.
SCHEMA_VERSION: Final = 1
#: Besides on open, finished intents are pruned once every this many ``finish()`` calls.
PRUNE_EVERY: Final = 1000

# Every statement is a literal: no value is ever formatted into SQL.
_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS intents (
        customer_order_id TEXT PRIMARY KEY NOT NULL,
        request_digest TEXT NOT NULL,
        request TEXT NOT NULL,
        request_xml TEXT NOT NULL,
        metadata TEXT NOT NULL,
        order_id TEXT,
        owner TEXT NOT NULL,
        created_at REAL NOT NULL,
        deadline REAL,
        state TEXT NOT NULL,
        last_status TEXT,
        outcome TEXT,
        finished_at REAL
    )""",
    # Partial indexes: unfinished() reads only the live rows, prune() only the finished ones.
    "CREATE INDEX IF NOT EXISTS intents_unfinished ON intents (created_at) "
    "WHERE state IN ('INTENT', 'PLACED')",
    "CREATE INDEX IF NOT EXISTS intents_finished ON intents (finished_at) "
    "WHERE finished_at IS NOT NULL",
)
_INSERT: Final = (
    "INSERT INTO intents (customer_order_id, request_digest, request, request_xml, metadata, "
    "order_id, owner, created_at, deadline, state, last_status, outcome, finished_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (customer_order_id) DO NOTHING"
)
_SELECT: Final = (
    "SELECT customer_order_id, request_digest, request, request_xml, metadata, order_id, "
    "owner, created_at, deadline, state, last_status, outcome, finished_at FROM intents "
)
_SELECT_ONE: Final = _SELECT + "WHERE customer_order_id = ?"
_SELECT_UNFINISHED: Final = (
    _SELECT + "WHERE state IN ('INTENT', 'PLACED') ORDER BY created_at, rowid"
)
# Updates touch unfinished rows only: a late status never overwrites a recorded outcome, and
# finishing is a compare-and-set, True once per order even with several processes on a file.
_PLACED: Final = (
    "UPDATE intents SET order_id = ?, state = 'PLACED' "
    "WHERE customer_order_id = ? AND state IN ('INTENT', 'PLACED')"
)
_PROGRESS: Final = (
    "UPDATE intents SET last_status = ? "
    "WHERE customer_order_id = ? AND state IN ('INTENT', 'PLACED')"
)
_FINISH: Final = (
    "UPDATE intents SET state = 'FINAL', outcome = ?, last_status = ?, finished_at = ? "
    "WHERE customer_order_id = ? AND state IN ('INTENT', 'PLACED')"
)
_NEVER_CREATED: Final = (
    "UPDATE intents SET state = 'NEVER_CREATED', finished_at = ? "
    "WHERE customer_order_id = ? AND state IN ('INTENT', 'PLACED')"
)
_DELETE_FINISHED: Final = "DELETE FROM intents WHERE finished_at <= ?"


class SQLiteStore:
    """The journal of orders in an SQLite file: resumes and recovers orders across restarts.

    Give it to the waiter registry (``CallbackReceiver(..., store=SQLiteStore(path))``) or to
    ``order_and_wait(..., store=...)``. Each intent is committed and fsynced before its
    ``POST /orders`` is sent; after a crash, :func:`bwnumbers.recover` finds the unfinished
    ones, and a re-call with the same customer order id resumes the order or returns its
    recorded result. Finished orders are kept *keep_finished* seconds, then pruned (on open,
    every 1,000 finishes, and by :meth:`prune`).

    The constructor does no I/O. The file is opened on first use (or on ``async with``) by a
    worker thread of the store's own, which runs every SQLite call: none runs on the event
    loop. Use one store per file and process; several processes may share a file (SQLite locks
    it), each waiting at most *busy_timeout* seconds for the others.

    Args:
        path: the database file; created if missing. Its directory must exist and be
            writable (SQLite puts ``-wal`` and ``-shm`` files beside it).
        keep_finished: how long a finished order's result is kept, in seconds (24 h).
        owner: this store's name in the intents it writes; a random hex id by default.
        busy_timeout: how long to wait for another connection's lock, in seconds (5).

    Raises:
        StoreUnavailableError: from any method, when the file cannot be used (missing
            directory, read-only, not a database, locked past *busy_timeout*, disk full) or
            the store is closed. The message names the file and what to check.

    SQLite's locking and WAL: https://www.sqlite.org/wal.html

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keep_finished: float = DEFAULT_KEEP_FINISHED,
        owner: str | None = None,
        busy_timeout: float = 5.0,
    ) -> None:
        self._path = os.path.abspath(os.fspath(path))
        self._keep_finished = keep_finished
        self._owner = owner or uuid.uuid4().hex
        setup = _Setup(keep_finished)
        self._worker = SQLiteWorker(self._path, busy_timeout=busy_timeout, setup=setup)
        self._closed = False
        self._finishes = 0
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._worker.started else "unopened"
        return f"<SQLiteStore path={self._path!r} {state} commits={self.commits}>"

    @property
    def owner(self) -> str:
        return self._owner

    @property
    def path(self) -> str:
        """The database file, as an absolute path."""
        return self._path

    @property
    def commits(self) -> int:
        """How many write transactions this store committed (each one fsync)."""
        return self._worker.commits

    async def __aenter__(self) -> SQLiteStore:
        # Open now, so a wrong path fails at start-up rather than on the first order; a store
        # that fails to open is closed, since `async with` will not call __aexit__ for it.
        try:
            await self._call(_nothing, writes=False, action="open the order journal")
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(
        self, run: Callable[[sqlite3.Connection], T], *, writes: bool, action: str
    ) -> T:
        if self._closed:
            raise StoreUnavailableError(
                f"Could not {action} in the order journal {self._path}: this SQLiteStore is "
                "closed; open a new SQLiteStore on the file to use it again."
            )
        if not self._worker.started:
            self._worker.start()
            # Not a reference to self: a store dropped unclosed can still be collected, and
            # then its thread is told to stop (and the connection closed) all the same.
            self._finalizer = weakref.finalize(self, _abandoned, self._worker)
        return await self._worker.call(run, writes=writes, action=action)

    # ------------------------------------------------------------------- the journal

    async def begin(self, intent: OrderIntent) -> OrderIntent | None:
        row = (
            intent.key,
            intent.request_digest,
            _dumps(intent.request),
            intent.request_xml,
            _dumps(intent.metadata),
            intent.order_id,
            self._owner,
            intent.created_at,
            intent.deadline,
            str(intent.state),
            intent.last_status,
            _dumps(intent.outcome.to_json()) if intent.outcome is not None else None,
            intent.finished_at,
        )
        existing = await self._call(
            lambda db: _insert(db, row),
            writes=True,
            action=f"record order {intent.customer_order_id!r}",
        )
        return None if existing is None else self._intent(existing)

    async def placed(self, customer_order_id: str, order_id: str) -> None:
        await self._call(
            lambda db: _changed(db, _PLACED, order_id, customer_order_id),
            writes=True,
            action=f"record the order id of {customer_order_id!r}",
        )

    async def progress(self, customer_order_id: str, status: str) -> None:
        await self._call(
            lambda db: _changed(db, _PROGRESS, status, customer_order_id),
            writes=True,
            action=f"record the status of {customer_order_id!r}",
        )

    async def finish(self, customer_order_id: str, outcome: StoredOutcome) -> bool:
        self._finishes += 1
        prune = self._finishes % PRUNE_EVERY == 0
        prune_cutoff = time.time() - self._keep_finished
        outcome_json = _dumps(outcome.to_json())

        def run(db: sqlite3.Connection) -> bool:
            finished = _changed(
                db, _FINISH, outcome_json, str(outcome.status), time.time(), customer_order_id
            )
            if prune:
                db.execute(_DELETE_FINISHED, (prune_cutoff,))
            return finished

        return await self._call(
            run, writes=True, action=f"record the outcome of {customer_order_id!r}"
        )

    async def never_created(self, customer_order_id: str) -> None:
        await self._call(
            lambda db: _changed(db, _NEVER_CREATED, time.time(), customer_order_id),
            writes=True,
            action=f"record that {customer_order_id!r} was never created",
        )

    async def get(self, customer_order_id: str) -> OrderIntent | None:
        row = await self._call(
            lambda db: db.execute(_SELECT_ONE, (customer_order_id,)).fetchone(),
            writes=False,
            action=f"read order {customer_order_id!r}",
        )
        return None if row is None else self._intent(row)

    async def unfinished(self) -> list[OrderIntent]:
        rows = await self._call(
            lambda db: db.execute(_SELECT_UNFINISHED).fetchall(),
            writes=False,
            action="list the unfinished orders",
        )
        return [self._intent(row) for row in rows]

    async def prune(self, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - self._keep_finished
        return await self._call(
            lambda db: db.execute(_DELETE_FINISHED, (cutoff,)).rowcount,
            writes=True,
            action="prune finished orders",
        )

    async def aclose(self) -> None:
        """Finish the pending writes, close the file and end the worker thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        await self._worker.aclose()

    def _intent(self, row: tuple[Any, ...]) -> OrderIntent:
        try:
            return _row_to_intent(row)
        except (ValueError, TypeError, KeyError) as error:
            raise StoreUnavailableError(
                f"The order journal {self._path} holds a damaged row for order {row[0]!r} "
                f"({type(error).__name__}); move the file aside, or delete that row."
            ) from error


# ------------------------------------------------------------------ on the worker thread


class _Setup:
    """Create the schema and prune, once per connection (a class, so it holds no store)."""

    def __init__(self, keep_finished: float) -> None:
        self.keep_finished = keep_finished

    def __call__(self, db: sqlite3.Connection) -> None:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise FileProblem(
                f"a newer bwnumbers wrote it (schema version {version}; this one reads up to "
                f"{SCHEMA_VERSION})",
                "upgrade bwnumbers, or give SQLiteStore another file",
            )
        for statement in _SCHEMA:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute(_DELETE_FINISHED, (time.time() - self.keep_finished,))


def _nothing(db: sqlite3.Connection) -> None:
    return None


def _insert(db: sqlite3.Connection, row: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """None when *row* was inserted; else the row already stored under its id, unchanged."""
    if db.execute(_INSERT, row).rowcount == 1:
        return None
    existing: tuple[Any, ...] = db.execute(_SELECT_ONE, (row[0],)).fetchone()
    return existing


def _changed(db: sqlite3.Connection, sql: str, *params: Any) -> bool:
    return db.execute(sql, params).rowcount == 1


# ------------------------------------------------------------------ rows


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _row_to_intent(row: tuple[Any, ...]) -> OrderIntent:
    (
        key,
        digest,
        request,
        request_xml,
        metadata,
        order_id,
        owner,
        created_at,
        deadline,
        state,
        last_status,
        outcome,
        finished_at,
    ) = row
    kind, customer_order_id = split_journal_key(key)
    return OrderIntent(
        kind=kind,
        customer_order_id=customer_order_id,
        request_digest=digest,
        request=json.loads(request),
        request_xml=request_xml,
        metadata=json.loads(metadata),
        order_id=order_id,
        owner=owner,
        created_at=created_at,
        deadline=deadline,
        state=state,
        last_status=last_status,
        outcome=StoredOutcome.from_json(json.loads(outcome)) if outcome is not None else None,
        finished_at=finished_at,
    )


def _abandoned(worker: SQLiteWorker) -> None:
    worker.stop()  # first: under filterwarnings=error the warning below raises
    warnings.warn(
        f"An SQLiteStore on {worker.path} was never closed; use 'async with SQLiteStore(...)' "
        "or 'await store.aclose()'.",
        ResourceWarning,
        stacklevel=1,
    )
