"""``disconnect_and_wait``: disconnect numbers and return the moment Bandwidth has finished.

The same promise as ``order_and_wait``, by the same flow (:mod:`bwnumbers._flow`) with the
disconnect :class:`~bwnumbers._kinds.OrderKind`: a waiter registered under
``("disconnects", customer order id)`` before ``POST /disconnects``, the callback raced against
polling ``GET /disconnects/{id}``, a final status confirmed with that ``GET``, and every step
journaled, so a re-call resumes and ``recover()`` finishes what a dead process left.

Bandwidth's disconnects carry no customer order id it can be asked about: the client settles
an ambiguous POST, and an intent the journal holds without an id, by looking for a recent
disconnect of exactly the same numbers (``client.find_disconnect``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from ._disconnect_models import DisconnectMode, DisconnectRequest
from ._flow import OrderFlow
from ._kinds import DISCONNECT_KIND, DisconnectResult
from ._poller import PollPolicy
from ._seam import DisconnectClient, Waiters
from ._status import StatusHook
from ._store import OrderStore
from ._waiting import check_timeout

__all__ = ["DisconnectResult", "disconnect_and_wait"]


async def disconnect_and_wait(
    client: DisconnectClient,
    receiver: Waiters,
    *,
    numbers: Sequence[str],
    name: str | None = None,
    customer_order_id: str | None = None,
    disconnect_mode: DisconnectMode | str | None = None,
    timeout: float | None = None,
    on_status: StatusHook | None = None,
    confirm: bool = True,
    polling: PollPolicy | None = None,
    metadata: Mapping[str, object] | None = None,
    store: OrderStore | None = None,
) -> DisconnectResult:
    """Disconnect numbers from the account and return when Bandwidth has finished.

    What :func:`~bwnumbers.order_and_wait` promises for an order, for a disconnect: nothing
    is disconnected twice (``POST /disconnects`` is only retried when it provably did not
    execute; an ambiguous failure is settled by looking for a recent disconnect of the same
    numbers) and nothing is lost (a missed callback is caught by polling
    ``GET /disconnects/{id}``). The receiver can be the one orders use: Bandwidth sends
    disconnect notifications to the account's ``disconnects`` subscription
    (:meth:`NumbersClient.ensure_subscriptions`), and they never reach an order's waiter, even
    under the same customer order id.

    The disconnect is journaled in the store like an order (its intent before the POST, its
    id, statuses and outcome), apart from orders: an order and a disconnect may share a
    customer order id. A re-call with a customer order id the store knows as a disconnect
    resumes it (a finished one is answered from the store with no request, a FAILED one
    raises :class:`DisconnectFailedError` again), two such calls at once share one, and
    :func:`bwnumbers.recover` picks up the disconnects a process left unfinished.

    Cancelling the call does not cancel the disconnect; a WARNING on the
    ``bwnumbers.ordering`` logger says how to find it once ``POST /disconnects`` may have been
    sent. The POST waits at the client's DISCONNECT rate-limit gate.

    Args:
        client: an open :class:`NumbersClient`, or anything with its
            :class:`~bwnumbers.DisconnectClient` methods.
        receiver: the :class:`CallbackReceiver` (or a registry) the account's ``disconnects``
            subscription points at, or ``None`` to wait by polling alone.
        numbers, name, customer_order_id, disconnect_mode: as for
            :meth:`NumbersClient.disconnect_numbers` (a customer order id is generated when
            none is given).
        timeout: seconds to wait in total. The disconnect is never cancelled by it:
            :class:`OrderTimeoutError` carries its id. It also bounds the wait for the rate
            limit before the POST (then nothing was sent).
        on_status: called (sync or async) with a :class:`StatusUpdate` for each non-final
            status (RECEIVED).
        confirm: confirm a COMPLETE callback with ``GET /disconnects/{id}`` (default). FAILED
            and PARTIAL callbacks are always confirmed.
        polling: the :class:`PollPolicy` of the poller.
        metadata: a JSON-serialisable mapping of at most 4 KiB kept with the disconnect in
            the journal (whom it was for).
        store: the :class:`~bwnumbers.OrderStore` to journal in (default: that of
            *receiver*, else the client's, else the process-wide one).

    Returns:
        A :class:`DisconnectResult` for COMPLETE and PARTIAL disconnects.

    Raises:
        ValidationError: bad arguments, before anything is sent.
        IdempotencyConflictError: *customer_order_id* was used for a disconnect of other
            numbers or options; nothing was sent.
        StoreUnavailableError: the store could not record the intent; nothing was sent.
        NeverCreatedError: *customer_order_id* is journaled as never created.
        WaitersClosedError: *receiver* was stopped already; nothing was sent.
        DisconnectFailedError: the disconnect ended FAILED (codes, descriptions, and the
            number each error concerns).
        OrderTimeoutError: *timeout* ran out; the disconnect continues at Bandwidth.
        RateLimitError: the rate limit would not reset within *timeout*; nothing was sent.
        AmbiguousOrderError: the POST failed ambiguously and no disconnect of these numbers
            could be found.
        APIError, TransportError: Bandwidth refused the disconnect, or could not be reached.

    .. versionadded:: 0.3
    """
    started = asyncio.get_running_loop().time()
    check_timeout(timeout)
    request = DisconnectRequest.build(
        numbers, name=name, customer_order_id=customer_order_id, disconnect_mode=disconnect_mode
    )
    flow = OrderFlow(DISCONNECT_KIND, client, receiver, store, request.customer_order_id)
    flow.wait_with(started, timeout=timeout, on_status=on_status, confirm=confirm, polling=polling)
    return await flow.run(request, metadata, generated_id=customer_order_id is None)
