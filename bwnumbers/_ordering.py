"""``order_and_wait``: place an order and return the moment Bandwidth has finished it.

The only module that knows the whole flow: register a waiter under a fresh customer order id
*before* ``POST /orders`` (the callback can beat the response), place the order with the
client's safe retries, then race the callback against a polling reconciler on
``GET /orders/{id}`` (Bandwidth never retries a missed callback), and confirm a final status
with ``GET /orders/{id}``, the source of truth.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterator, Sequence

import attrs

from . import _ratelimit, _retry
from ._client import NumbersClient
from ._exceptions import (
    AuthenticationError,
    BadRequestError,
    BWNumbersError,
    ForbiddenError,
    OrderFailedError,
    OrderTimeoutError,
    ValidationError,
)
from ._models import Notification, OrderDetails, OrderError, OrderRequest, OrderStatus
from ._receiver import CallbackReceiver
from ._search import Search
from ._status import ResultSource, StatusHook, StatusReporter, StatusUpdate
from ._waiters import OrderWaiters, Waiter

__all__ = ["OrderResult", "PollPolicy", "ResultSource", "StatusUpdate", "order_and_wait"]

log = logging.getLogger("bwnumbers.ordering")


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValidationError(f"{attribute.name}={value!r} must be a number of seconds >= 0.")


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How the reconciler polls ``GET /orders/{id}`` while it waits for the callback.

    The first poll comes *first_poll* seconds after the order was accepted (the callback
    usually wins well before), then every *interval* seconds, growing by *multiplier* up to
    *max_interval*, each with ±10 % jitter so that many waiting orders spread their polls.

    .. versionadded:: 0.1
    """

    first_poll: float = attrs.field(default=3.0, validator=_non_negative)
    interval: float = attrs.field(default=2.0, validator=_non_negative)
    max_interval: float = attrs.field(default=30.0, validator=_non_negative)
    multiplier: float = attrs.field(default=1.5, validator=_non_negative)

    def delays(self) -> Iterator[float]:
        """Seconds before each poll, forever."""
        yield self.first_poll * random.uniform(0.9, 1.1)  # noqa: S311 - jitter
        interval = self.interval
        while True:
            yield min(interval, self.max_interval) * random.uniform(0.9, 1.1)  # noqa: S311
            interval *= self.multiplier


@attrs.frozen(kw_only=True)
class OrderResult:
    """The outcome of a COMPLETE or PARTIAL order.

    *details* is the confirming ``GET /orders/{id}`` (``None`` only with ``confirm=False``,
    when the COMPLETE callback was trusted). *source* says whether the callback or the
    poller delivered the outcome; *elapsed* is seconds since ``order_and_wait`` started.
    """

    order_id: str
    customer_order_id: str
    status: OrderStatus
    completed_numbers: tuple[str, ...]
    failed_numbers: tuple[str, ...] = ()
    errors: tuple[OrderError, ...] = ()
    details: OrderDetails | None = None
    notification: Notification | None = None
    source: ResultSource
    elapsed: float


def _is_fatal(error: BWNumbersError) -> bool:
    """Errors that polling again will not cure."""
    return isinstance(
        error, AuthenticationError | ForbiddenError | BadRequestError | ValidationError
    )


async def order_and_wait(
    client: NumbersClient,
    receiver: CallbackReceiver | OrderWaiters,
    *,
    site_id: str,
    numbers: Sequence[str] | None = None,
    search: Search | None = None,
    name: str | None = None,
    customer_order_id: str | None = None,
    peer_id: str | None = None,
    partial_allowed: bool | None = None,
    back_order_requested: bool | None = None,
    timeout: float | None = None,
    on_status: StatusHook | None = None,
    confirm: bool = True,
    polling: PollPolicy | None = None,
) -> OrderResult:
    """Order numbers and return when Bandwidth has finished the order.

    Nothing is ordered twice (``POST /orders`` is only retried when it provably did not
    execute, and an ambiguous failure is reconciled by customer order id) and nothing is lost
    (a missed callback is caught by polling ``GET /orders/{id}``).

    Cancelling the call does not cancel the order. Once ``POST /orders`` may have been sent,
    a WARNING on the ``bwnumbers.ordering`` logger says how to find it: by its order id once
    Bandwidth accepted it, else by its customer order id. Cancelled before anything was sent
    (waiting for Bandwidth's rate limit, say), it logs that nothing was ordered, at INFO.

    Args:
        client: an open :class:`NumbersClient`.
        receiver: the :class:`CallbackReceiver` Bandwidth's subscription points at (it does
            not have to be reachable: polling still finishes the wait), or its
            :class:`OrderWaiters`.
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
        polling: the :class:`PollPolicy` of the reconciler.

    Returns:
        An :class:`OrderResult` for COMPLETE and PARTIAL orders.

    Raises:
        ValidationError: bad arguments, before anything is sent.
        OrderFailedError: the order ended FAILED (codes, descriptions, failed numbers).
        OrderTimeoutError: *timeout* ran out; the order continues on Bandwidth's side.
        RateLimitError: *timeout* (or ``RetryPolicy.rate_limit_budget``) ran out while waiting
            for Bandwidth's rate limit; nothing was sent (``.reset_at`` says when to retry).
        AmbiguousOrderError: the POST failed ambiguously and the order could not be found.
        APIError, TransportError: Bandwidth refused the order, or could not be reached.

    .. versionadded:: 0.1
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    if timeout is not None and (isinstance(timeout, bool) or timeout <= 0):
        raise ValidationError(f"timeout={timeout!r} must be a number of seconds > 0.")
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
    waiters = receiver.waiters if isinstance(receiver, CallbackReceiver) else receiver
    waiter = waiters.register(request.customer_order_id)
    exposure = _retry.Exposure()
    order_id: str | None = None
    try:
        # timeout= bounds the wait at the rate-limit gate too; the POST itself is never cut.
        gate_deadline = _ratelimit.deadline.set(None if timeout is None else started + timeout)
        watching = _retry.exposure.set(exposure)
        try:
            order = await client.place_order(request)
        finally:
            _retry.exposure.reset(watching)
            _ratelimit.deadline.reset(gate_deadline)
        assert order.id is not None  # place_order guarantees an id
        order_id = order.id
        waiter.bind(order.id)
        reporter = StatusReporter(on_status, order.id, request.customer_order_id)
        reporter.report(order.status, ResultSource.RESPONSE)
        try:
            return await _await_outcome(
                client,
                waiter,
                reporter,
                order_id=order.id,
                customer_order_id=request.customer_order_id,
                deadline=None if timeout is None else started + timeout,
                timeout=timeout,
                confirm=confirm,
                polling=polling or PollPolicy(),
                started=started,
                on_first_poll=_idle_check(receiver),
            )
        finally:
            await reporter.drain()
    except asyncio.CancelledError:
        _log_cancelled(request.customer_order_id, order_id, exposure)
        raise
    finally:
        waiter.release()


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
            "with client.list_orders(customer_order_id=%r) before ordering again.",
            customer_order_id,
            customer_order_id,
        )
    else:
        log.info(
            "order_and_wait was cancelled before POST /orders was sent (customer order id %s); "
            "nothing was ordered.",
            customer_order_id,
        )


def _idle_check(receiver: CallbackReceiver | OrderWaiters) -> Callable[[], None] | None:
    """What to run when polling starts: warn if the receiver cannot be receiving callbacks."""
    if isinstance(receiver, CallbackReceiver):
        return receiver._warn_if_not_receiving
    return None  # bare OrderWaiters: whoever feeds them is not ours to check


async def _await_outcome(
    client: NumbersClient,
    waiter: Waiter,
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
) -> OrderResult:
    def on_update(notification: Notification) -> None:
        reporter.report(notification.status, ResultSource.CALLBACK, notification=notification)

    waiter.on_update = on_update
    for early in waiter.updates:  # claimed from the unclaimed buffer before we listened
        on_update(early)

    def finish(
        details: OrderDetails | None, notification: Notification | None, source: ResultSource
    ) -> OrderResult:
        return _outcome(
            order_id=order_id,
            customer_order_id=customer_order_id,
            details=details,
            notification=notification,
            source=source,
            elapsed=asyncio.get_running_loop().time() - started,
        )

    poller = _Reconciler(client, order_id, polling, reporter, on_first_poll)
    pending: set[asyncio.Future[object]] = {waiter.future, poller.outcome}  # type: ignore[arg-type]
    notification: Notification | None = None
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if poller.outcome in done:
                    return finish(poller.outcome.result(), notification, ResultSource.POLL)
                if waiter.future.cancelled() or waiter.future.exception() is not None:
                    log.warning(
                        "Order %s lost its callback listener (%s); finishing by polling",
                        order_id,
                        waiter.future.exception() if not waiter.future.cancelled() else "cancelled",
                    )
                    continue
                notification = waiter.future.result()
                if not confirm and notification.status is OrderStatus.COMPLETE:
                    return finish(None, notification, ResultSource.CALLBACK)
                try:
                    details = await client.get_order(order_id)
                except BWNumbersError as error:
                    if _is_fatal(error):
                        raise
                    log.warning("Confirming order %s failed (%s); polling instead", order_id, error)
                    continue
                if details.status.is_final:
                    return finish(details, notification, ResultSource.CALLBACK)
                log.warning(
                    "Order %s: the callback said %s but GET /orders says %s; following GET",
                    order_id,
                    notification.status,
                    details.status,
                )
                reporter.report(details.status, ResultSource.POLL, details=details)
    except TimeoutError:
        assert timeout is not None
        last = str(reporter.last) if reporter.last is not None else None
        raise OrderTimeoutError(order_id=order_id, timeout=timeout, last_status=last) from None
    finally:
        await poller.aclose()


class _Reconciler:
    """Polls ``GET /orders/{id}`` until the order is final: the guaranteed path.

    The polling task is only created when the first poll is due; until then a timer stands in
    for it. Most orders are finished by their callback well before, so a burst of orders does
    not pay for thousands of sleeping tasks.
    """

    def __init__(
        self,
        client: NumbersClient,
        order_id: str,
        policy: PollPolicy,
        reporter: StatusReporter,
        on_first_poll: Callable[[], None] | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.outcome: asyncio.Future[OrderDetails] = loop.create_future()
        self._client = client
        self._order_id = order_id
        self._reporter = reporter
        self._on_first_poll = on_first_poll
        self._delays = policy.delays()
        self._task: asyncio.Task[OrderDetails] | None = None
        self._timer = loop.call_later(next(self._delays), self._start)

    def _start(self) -> None:
        if self._on_first_poll is not None:
            self._on_first_poll()
        self._task = asyncio.ensure_future(self._poll())
        self._task.add_done_callback(self._settle)

    def _settle(self, task: asyncio.Task[OrderDetails]) -> None:
        if self.outcome.done():
            return
        if task.cancelled():
            self.outcome.cancel()
        elif (error := task.exception()) is not None:
            self.outcome.set_exception(error)
        else:
            self.outcome.set_result(task.result())

    async def _poll(self) -> OrderDetails:
        while True:
            try:
                details = await self._client.get_order(self._order_id)
            except BWNumbersError as error:
                if _is_fatal(error):
                    raise
                log.warning("Polling order %s failed (%s); trying again", self._order_id, error)
            else:
                if details.status.is_final:
                    return details
                self._reporter.report(details.status, ResultSource.POLL, details=details)
            await asyncio.sleep(next(self._delays))

    async def aclose(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if not self.outcome.done():
            self.outcome.cancel()
        elif not self.outcome.cancelled():
            self.outcome.exception()  # mark it retrieved: the caller has its answer already


def _outcome(
    *,
    order_id: str,
    customer_order_id: str,
    details: OrderDetails | None,
    notification: Notification | None,
    source: ResultSource,
    elapsed: float,
) -> OrderResult:
    if details is None:
        assert notification is not None
        assert notification.status is not None
        return OrderResult(
            order_id=order_id,
            customer_order_id=customer_order_id,
            status=notification.status,
            completed_numbers=notification.completed_numbers,
            notification=notification,
            source=source,
            elapsed=elapsed,
        )
    if details.status is OrderStatus.FAILED:
        raise OrderFailedError(
            order_id=order_id,
            errors=details.errors,
            failed_numbers=details.failed_numbers,
            details=details,
            notification=notification,
        )
    log.info("Order %s is %s after %.0f ms (%s)", order_id, details.status, elapsed * 1000, source)
    return OrderResult(
        order_id=order_id,
        customer_order_id=customer_order_id,
        status=details.status,
        completed_numbers=details.completed_numbers,
        failed_numbers=details.failed_numbers,
        errors=details.errors,
        details=details,
        notification=notification,
        source=source,
        elapsed=elapsed,
    )
