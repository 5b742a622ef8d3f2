"""One call's way through an order or a disconnect: place it, or pick it up from the journal,
and wait for it.

:func:`~bwnumbers.order_and_wait`, :func:`~bwnumbers.disconnect_and_wait` and
:meth:`PendingOrder.wait` share it; an :class:`~bwnumbers._kinds.OrderKind` says which POST,
which ``GET``, which lookup, which result and which namespace. The waiter is registered before
the POST (the callback can beat its answer), and the journal records the intent before it,
then the id, statuses and outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Any, Generic

from . import _ratelimit, _retry
from ._exceptions import (
    APIError,
    FinalFailure,
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
from ._kinds import OrderKind, R
from ._models import OrderStatus
from ._poller import PollPolicy
from ._seam import Waiter, Waiters
from ._shared import attach_account, placed_elsewhere, replay_recorded
from ._status import ResultSource, StatusHook, StatusReporter, StatusUpdate
from ._store import OrderIntent, OrderStore, check_metadata, journal_key
from ._waiting import check_timeout, registered, resolve_waiters, wait_registered

__all__ = ["OrderFlow"]

log = logging.getLogger("bwnumbers.ordering")


def _not_sent(error: BaseException) -> bool:
    """Whether *error*, raised before an order id was known, proves no order was created."""
    if isinstance(error, TransportError):
        return not error.request_sent
    return isinstance(error, APIError | WaitersClosedError)


class OrderFlow(Generic[R]):
    """One call's way through an order (or a disconnect, by *kind*): place it, or pick it up
    from the journal, and wait."""

    __slots__ = (
        "client",
        "confirm",
        "customer_order_id",
        "deadline",
        "key",
        "kind",
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
        kind: OrderKind[R],
        client: Any,
        waiters: Waiters,
        store: OrderStore | None,
        customer_order_id: str,
    ) -> None:
        self.kind: OrderKind[R] = kind
        self.client = client
        self.registry, self.on_first_poll = resolve_waiters(waiters)
        self.store = resolve_store(store, waiters, client)
        self.customer_order_id = customer_order_id
        self.key = journal_key(kind.name, customer_order_id)
        self.wait_with(asyncio.get_running_loop().time())

    def wait_with(
        self,
        started: float,
        *,
        timeout: float | None = None,
        on_status: StatusHook | None = None,
        confirm: bool = True,
        polling: PollPolicy | None = None,
    ) -> None:
        """How the call waits: from *started* (loop time), and the caller's options."""
        check_timeout(timeout)
        self.started = started
        self.timeout = timeout
        self.deadline = None if timeout is None else started + timeout
        self.on_status = on_status
        self.confirm = confirm
        self.polling = polling or PollPolicy()

    def elapsed(self) -> float:
        return asyncio.get_running_loop().time() - self.started

    async def run(
        self, request: Any, metadata: Mapping[str, object] | None, *, generated_id: bool
    ) -> R:
        """Journal *request*'s intent (before anything is sent, or nothing is), then place it,
        or resume the order the journal knows under its key; a call in this process that
        leads that order already is followed instead (:func:`~bwnumbers._journal.exclusive`).

        *generated_id*: the customer order id was made up here, not the caller's.
        """
        kept = check_metadata(metadata)
        fields, request_xml, digest = self.kind.journal(request)
        now = time.time()
        intent = OrderIntent(
            kind=self.kind.name,
            customer_order_id=self.customer_order_id,
            request_digest=digest,
            request=fields,
            request_xml=request_xml,
            metadata=kept,
            created_at=now,
            deadline=None if self.timeout is None else now + self.timeout,
        )
        attach_account(self.store, self.client)  # a shared store names its keys by the account

        async def lead() -> R:
            existing = await begin(self.store, intent)
            if existing is None:
                return await self.place(request, generated_id=generated_id)
            if existing.request_digest != digest:
                raise conflict(self.customer_order_id)
            return await self.resume(existing, request)

        return await exclusive(
            self.store, self.key, digest, lead, deadline=self.deadline, timeout=self.timeout
        )

    async def place(self, request: Any, *, generated_id: bool) -> R:
        """POST the order (its intent is in the journal already), then wait for it."""
        coid = self.customer_order_id
        journal = Journal(self.store, self.key)
        exposure = _retry.Exposure()
        order_id: str | None = None
        cancelled = False
        try:
            # Registered before the POST: the callback can beat its answer.
            async with registered(self.registry, (self.kind.name, coid)) as waiter:
                # timeout= bounds the wait at the rate-limit gate too; the POST is never cut.
                gate_deadline = _ratelimit.deadline.set(self.deadline)
                watching = _retry.exposure.set(exposure)
                try:
                    order = await self.kind.place(self.client, request)
                finally:
                    _retry.exposure.reset(watching)
                    _ratelimit.deadline.reset(gate_deadline)
                assert order.id is not None  # place_order/place_disconnect guarantee an id
                order_id = order.id
                await journal.write("placed", order_id)
                return await self._wait(journal, waiter, order_id, order.status)
        except asyncio.CancelledError:
            cancelled = True
            self._log_cancelled(order_id, exposure)
            raise
        except Exception as error:
            # An id we made up cannot be asked for again: close its intent, so it is not
            # left unfinished. A caller's own id stays INTENT, for a re-call to place it.
            if generated_id and order_id is None and _not_sent(error):
                await journal.write("never_created")
            raise
        finally:
            await journal.close(flush=not cancelled)

    async def resume(self, existing: OrderIntent, request: Any) -> R:
        """Continue an order the journal knows: answer, wait, adopt, or place it."""
        try:  # another instance may be placing it right now: never place it twice
            existing = await placed_elsewhere(self.store, existing, self.deadline)
        except TimeoutError:
            raise self.timed_out(None) from None
        if existing.state.is_finished:
            result: R = stored_result(existing, self.elapsed())
            return result
        if existing.order_id is not None:
            return await self.wait_placed(existing.order_id)
        # INTENT, and no call in this process leads it: its POST may have been sent by a
        # process that died. Bandwidth knows it (by customer order id, or for a disconnect by
        # its numbers) if it arrived.
        order = await self.find(existing)
        if order is not None and order.id is not None:
            return await self.wait_placed(order.id, adopted=True)
        return await self.place(request, generated_id=False)

    async def find(self, intent: OrderIntent) -> Any:
        """The kind's lookup of what *intent*'s POST made, within the caller's *timeout*."""
        try:
            async with asyncio.timeout_at(self.deadline):
                return await self.kind.find(self.client, intent)
        except TimeoutError:
            raise self.timed_out(None) from None

    def timed_out(self, order_id: str | None) -> OrderTimeoutError:
        assert self.timeout is not None
        return OrderTimeoutError(order_id=order_id, timeout=self.timeout)

    async def wait_placed(self, order_id: str, *, adopted: bool = False) -> R:
        """Wait for an order Bandwidth has (*adopted*: the journal does not know its id yet)."""
        journal = Journal(self.store, self.key)
        cancelled = False
        try:
            if adopted:
                await journal.write("placed", order_id)
            key = (self.kind.name, self.customer_order_id)
            async with registered(self.registry, key) as waiter:
                if waiter is not None:  # a callback routed here before anyone waited for it
                    await replay_recorded(self.store, self.key)
                return await self._wait(journal, waiter, order_id, None)
        except asyncio.CancelledError:
            cancelled = True
            log.info(
                "The wait was cancelled; %s %s continues at Bandwidth.", self.kind.noun, order_id
            )
            raise
        finally:
            await journal.close(flush=not cancelled)

    async def _wait(
        self,
        journal: Journal,
        waiter: Waiter | None,
        order_id: str,
        response_status: OrderStatus | None,
    ) -> R:
        if waiter is not None:
            await waiter.bind(order_id)
        reporter = StatusReporter(
            self._hook(journal), order_id, self.customer_order_id, self.kind.noun
        )
        if response_status is not None:
            reporter.report(response_status, ResultSource.RESPONSE)
        try:
            result: R = await wait_registered(
                self.kind,
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
        except FinalFailure as error:
            await journal.write("finish", failed_outcome(error))
            raise
        await journal.write("finish", result_outcome(self.kind, result))
        return result

    def _hook(self, journal: Journal) -> StatusHook:
        user = self.on_status

        def hook(update: StatusUpdate) -> Awaitable[None] | None:
            if update.source is not ResultSource.RESPONSE:  # placed() says RECEIVED already
                journal.note("progress", str(update.status))
            return user(update) if user is not None else None

        return hook

    def _log_cancelled(self, order_id: str | None, exposure: _retry.Exposure) -> None:
        """Say what became of the order, since the cancelled caller never learns its id."""
        kind, coid = self.kind, self.customer_order_id
        if order_id is not None:
            log.warning(
                "%s was cancelled, but %s %s (customer order id %s) exists and continues at "
                "Bandwidth; look it up with client.%s(%r).",
                kind.call,
                kind.noun,
                order_id,
                coid,
                kind.get,
                order_id,
            )
        elif exposure.may_have_arrived:
            log.warning(
                "%s was cancelled while POST /%s was under way: the POST may or may not have "
                "arrived, so the %s may exist; %s",
                kind.call,
                kind.name,
                kind.noun,
                kind.lookup_hint.format(coid=coid),
            )
        else:
            log.info(
                "%s was cancelled before POST /%s was sent (customer order id %s); nothing was %s.",
                kind.call,
                kind.name,
                coid,
                kind.done,
            )
