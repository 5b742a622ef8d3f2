"""The journaling steps of the ordering flow: which store, the writes, the stored answers.

``order_and_wait`` records an intent before ``POST /orders`` (:func:`begin`, which fails the
call when it cannot), then the order id, the statuses it goes through and its outcome
(:class:`Journal`, whose failures never fail the order). A re-call with a customer order id
the journal knows is answered from it (:func:`stored_result`), and two calls with the same
id in one process share one order (:func:`exclusive`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, cast

import attrs

from ._exceptions import (
    FinalFailure,
    IdempotencyConflictError,
    NeverCreatedError,
    OrderTimeoutError,
    StoreUnavailableError,
)
from ._kinds import OrderKind, R, kind_named
from ._models import OrderStatus
from ._seam import ORDERS
from ._status import ResultSource
from ._store import (
    IntentState,
    MemoryStore,
    OrderIntent,
    OrderStore,
    StoredOutcome,
    split_journal_key,
)

__all__ = [
    "BEGIN_TIMEOUT",
    "Journal",
    "begin",
    "conflict",
    "default_store",
    "exclusive",
    "failed_outcome",
    "never_created_error",
    "resolve_store",
    "result_outcome",
    "stored_result",
]

log = logging.getLogger("bwnumbers.ordering")

#: Seconds the store gets to record an intent before its POST; then nothing is sent.
BEGIN_TIMEOUT: Final = 2.0
#: Seconds each later write (order id, status, outcome) gets before it is retried.
WRITE_TIMEOUT: Final = 2.0
#: Seconds a call that has its result keeps retrying writes the store refused, at most.
FLUSH_BUDGET: Final = 2.0
#: The backoff between retries of a refused write: first delay and cap, in seconds.
RETRY_FIRST, RETRY_MAX = 0.05, 1.0

_default: MemoryStore | None = None


def default_store() -> MemoryStore:
    """The process-wide store of orders waited for without one (``waiters=None``, a registry
    without a ``store``)."""
    global _default
    if _default is None:
        _default = MemoryStore()
    return _default


def resolve_store(store: OrderStore | None, waiters: object, client: object = None) -> OrderStore:
    """*store* if given, else that of the waiters (a receiver's or registry's), else the
    client's (``NumbersClient(store=...)``), else the process default."""
    if store is not None:
        return store
    for holder in (waiters, getattr(waiters, "waiters", None), client):
        found: OrderStore | None = getattr(holder, "store", None)
        if found is not None:
            return found
    return default_store()


async def begin(store: OrderStore, intent: OrderIntent) -> OrderIntent | None:
    """``store.begin(intent)`` within :data:`BEGIN_TIMEOUT`, or :class:`StoreUnavailableError`."""
    try:
        async with asyncio.timeout(BEGIN_TIMEOUT):
            return await store.begin(intent)
    except TimeoutError:
        raise StoreUnavailableError(
            f"The order store did not record customer order id {intent.customer_order_id} "
            f"within {BEGIN_TIMEOUT:g} s, so nothing was sent; try again once it answers."
        ) from None
    except Exception as error:
        raise StoreUnavailableError(
            f"The order store could not record customer order id "
            f"{intent.customer_order_id} ({error}), so nothing was sent; try again once it "
            "works."
        ) from error


def conflict(customer_order_id: str) -> IdempotencyConflictError:
    return IdempotencyConflictError(
        f"Customer order id {customer_order_id} was used already for a different order "
        "(other numbers, search or options); nothing was sent. A customer order id resumes "
        "the order it was first given for: use a new customer order id for a new order.",
        customer_order_id=customer_order_id,
    )


def never_created_error(customer_order_id: str, why: str) -> NeverCreatedError:
    return NeverCreatedError(
        f"The order with customer order id {customer_order_id} was never created: {why} "
        "Nothing was ordered under it. Order again under a new customer order id, or recover "
        "with bwnumbers.recover(..., resubmit=True) to send the recorded request again.",
        customer_order_id=customer_order_id,
    )


# ---------------------------------------------------------------------- stored answers


def result_outcome(kind: OrderKind[R], result: R) -> StoredOutcome:
    return StoredOutcome(
        status=result.status,
        completed_numbers=kind.numbers_of(result),
        failed_numbers=result.failed_numbers,
        errors=result.errors,
    )


def failed_outcome(error: FinalFailure) -> StoredOutcome:
    return StoredOutcome(status="FAILED", failed_numbers=error.failed_numbers, errors=error.errors)


def stored_result(intent: OrderIntent, elapsed: float) -> Any:
    """The answer to a re-call of a FINAL or NEVER_CREATED order or disconnect (its kind's
    result, or error): no request is made."""
    kind = kind_named(intent.kind)
    coid = intent.customer_order_id
    if intent.state is IntentState.NEVER_CREATED or intent.outcome is None:
        raise never_created_error(coid, f"its POST /{kind.name} never reached Bandwidth.")
    outcome = intent.outcome
    order_id = intent.order_id or ""
    if outcome.status is OrderStatus.FAILED:
        raise kind.failure(
            order_id=order_id, errors=outcome.errors, failed_numbers=outcome.failed_numbers
        )
    return kind.make(
        order_id=order_id,
        customer_order_id=coid,
        status=outcome.status,
        numbers=outcome.completed_numbers,
        failed_numbers=outcome.failed_numbers,
        errors=outcome.errors,
        source=ResultSource.STORE,
        elapsed=elapsed,
    )


# ---------------------------------------------------------------------- one order at a time


@attrs.frozen
class _Flight:
    future: asyncio.Future[Any]
    digest: str


# The orders being waited for in this process, by store and journal key; an entry lives only
# as long as the call that leads it.
_flights: dict[tuple[int, str], _Flight] = {}


async def exclusive(
    store: OrderStore,
    journal_key: str,
    digest: str,
    lead: Callable[[], Awaitable[R]],
    *,
    deadline: float | None,
    timeout: float | None,
) -> R:
    """Run *lead* unless a call in this process leads that order (or disconnect, by
    :func:`~bwnumbers._store.journal_key`) already; then share its outcome.

    A follower gets the leader's result or its FAILED error; when the leader ends
    otherwise (its own timeout, cancelled, an error of its own), the follower leads next and
    picks the order up from the journal.
    """
    key = (id(store), journal_key)
    while (flight := _flights.get(key)) is not None:
        if flight.digest != digest:
            raise conflict(split_journal_key(journal_key)[1])
        try:
            async with asyncio.timeout_at(deadline):
                shared = await asyncio.shield(flight.future)
        except TimeoutError:
            assert timeout is not None
            raise OrderTimeoutError(order_id=None, timeout=timeout) from None
        if shared is not None:
            return cast(R, shared)
    mine = _Flight(asyncio.get_running_loop().create_future(), digest)
    _flights[key] = mine
    try:
        result = await lead()
    except FinalFailure as error:
        mine.future.set_exception(error)
        mine.future.exception()  # retrieved: followers may or may not be there to see it
        raise
    except BaseException:
        mine.future.set_result(None)
        raise
    finally:
        if _flights.get(key) is mine:
            del _flights[key]
    mine.future.set_result(result)
    return result


# ---------------------------------------------------------------------- writes after the POST


class Journal:
    """One order's writes after its POST: the order id, statuses, the outcome.

    A write the store refuses (or does not answer within 2 s) never fails the order: it is
    logged, once per order, and retried in order with a backoff of 0.05 s doubling to 1 s,
    by one task that lives only as long as the call (:meth:`close` ends it). A call that has
    its result retries for at most 2 s more; what is still not written then stays as it was
    in the journal (the intent INTENT or PLACED), which :func:`bwnumbers.recover` picks up.
    """

    # Thousands wait at once in a burst: slots, and a queue only once a write was refused.
    __slots__ = ("_closed", "_loop", "_queue", "_warned", "_worker", "key", "store")

    def __init__(self, store: OrderStore, key: str) -> None:
        self.store = store
        self.key = key  # the intent's journal key: its customer order id, for an order
        self._queue: collections.deque[tuple[str, tuple[object, ...]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._warned = False
        self._closed = False
        # Notes can come from outside the loop (a receiver fed by another thread's loop
        # runner, a test stepping the loop): the worker runs on the call's loop regardless.
        self._loop = asyncio.get_running_loop()

    def named(self) -> str:
        """The customer order id, and the kind when it is not an order's, for messages."""
        kind, customer_order_id = split_journal_key(self.key)
        return customer_order_id if kind == ORDERS else f"{customer_order_id} ({kind})"

    async def write(self, method: str, *args: object) -> None:
        """Write now; if the store refuses, retry in the background of this call."""
        if not self._queue:
            try:
                await self._attempt(method, args)
                return
            except Exception as error:
                self._warn(error)
        self.note(method, *args)

    def note(self, method: str, *args: object) -> None:
        """Write soon, after the writes before it, without waiting (a status, say)."""
        if self._closed:  # a late status from a registry that outlives the wait
            return
        if self._queue is None:
            self._queue = collections.deque()
        self._queue.append((method, args))
        if self._worker is None or self._worker.done():
            self._worker = self._loop.create_task(self._drain())

    async def _attempt(self, method: str, args: tuple[object, ...]) -> None:
        async with asyncio.timeout(WRITE_TIMEOUT):
            await getattr(self.store, method)(self.key, *args)

    def _warn(self, error: BaseException) -> None:
        if self._warned:
            return
        self._warned = True
        log.warning(
            "The order store failed to record customer order id %s (%s: %s); the order goes "
            "on, and the write is retried while the call lasts.",
            self.named(),
            type(error).__name__,
            error,
        )

    async def _drain(self) -> None:
        assert self._queue is not None
        delay = RETRY_FIRST
        while self._queue:
            method, args = self._queue[0]
            try:
                await self._attempt(method, args)
            except Exception as error:
                self._warn(error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            self._queue.popleft()
            delay = RETRY_FIRST

    async def close(self, *, flush: bool) -> None:
        """End the retries: first, with *flush*, give them :data:`FLUSH_BUDGET` seconds."""
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            if flush and not worker.done():
                await asyncio.wait([worker], timeout=FLUSH_BUDGET)
        finally:  # cancelled while flushing too: the worker never outlives the call
            worker.cancel()
            try:
                await asyncio.wait([worker])  # wait() never cancels what it waits for
            except asyncio.CancelledError:
                await asyncio.wait([worker])  # cancelled again: the worker ends first
                raise
        if self._queue:
            log.error(
                "The order store still refuses to record customer order id %s (%d write(s) "
                "left); bwnumbers.recover() will pick the order up from what was recorded.",
                self.named(),
                len(self._queue),
            )
            self._queue.clear()
