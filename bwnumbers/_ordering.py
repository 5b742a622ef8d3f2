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

from . import _ratelimit, _retry
from ._models import OrderFlag, OrderNumbers, OrderRequest
from ._poller import PollPolicy
from ._seam import ORDERS, OrderClient, Waiters
from ._search import Search
from ._status import ResultSource, StatusHook, StatusReporter, StatusUpdate
from ._waiting import (
    OrderResult,
    check_timeout,
    registered,
    resolve_waiters,
    wait_for_order,
    wait_registered,
)

__all__ = [
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
    timeout: float | None = None,
    on_status: StatusHook | None = None,
    confirm: bool = True,
    polling: PollPolicy | None = None,
) -> OrderResult:
    """Order numbers and return when Bandwidth has finished the order.

    Nothing is ordered twice (``POST /orders`` is only retried when it provably did not
    execute, and an ambiguous failure is settled with :meth:`NumbersClient.find_order`) and
    nothing is lost (a missed callback is caught by polling ``GET /orders/{id}``). Once the
    order is placed, it is waited for as :func:`wait_for_order` does.

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

    Returns:
        An :class:`OrderResult` for COMPLETE and PARTIAL orders.

    Raises:
        ValidationError: bad arguments, before anything is sent.
        WaitersClosedError: *receiver* was stopped already; nothing was sent.
        OrderFailedError: the order ended FAILED (codes, descriptions, failed numbers).
        OrderTimeoutError: *timeout* ran out; the order continues on Bandwidth's side.
        RateLimitError: *timeout* (or ``RetryPolicy.rate_limit_budget``) ran out while waiting
            for Bandwidth's rate limit; nothing was sent (``.reset_at`` says when to retry).
        AmbiguousOrderError: the POST failed ambiguously and the order could not be found.
        APIError, TransportError: Bandwidth refused the order, or could not be reached.

    .. versionadded:: 0.1
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
    )
    deadline = None if timeout is None else started + timeout
    registry, on_first_poll = resolve_waiters(receiver)
    exposure = _retry.Exposure()
    order_id: str | None = None
    try:
        # Registered before the POST: the callback can beat its answer.
        async with registered(registry, (ORDERS, request.customer_order_id)) as waiter:
            # timeout= bounds the wait at the rate-limit gate too; the POST is never cut.
            gate_deadline = _ratelimit.deadline.set(deadline)
            watching = _retry.exposure.set(exposure)
            try:
                order = await client.place_order(request)
            finally:
                _retry.exposure.reset(watching)
                _ratelimit.deadline.reset(gate_deadline)
            assert order.id is not None  # place_order guarantees an id
            order_id = order.id
            if waiter is not None:
                await waiter.bind(order_id)
            reporter = StatusReporter(on_status, order_id, request.customer_order_id)
            reporter.report(order.status, ResultSource.RESPONSE)
            return await wait_registered(
                client,
                waiter,
                reporter,
                order_id=order_id,
                customer_order_id=request.customer_order_id,
                deadline=deadline,
                timeout=timeout,
                confirm=confirm,
                polling=polling or PollPolicy(),
                started=started,
                on_first_poll=on_first_poll,
            )
    except asyncio.CancelledError:
        _log_cancelled(request.customer_order_id, order_id, exposure)
        raise


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
