"""``wait_for_order``: wait for an order that exists already, until Bandwidth has finished it.

The callback (through a :class:`~bwnumbers.WaiterRegistry`) is raced against the poller on
``GET /orders/{id}``, because Bandwidth never sends a missed callback again; a final status is
confirmed with ``GET /orders/{id}``, the source of truth
(https://dev.bandwidth.com/apis/numbers/). ``order_and_wait`` places an order and
then waits here; a service that restarted resumes its orders' waits with
:func:`wait_for_order`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from ._checks import check_seconds, check_text
from ._exceptions import BWNumbersError, OrderTimeoutError
from ._kinds import ORDER_KIND, FinalDetails, OrderKind, OrderResult, R
from ._models import Notification, OrderDetails, OrderStatus
from ._poller import Poller, PollPolicy, is_fatal
from ._seam import ORDERS, OrderClient, OrderKey, Waiter, WaiterRegistry, Waiters, WaiterSource
from ._status import ResultSource, StatusHook, StatusReporter

__all__ = ["OrderResult", "registered", "resolve_waiters", "wait_for_order", "wait_registered"]

log = logging.getLogger("bwnumbers.ordering")


def resolve_waiters(
    waiters: Waiters,
) -> tuple[WaiterRegistry | None, Callable[[], None] | None]:
    """The registry to wait in, and what to call when polling starts (a receiver's check)."""
    if waiters is None:
        return None, None
    if isinstance(waiters, WaiterSource):
        return waiters.waiters, waiters.polling_started
    return waiters, None  # a bare registry: whoever feeds it is not ours to check


def registered(
    registry: WaiterRegistry | None, key: OrderKey
) -> AbstractAsyncContextManager[Waiter | None]:
    """``registry.register(key)``, or no waiter at all when waiting by polling alone."""
    if registry is None:
        return contextlib.nullcontext(None)
    return registry.register(key)


def check_timeout(timeout: float | None) -> None:
    if timeout is not None:
        check_seconds("timeout", timeout)


async def wait_for_order(
    client: OrderClient,
    waiters: Waiters,
    *,
    order_id: str,
    customer_order_id: str | None = None,
    timeout: float | None = None,
    on_status: StatusHook | None = None,
    confirm: bool = True,
    polling: PollPolicy | None = None,
) -> OrderResult:
    """Wait for an order that was placed already (by this process or another) to finish.

    What :func:`order_and_wait` does after ``POST /orders``, with the same guarantees and
    results: the callback is raced against polling ``GET /orders/{id}``, and a final status is
    confirmed with ``GET /orders/{id}``. A service that restarted resumes its orders' waits
    with it, from the ids it kept.

    Args:
        client: an open :class:`NumbersClient`, or anything with its
            :class:`~bwnumbers.OrderClient` methods.
        waiters: the :class:`CallbackReceiver` Bandwidth's subscription points at, a
            :class:`~bwnumbers.WaiterRegistry`, or ``None`` to wait by polling alone.
        order_id: Bandwidth's order id.
        customer_order_id: the order's customer order id, under which early notifications
            are kept; when not given, it is read from ``GET /orders/{id}`` first (and an order
            that is final already returns at once).
        timeout, on_status, confirm, polling: as for :func:`order_and_wait`.

    Returns:
        An :class:`OrderResult` for COMPLETE and PARTIAL orders.

    Raises:
        ValidationError: bad arguments, before anything is sent.
        OrderFailedError: the order ended FAILED.
        OrderTimeoutError: *timeout* ran out; the order continues on Bandwidth's side.
        NotFoundError: no order has *order_id*.
        APIError, TransportError: the order could not be looked up.

    .. versionadded:: 0.2
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    check_timeout(timeout)
    check_text("order_id", order_id)
    if customer_order_id is not None:
        check_text("customer_order_id", customer_order_id)
    deadline = None if timeout is None else started + timeout
    registry, on_first_poll = resolve_waiters(waiters)
    details: OrderDetails | None = None
    if customer_order_id is None:
        try:
            async with asyncio.timeout_at(deadline):
                details = await client.get_order(order_id)
        except TimeoutError:
            assert timeout is not None
            raise OrderTimeoutError(order_id=order_id, timeout=timeout) from None
        customer_order_id = details.order.customer_order_id
        if details.status.is_final:
            return outcome(
                ORDER_KIND,
                order_id=order_id,
                customer_order_id=customer_order_id or "",
                details=details,
                notification=None,
                source=ResultSource.POLL,
                elapsed=loop.time() - started,
            )
    try:
        async with registered(registry, (ORDERS, customer_order_id or order_id)) as waiter:
            if waiter is not None:
                await waiter.bind(order_id)
            reporter = StatusReporter(on_status, order_id, customer_order_id or "")
            if details is not None:
                reporter.report(details.status, ResultSource.POLL, details=details)
            return await wait_registered(
                ORDER_KIND,
                client,
                waiter,
                reporter,
                order_id=order_id,
                customer_order_id=customer_order_id or "",
                deadline=deadline,
                timeout=timeout,
                confirm=confirm,
                polling=polling or PollPolicy(),
                started=started,
                on_first_poll=on_first_poll,
            )
    except asyncio.CancelledError:
        log.info("wait_for_order was cancelled; order %s continues at Bandwidth.", order_id)
        raise


async def wait_registered(
    kind: OrderKind[R],
    client: Any,
    waiter: Waiter | None,
    reporter: StatusReporter,
    *,
    order_id: str,
    customer_order_id: str,
    deadline: float | None,
    timeout: float | None,
    confirm: bool,
    polling: PollPolicy,
    started: float,
    on_first_poll: Callable[[], None] | None = None,
) -> R:
    """Race *waiter* (bound to *order_id*; ``None``: poll only) against the poller on
    *kind*'s ``GET``."""

    def on_update(notification: Notification) -> None:
        reporter.report(notification.status, ResultSource.CALLBACK, notification=notification)

    def finish(
        details: FinalDetails | None, notification: Notification | None, source: ResultSource
    ) -> R:
        return outcome(
            kind,
            order_id=order_id,
            customer_order_id=customer_order_id,
            details=details,
            notification=notification,
            source=source,
            elapsed=asyncio.get_running_loop().time() - started,
        )

    final: asyncio.Future[Notification] | None = None
    if waiter is not None:
        waiter.on_update(on_update)
        # The in-process waiter hands out its future: no task per waiting order.
        final = asyncio.ensure_future(waiter.final())
    poller: Poller = Poller(
        lambda: kind.fetch(client, order_id), order_id, polling, reporter, on_first_poll
    )
    pending: set[asyncio.Future[object]] = {poller.outcome}  # type: ignore[arg-type]
    if final is not None:
        pending.add(final)  # type: ignore[arg-type]
    notification: Notification | None = None
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if poller.outcome in done:
                    return finish(poller.outcome.result(), notification, ResultSource.POLL)
                assert final is not None
                if final.cancelled() or final.exception() is not None:
                    log.warning(
                        "%s %s lost its callback listener (%s); finishing by polling",
                        kind.noun.capitalize(),
                        order_id,
                        final.exception() if not final.cancelled() else "cancelled",
                    )
                    continue
                notification = final.result()
                if not confirm and notification.status is OrderStatus.COMPLETE:
                    return finish(None, notification, ResultSource.CALLBACK)
                try:
                    details: FinalDetails = await kind.fetch(client, order_id)
                except BWNumbersError as error:
                    if is_fatal(error):
                        raise
                    log.warning(
                        "Confirming %s %s failed (%s); polling instead", kind.noun, order_id, error
                    )
                    continue
                if details.status.is_final:
                    return finish(details, notification, ResultSource.CALLBACK)
                log.warning(
                    "%s %s: the callback said %s but GET /%s says %s; following GET",
                    kind.noun.capitalize(),
                    order_id,
                    notification.status,
                    kind.name,
                    details.status,
                )
                reporter.report(details.status, ResultSource.POLL, details=details)
    except TimeoutError:
        assert timeout is not None
        last = str(reporter.last) if reporter.last is not None else None
        raise OrderTimeoutError(order_id=order_id, timeout=timeout, last_status=last) from None
    finally:
        await poller.aclose()
        if final is not None and isinstance(final, asyncio.Task):
            final.cancel()
            await asyncio.gather(final, return_exceptions=True)
        await reporter.drain()


def outcome(
    kind: OrderKind[R],
    *,
    order_id: str,
    customer_order_id: str,
    details: FinalDetails | None,
    notification: Notification | None,
    source: ResultSource,
    elapsed: float,
) -> R:
    """The result of a final order or disconnect, or *kind*'s error for a FAILED one."""
    if details is None:
        assert notification is not None
        assert notification.status is not None
        return kind.make(
            order_id=order_id,
            customer_order_id=customer_order_id,
            status=notification.status,
            numbers=notification.completed_numbers,
            notification=notification,
            source=source,
            elapsed=elapsed,
        )
    if details.status is OrderStatus.FAILED:
        raise kind.failure(
            order_id=order_id,
            errors=details.errors,
            failed_numbers=details.failed_numbers,
            details=details,
            notification=notification,
        )
    log.info(
        "%s %s is %s after %.0f ms (%s)",
        kind.noun.capitalize(),
        order_id,
        details.status,
        elapsed * 1000,
        source,
    )
    return kind.make(
        order_id=order_id,
        customer_order_id=customer_order_id,
        status=details.status,
        numbers=kind.done_numbers(details),
        failed_numbers=details.failed_numbers,
        errors=details.errors,
        details=details,
        notification=notification,
        source=source,
        elapsed=elapsed,
    )
