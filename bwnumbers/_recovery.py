"""``recover()``: pick up the orders a process left unfinished in its journal.

A service that restarted calls ``await bwnumbers.recover(client, receiver)`` once its receiver
is running, and gets one :class:`PendingOrder` per order the journal holds as unfinished, with
whom it was for (``metadata``); ``await pending.wait()`` gives what ``order_and_wait`` would
have. An order whose ``POST /orders`` may never have reached Bandwidth is looked up by its
customer order id (``GET /orders?customerOrderId=``,
https://dev.bandwidth.com/apis/numbers/), since Bandwidth keeps the id it was sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Generic

from ._checks import check_seconds
from ._exceptions import StoreUnavailableError
from ._flow import OrderFlow
from ._journal import Journal, exclusive, never_created_error, resolve_store, stored_result
from ._kinds import OrderKind, R, kind_named
from ._poller import PollPolicy
from ._seam import OrderClient, Waiters
from ._shared import attach_account
from ._status import StatusHook
from ._store import OrderIntent, OrderStore
from ._waiting import check_timeout

__all__ = ["PendingOrder", "recover"]

#: Seconds after its creation an intent without an order id is looked for at Bandwidth.
DEFAULT_RECONCILE_WINDOW = 60.0


class PendingOrder(Generic[R]):
    """An order (or a disconnect) the journal holds as unfinished, as :func:`recover` returns
    it.

    Attributes:
        kind: ``"orders"``, or ``"disconnects"`` for a disconnect (whose :meth:`wait` gives a
            :class:`~bwnumbers.DisconnectResult` and whose *request* is a
            :class:`~bwnumbers.DisconnectRequest`).
        customer_order_id: the order's customer order id.
        order_id: Bandwidth's order id, or ``None`` when the process died before the
            ``POST /orders`` answer (the order may or may not exist).
        metadata: what ``order_and_wait(..., metadata=...)`` was given.
        request: the :class:`~bwnumbers.OrderRequest` that was (or was to be) sent.
        intent: the journal's record, as it was when :func:`recover` read it.

    .. versionadded:: 0.2
    .. versionchanged:: 0.3 disconnects too (*kind*).
    """

    __slots__ = (
        "_client",
        "_kind",
        "_reconcile_window",
        "_resubmit",
        "_store",
        "_waiters",
        "customer_order_id",
        "intent",
        "kind",
        "metadata",
        "order_id",
        "request",
    )

    def __init__(
        self,
        intent: OrderIntent,
        *,
        client: OrderClient,
        waiters: Waiters,
        store: OrderStore,
        reconcile_window: float,
        resubmit: bool,
    ) -> None:
        self.intent = intent
        self._kind: OrderKind[R] = kind_named(intent.kind)
        self.kind = intent.kind
        self.customer_order_id = intent.customer_order_id
        self.order_id = intent.order_id
        self.metadata: Mapping[str, object] = intent.metadata
        self.request: Any = self._kind.rebuild(intent)
        self._client = client
        self._waiters = waiters
        self._store = store
        self._reconcile_window = reconcile_window
        self._resubmit = resubmit

    def __repr__(self) -> str:
        return (
            f"<PendingOrder kind={self.kind} customer_order_id={self.customer_order_id} "
            f"order_id={self.order_id} state={self.intent.state}>"
        )

    async def wait(
        self,
        timeout: float | None = None,
        *,
        on_status: StatusHook | None = None,
        confirm: bool = True,
        polling: PollPolicy | None = None,
    ) -> R:
        """Wait for the order until Bandwidth has finished it, and record its outcome.

        With an order id: the callback raced against polling ``GET /orders/{id}``, a final
        status confirmed, as ``order_and_wait`` does. Without one, the order is looked up by
        its customer order id (a disconnect by its numbers, among the disconnects made since
        shortly before its intent): adopted if Bandwidth has it; if not, looked for again until
        the reconcile window after the intent's creation has passed, and then, unless
        ``recover(..., resubmit=True)``, recorded as never created.

        Args:
            timeout, on_status, confirm, polling: as for :func:`bwnumbers.order_and_wait`.

        Returns:
            An :class:`~bwnumbers.OrderResult` for COMPLETE and PARTIAL orders, a
            :class:`~bwnumbers.DisconnectResult` for disconnects
            (``source=ResultSource.STORE`` if another call finished it meanwhile).

        Raises:
            OrderFailedError: the order ended FAILED (a disconnect:
                :class:`~bwnumbers.DisconnectFailedError`).
            OrderTimeoutError: *timeout* ran out; the order stays in the journal.
            NeverCreatedError: Bandwidth has no such order after the reconcile window, and
                *resubmit* was not asked for: nothing was ordered.
            APIError, TransportError: Bandwidth could not be asked.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        check_timeout(timeout)
        flow = OrderFlow(
            self._kind, self._client, self._waiters, self._store, self.customer_order_id
        )
        flow.wait_with(
            started, timeout=timeout, on_status=on_status, confirm=confirm, polling=polling
        )
        return await exclusive(
            self._store,
            self.intent.key,
            self.intent.request_digest,
            lambda: self._lead(flow),
            deadline=flow.deadline,
            timeout=timeout,
        )

    async def _lead(self, flow: OrderFlow[R]) -> R:
        try:
            current = await self._store.get(self.intent.key) or self.intent
        except Exception:  # the snapshot will do: every step below is safe to repeat
            current = self.intent
        if current.state.is_finished:
            result: R = stored_result(current, flow.elapsed())
            return result
        if current.order_id is not None:
            self.order_id = current.order_id
            return await flow.wait_placed(current.order_id)
        order = await self._reconcile(flow, current)
        if order is not None:
            self.order_id = order
            return await flow.wait_placed(order, adopted=True)
        if self._resubmit:
            return await flow.place(self.request, generated_id=False)
        journal = Journal(self._store, self.intent.key)
        try:
            await journal.write("never_created")
        finally:
            await journal.close(flush=True)
        raise never_created_error(
            self.customer_order_id,
            f"Bandwidth has no {flow.kind.noun} with it {self._reconcile_window:g} s after it was "
            f"journaled, so its POST /{flow.kind.name} never arrived.",
        )

    async def _reconcile(self, flow: OrderFlow[R], intent: OrderIntent) -> str | None:
        """The order id Bandwidth has for the intent, looking until the window has passed."""
        window_ends = intent.created_at + self._reconcile_window
        delays = flow.polling.delays()
        next(delays)  # the first look is now, not after the first poll's delay
        while True:
            order = await flow.find(intent)
            if order is not None and order.id is not None:
                found: str = order.id
                return found
            left = window_ends - time.time()
            if left <= 0:
                return None
            try:
                async with asyncio.timeout_at(flow.deadline):
                    await asyncio.sleep(min(next(delays), left))
            except TimeoutError:
                raise flow.timed_out(None) from None


async def recover(
    client: OrderClient,
    waiters: Waiters,
    *,
    store: OrderStore | None = None,
    reconcile_window: float = DEFAULT_RECONCILE_WINDOW,
    resubmit: bool = False,
) -> list[PendingOrder[Any]]:
    """The orders (and disconnects) the journal holds as unfinished, to wait for again after a
    restart.

    Reads the journal and makes no request, so it returns at once however many orders there
    are; each :meth:`PendingOrder.wait` then does what ``order_and_wait`` would have done. Call
    it once the receiver is running, so callbacks for these orders reach their waits. It also
    forgets finished orders older than the store keeps them (24 hours by default).

    Args:
        client: an open :class:`~bwnumbers.NumbersClient`, or another
            :class:`~bwnumbers.OrderClient`.
        waiters: the :class:`~bwnumbers.CallbackReceiver` (or registry) the orders wait in,
            or ``None`` to wait by polling alone.
        store: the journal (default: that of *waiters*, else the process-wide one).
        reconcile_window: seconds after an intent's creation during which an order its POST
            may have created is looked for by customer order id (default 60); Bandwidth does
            not document how soon a new order can be listed.
        resubmit: when that window has passed without a trace of the order, send the
            recorded request again under the same customer order id, instead of raising
            :class:`~bwnumbers.NeverCreatedError` from :meth:`PendingOrder.wait`.

    Returns:
        A :class:`PendingOrder` per unfinished order or disconnect, oldest first (its
        ``kind`` says which).

    Raises:
        StoreUnavailableError: the journal could not be read.

    .. versionadded:: 0.2
    """
    check_seconds("reconcile_window", reconcile_window, allow_zero=True)
    journal = resolve_store(store, waiters, client)
    attach_account(journal, client)
    try:
        await journal.prune()
        intents = await journal.unfinished()
    except StoreUnavailableError:
        raise
    except Exception as error:
        raise StoreUnavailableError(
            f"The order store could not be read ({type(error).__name__}: {error}); "
            "nothing was recovered. Try again once it works."
        ) from error
    return [
        PendingOrder(
            intent,
            client=client,
            waiters=waiters,
            store=journal,
            reconcile_window=reconcile_window,
            resubmit=resubmit,
        )
        for intent in intents
    ]
