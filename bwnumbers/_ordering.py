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
from collections.abc import Mapping, Sequence

from ._flow import OrderFlow
from ._kinds import ORDER_KIND
from ._models import OrderFlag, OrderNumbers, OrderRequest
from ._poller import PollPolicy
from ._seam import OrderClient, Waiters
from ._search import Search
from ._status import ResultSource, StatusHook, StatusUpdate
from ._store import OrderStore
from ._waiting import OrderResult, check_timeout, wait_for_order

__all__ = [
    "OrderFlow",
    "OrderResult",
    "PollPolicy",
    "ResultSource",
    "StatusUpdate",
    "order_and_wait",
    "wait_for_order",
]


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
    .. versionchanged:: 0.3 *reservation_ids*.
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
    flow = OrderFlow(ORDER_KIND, client, receiver, store, request.customer_order_id)
    flow.wait_with(started, timeout=timeout, on_status=on_status, confirm=confirm, polling=polling)
    return await flow.run(request, metadata, generated_id=customer_order_id is None)
