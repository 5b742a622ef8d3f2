"""``order_and_wait``: place an order and return the moment Bandwidth has finished it.

Register a waiter under a fresh customer order id *before* ``POST /orders`` (the callback can
beat the response), place the order with the client's safe retries, then wait for it as
:func:`~bwnumbers.wait_for_order` does: the callback raced against the poller on
``GET /orders/{id}`` (Bandwidth never retries a missed callback), and a final status confirmed
with ``GET /orders/{id}``, the source of truth
(https://dev.bandwidth.com/docs/numbers/webhooks).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence

from . import _ratelimit, _retry, _xml
from ._exceptions import (
    APIError,
    OrderFailedError,
    OrderTimeoutError,
    TransportError,
    WaitersClosedError,
)
from ._journal import (
    Journal,
    begin,
    conflict,
    exclusive,
    failed_outcome,
    resolve_store,
    result_outcome,
    stored_result,
)
from ._models import Order, OrderFlag, OrderNumbers, OrderRequest, OrderStatus
from ._poller import PollPolicy
from ._seam import ORDERS, OrderClient, Waiter, Waiters
from ._search import Search
from ._shared import attach_account, placed_elsewhere, replay_recorded
from ._status import ResultSource, StatusHook, StatusReporter, StatusUpdate
from ._store import OrderIntent, OrderStore, check_metadata, request_digest, request_fields
from ._waiting import (
    OrderResult,
    check_timeout,
    registered,
    resolve_waiters,
    wait_for_order,
    wait_registered,
)

__all__ = [
    "OrderFlow",
    "OrderResult",
    "PollPolicy",
    "ResultSource",
    "StatusUpdate",
    "order_and_wait",
    "wait_for_order",
]

log = logging.getLogger("bwnumbers.ordering")


async def order_and_wait(
    client: OrderClient,
    receiver: Waiters,
    *,
    site_id: str,
    numbers: OrderNumbers | None = None,
    search: Search | None = None,
    name: str | None = None,
    customer_order_id: str | None = None,
    peer_id: str | None = None,
    partial_allowed: OrderFlag = None,
    back_order_requested: OrderFlag = None,
    reservation_ids: Sequence[str] | None = None,
    timeout: float | None = None,
    on_status: StatusHook | None = None,
    confirm: bool = True,
    polling: PollPolicy | None = None,
    metadata: Mapping[str, object] | None = None,
    store: OrderStore | None = None,
) -> OrderResult:
    """Order numbers and return when Bandwidth has finished the order.

    Nothing is ordered twice (``POST /orders`` is only retried when it provably did not
    execute, and an ambiguous failure is settled with :meth:`NumbersClient.find_order`) and
    nothing is lost (a missed callback is caught by polling ``GET /orders/{id}``). Once the
    order is placed, it is waited for as :func:`wait_for_order` does.

    The order is journaled in an :class:`~bwnumbers.OrderStore` (*store*, else the
    receiver's, else a process-wide :class:`~bwnumbers.MemoryStore`): its intent before
    ``POST /orders`` (if that fails, nothing is sent), then its order id, statuses and
    outcome. So a call with a customer order id the store knows resumes that order instead of
    ordering again: a finished one is answered from the store with no request
    (``source=ResultSource.STORE``; a FAILED one raises :class:`OrderFailedError` again), one
    being placed or waited for is waited for, and two such calls at once in one process share
    one order. An intent whose POST may never have arrived (its process died) is looked up
    with ``client.find_order``, adopted if found, else placed. A process that restarted picks
    its unfinished orders up with :func:`bwnumbers.recover`.

    Cancelling the call does not cancel the order. Once ``POST /orders`` may have been sent,
    a WARNING on the ``bwnumbers.ordering`` logger says how to find it: by its order id once
    Bandwidth accepted it, else by its customer order id. Cancelled before anything was sent
    (waiting for Bandwidth's rate limit, say), it logs that nothing was ordered, at INFO.

    Args:
        client: an open :class:`NumbersClient`, or anything with its
            :class:`~bwnumbers.OrderClient` methods.
        receiver: the :class:`CallbackReceiver` Bandwidth's subscription points at (it does
            not have to be reachable: polling still finishes the wait), a
            :class:`~bwnumbers.WaiterRegistry` such as its :class:`OrderWaiters`, or ``None``
            to wait by polling alone (when nothing can receive Bandwidth's callbacks).
        site_id, numbers, search, name, customer_order_id, peer_id: as for
            :meth:`NumbersClient.create_order`; give *numbers* or *search*.
        partial_allowed, back_order_requested: sent explicitly; ``None`` means ``False``.
        reservation_ids: the reservations of reserved *numbers*
            (:meth:`NumbersClient.reserve_number`); journaled with the request.
        timeout: seconds to wait in total. The order is never cancelled by it: the POST is
            not interrupted, and :class:`OrderTimeoutError` carries the order id. It also
            bounds the wait for Bandwidth's rate limit before the POST: when it runs out
            there, nothing was sent and :class:`RateLimitError` says so.
        on_status: called (sync or async) with a :class:`StatusUpdate` for each non-final
            status, such as BACKORDERED; waiting continues.
        confirm: confirm a COMPLETE callback with ``GET /orders/{id}`` (default). FAILED and
            PARTIAL callbacks are always confirmed: their notification lists the numbers that
            were *attempted*, not those that failed.
        polling: the :class:`PollPolicy` of the poller.
        metadata: a JSON-serialisable mapping of at most 4 KiB kept with the order in the
            journal (a chat id, a customer id), so whoever recovers the order knows whom it
            was for. A re-call keeps the first call's.
        store: the :class:`~bwnumbers.OrderStore` to journal in (default: that of
            *receiver*, else the process-wide one).

    Returns:
        An :class:`OrderResult` for COMPLETE and PARTIAL orders.

    Raises:
        ValidationError: bad arguments, before anything is sent.
        IdempotencyConflictError: *customer_order_id* was used for a different order;
            nothing was sent.
        StoreUnavailableError: the store could not record the intent within 2 s; nothing
            was sent. (A store failing after the POST never fails the order: that is logged
            and retried.)
        NeverCreatedError: *customer_order_id* is journaled as never created.
        WaitersClosedError: *receiver* was stopped already; nothing was sent.
        OrderFailedError: the order ended FAILED (codes, descriptions, failed numbers).
        OrderTimeoutError: *timeout* ran out; the order continues on Bandwidth's side.
        RateLimitError: *timeout* (or ``RetryPolicy.rate_limit_budget``) ran out while waiting
            for Bandwidth's rate limit; nothing was sent (``.reset_at`` says when to retry).
        AmbiguousOrderError: the POST failed ambiguously and the order could not be found.
        APIError, TransportError: Bandwidth refused the order, or could not be reached.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 *metadata*, *store*: the journal, and idempotent re-calls.
    .. versionchanged:: 0.4 *reservation_ids*.
    """
    started = asyncio.get_running_loop().time()
    check_timeout(timeout)
    request = OrderRequest.build(
        site_id=site_id,
        numbers=numbers,
        search=search,
        name=name,
        customer_order_id=customer_order_id,
        peer_id=peer_id,
        partial_allowed=partial_allowed,
        back_order_requested=back_order_requested,
        reservation_ids=reservation_ids,
    )
    kept = check_metadata(metadata)
    digest = request_digest(request)
    coid = request.customer_order_id
    flow = OrderFlow(
        client,
        receiver,
        resolve_store(store, receiver, client),
        coid,
        timeout=timeout,
        on_status=on_status,
        confirm=confirm,
        polling=polling,
        started=started,
    )
    now = time.time()
    intent = OrderIntent(
        customer_order_id=coid,
        request_digest=digest,
        request=request_fields(request),
        request_xml=_xml.encode_order(request).decode(),
        metadata=kept,
        created_at=now,
        deadline=None if timeout is None else now + timeout,
    )

    attach_account(flow.store, client)  # a shared store names its keys by the account

    async def lead() -> OrderResult:
        existing = await begin(flow.store, intent)  # before anything is sent, or nothing is
        if existing is None:
            return await flow.place(request, generated_id=customer_order_id is None)
        if existing.request_digest != digest:
            raise conflict(coid)
        return await flow.resume(existing, request)

    return await exclusive(flow.store, coid, digest, lead, deadline=flow.deadline, timeout=timeout)


def _not_sent(error: BaseException) -> bool:
    """Whether *error*, raised before an order id was known, proves no order was created."""
    if isinstance(error, TransportError):
        return not error.request_sent
    return isinstance(error, APIError | WaitersClosedError)


class OrderFlow:
    """One call's way through an order: place it, or pick it up from the journal, and wait.

    Shared by :func:`order_and_wait` and :meth:`PendingOrder.wait`.
    """

    __slots__ = (
        "client",
        "confirm",
        "customer_order_id",
        "deadline",
        "on_first_poll",
        "on_status",
        "polling",
        "registry",
        "started",
        "store",
        "timeout",
    )

    def __init__(
        self,
        client: OrderClient,
        waiters: Waiters,
        store: OrderStore,
        customer_order_id: str,
        *,
        timeout: float | None,
        on_status: StatusHook | None,
        confirm: bool,
        polling: PollPolicy | None,
        started: float,
    ) -> None:
        self.client = client
        self.registry, self.on_first_poll = resolve_waiters(waiters)
        self.store = store
        self.customer_order_id = customer_order_id
        self.timeout = timeout
        self.deadline = None if timeout is None else started + timeout
        self.on_status = on_status
        self.confirm = confirm
        self.polling = polling or PollPolicy()
        self.started = started

    def elapsed(self) -> float:
        return asyncio.get_running_loop().time() - self.started

    async def place(self, request: OrderRequest, *, generated_id: bool) -> OrderResult:
        """POST the order (its intent is in the journal already), then wait for it."""
        coid = self.customer_order_id
        journal = Journal(self.store, coid)
        exposure = _retry.Exposure()
        order_id: str | None = None
        cancelled = False
        try:
            # Registered before the POST: the callback can beat its answer.
            async with registered(self.registry, (ORDERS, coid)) as waiter:
                # timeout= bounds the wait at the rate-limit gate too; the POST is never cut.
                gate_deadline = _ratelimit.deadline.set(self.deadline)
                watching = _retry.exposure.set(exposure)
                try:
                    order = await self.client.place_order(request)
                finally:
                    _retry.exposure.reset(watching)
                    _ratelimit.deadline.reset(gate_deadline)
                assert order.id is not None  # place_order guarantees an id
                order_id = order.id
                await journal.write("placed", order_id)
                return await self._wait(journal, waiter, order_id, order.status)
        except asyncio.CancelledError:
            cancelled = True
            _log_cancelled(coid, order_id, exposure)
            raise
        except Exception as error:
            # An id we made up cannot be asked for again: close its intent, so it is not
            # left unfinished. A caller's own id stays INTENT, for a re-call to place it.
            if generated_id and order_id is None and _not_sent(error):
                await journal.write("never_created")
            raise
        finally:
            await journal.close(flush=not cancelled)

    async def resume(self, existing: OrderIntent, request: OrderRequest) -> OrderResult:
        """Continue an order the journal knows: answer, wait, adopt, or place it."""
        try:  # another instance may be placing it right now: never place it twice
            existing = await placed_elsewhere(self.store, existing, self.deadline)
        except TimeoutError:
            raise self.timed_out(None) from None
        if existing.state.is_finished:
            return stored_result(existing, self.elapsed())
        if existing.order_id is not None:
            return await self.wait_placed(existing.order_id)
        # INTENT, and no call in this process leads it: its POST may have been sent by a
        # process that died. Bandwidth knows it by customer order id if it arrived.
        order = await self.find()
        if order is not None and order.id is not None:
            return await self.wait_placed(order.id, adopted=True)
        return await self.place(request, generated_id=False)

    async def find(self) -> Order | None:
        """``client.find_order`` within the caller's *timeout*."""
        try:
            async with asyncio.timeout_at(self.deadline):
                return await self.client.find_order(self.customer_order_id)
        except TimeoutError:
            raise self.timed_out(None) from None

    def timed_out(self, order_id: str | None) -> OrderTimeoutError:
        assert self.timeout is not None
        return OrderTimeoutError(order_id=order_id, timeout=self.timeout)

    async def wait_placed(self, order_id: str, *, adopted: bool = False) -> OrderResult:
        """Wait for an order Bandwidth has (*adopted*: the journal does not know its id yet)."""
        journal = Journal(self.store, self.customer_order_id)
        cancelled = False
        try:
            if adopted:
                await journal.write("placed", order_id)
            async with registered(self.registry, (ORDERS, self.customer_order_id)) as waiter:
                if waiter is not None:  # a callback routed here before anyone waited for it
                    await replay_recorded(self.store, self.customer_order_id)
                return await self._wait(journal, waiter, order_id, None)
        except asyncio.CancelledError:
            cancelled = True
            log.info("The wait was cancelled; order %s continues at Bandwidth.", order_id)
            raise
        finally:
            await journal.close(flush=not cancelled)

    async def _wait(
        self,
        journal: Journal,
        waiter: Waiter | None,
        order_id: str,
        response_status: OrderStatus | None,
    ) -> OrderResult:
        if waiter is not None:
            await waiter.bind(order_id)
        reporter = StatusReporter(self._hook(journal), order_id, self.customer_order_id)
        if response_status is not None:
            reporter.report(response_status, ResultSource.RESPONSE)
        try:
            result = await wait_registered(
                self.client,
                waiter,
                reporter,
                order_id=order_id,
                customer_order_id=self.customer_order_id,
                deadline=self.deadline,
                timeout=self.timeout,
                confirm=self.confirm,
                polling=self.polling,
                started=self.started,
                on_first_poll=self.on_first_poll,
            )
        except OrderFailedError as error:
            await journal.write("finish", failed_outcome(error))
            raise
        await journal.write("finish", result_outcome(result))
        return result

    def _hook(self, journal: Journal) -> StatusHook:
        user = self.on_status

        def hook(update: StatusUpdate) -> Awaitable[None] | None:
            if update.source is not ResultSource.RESPONSE:  # placed() says RECEIVED already
                journal.note("progress", str(update.status))
            return user(update) if user is not None else None

        return hook


def _log_cancelled(customer_order_id: str, order_id: str | None, exposure: _retry.Exposure) -> None:
    """Say what became of the order, since the cancelled caller never learns its id."""
    if order_id is not None:
        log.warning(
            "order_and_wait was cancelled, but order %s (customer order id %s) exists and "
            "continues at Bandwidth; look it up with client.get_order(%r).",
            order_id,
            customer_order_id,
            order_id,
        )
    elif exposure.may_have_arrived:
        log.warning(
            "order_and_wait was cancelled while POST /orders was under way: the POST may or "
            "may not have arrived, so the order may exist; look it up by customer order id %s "
            "with client.find_order(%r) before ordering again.",
            customer_order_id,
            customer_order_id,
        )
    else:
        log.info(
            "order_and_wait was cancelled before POST /orders was sent (customer order id %s); "
            "nothing was ordered.",
            customer_order_id,
        )
