"""Kinds of order: what differs between waiting for a new-number order and for a disconnect.

The flow (:mod:`bwnumbers._ordering`), the wait (:mod:`bwnumbers._waiting`), the poller and the
journal are one implementation for both; an :class:`OrderKind` tells them which request to
send (``POST /orders`` or ``POST /disconnects``), which ``GET`` is the source of truth, how a
journaled intent is looked up at Bandwidth, which result or error to give, and which namespace
its waiters and its journal entries live in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Generic, Protocol, TypeVar

import attrs

from . import _xml
from ._disconnect_models import DisconnectDetails, DisconnectRequest
from ._exceptions import DisconnectFailedError, FinalFailure, OrderFailedError
from ._models import Notification, OrderDetails, OrderError, OrderRequest, OrderStatus
from ._seam import DISCONNECTS, ORDERS
from ._status import ResultSource
from ._store import OrderIntent, request_digest, request_fields

__all__ = [
    "DISCONNECT_KIND",
    "ORDER_KIND",
    "RECONCILE_MARGIN",
    "DisconnectResult",
    "FinalDetails",
    "OrderKind",
    "OrderResult",
    "R",
    "disconnect_digest",
    "disconnect_fields",
    "kind_named",
]


#: Seconds before an intent's creation from which a disconnect it may have made is looked
#: for: our clock and Bandwidth's may disagree by that much (assumed; Bandwidth says nothing).
RECONCILE_MARGIN: Final = 300.0


@attrs.frozen(kw_only=True)
class OrderResult:
    """The outcome of a COMPLETE or PARTIAL order.

    *details* is the confirming ``GET /orders/{id}`` (``None`` only with ``confirm=False``,
    when the COMPLETE callback was trusted). *source* says whether the callback or the
    poller delivered the outcome; *elapsed* is seconds since the call started.
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


@attrs.frozen(kw_only=True)
class DisconnectResult:
    """The outcome of a COMPLETE or PARTIAL disconnect.

    *disconnected_numbers* left the account (they age before anyone can order them again);
    *failed_numbers* did not, for the reasons in *errors*. *details* is the confirming
    ``GET /disconnects/{id}`` (``None`` only with ``confirm=False``, when the COMPLETE
    callback was trusted). *source* and *elapsed* as for :class:`OrderResult`.

    .. versionadded:: 0.3
    """

    order_id: str
    customer_order_id: str
    status: OrderStatus
    disconnected_numbers: tuple[str, ...]
    failed_numbers: tuple[str, ...] = ()
    errors: tuple[OrderError, ...] = ()
    details: DisconnectDetails | None = None
    notification: Notification | None = None
    source: ResultSource
    elapsed: float


#: The result of a kind: every one has a status, failed numbers and errors.
R = TypeVar("R", OrderResult, DisconnectResult)


class FinalDetails(Protocol):
    """What the wait reads of a ``GET`` answer, an order's or a disconnect's."""

    @property
    def status(self) -> OrderStatus: ...

    @property
    def failed_numbers(self) -> tuple[str, ...]: ...

    @property
    def errors(self) -> tuple[OrderError, ...]: ...


@attrs.frozen(kw_only=True)
class OrderKind(Generic[R]):
    """One kind of order, and everything the shared flow does differently for it.

    Attributes:
        name: the order type of its subscriptions and notifications, the namespace of its
            waiters (``(name, id)``) and of its journal entries.
        noun, call, get, done: how messages name it, the call that waits for it, the client
            method that looks one up by id, and what nothing was ("ordered").
        lookup_hint: how to find one whose POST may have arrived, formatted with ``coid``.
        fetch: ``(client, id) -> details``, the ``GET`` that is the source of truth.
        place: ``(client, request) -> placed`` (with ``id`` and ``status``), never twice.
        find: ``(client, intent) -> placed | None``, the one a journaled intent's POST made.
        journal: a request's journal fields, exact body (for the record) and digest.
        rebuild: the request of a journaled intent, under its customer order id.
        done_numbers: the numbers a final details answer reports as done.
        make: the result, from the fields of :class:`OrderResult` with ``numbers=``.
        numbers_of: the done numbers of a result, for the journal.
        failure: the error of a FAILED one.
    """

    name: str
    noun: str
    call: str
    get: str
    done: str
    lookup_hint: str
    fetch: Callable[[Any, str], Awaitable[Any]]
    place: Callable[[Any, Any], Awaitable[Any]]
    find: Callable[[Any, OrderIntent], Awaitable[Any]]
    journal: Callable[[Any], tuple[dict[str, Any], str, str]]
    rebuild: Callable[[OrderIntent], Any]
    done_numbers: Callable[[Any], tuple[str, ...]]
    make: Callable[..., R]
    numbers_of: Callable[[R], tuple[str, ...]]
    failure: type[FinalFailure]


# ---------------------------------------------------------------------- new-number orders


def _journal_order(request: OrderRequest) -> tuple[dict[str, Any], str, str]:
    return request_fields(request), _xml.encode_order(request).decode(), request_digest(request)


def _order_result(*, numbers: tuple[str, ...], **fields: Any) -> OrderResult:
    return OrderResult(completed_numbers=numbers, **fields)


async def _find_order(client: Any, intent: OrderIntent) -> Any:
    # Bandwidth keeps an order's customer order id, and lists orders by it.
    return await client.find_order(intent.customer_order_id)


ORDER_KIND: Final[OrderKind[OrderResult]] = OrderKind(
    name=ORDERS,
    noun="order",
    call="order_and_wait",
    get="get_order",
    done="ordered",
    lookup_hint=(
        "look it up by customer order id {coid} with client.find_order({coid!r}) before "
        "ordering again."
    ),
    fetch=lambda client, order_id: client.get_order(order_id),
    place=lambda client, request: client.place_order(request),
    find=_find_order,
    journal=_journal_order,
    rebuild=lambda intent: intent.rebuild_request(),
    done_numbers=lambda details: details.completed_numbers,
    make=_order_result,
    numbers_of=lambda result: result.completed_numbers,
    failure=OrderFailedError,
)


# ---------------------------------------------------------------------- disconnects


def disconnect_fields(request: DisconnectRequest) -> dict[str, Any]:
    """*request* as JSON-ready fields for the journal, without its customer order id."""
    mode = request.disconnect_mode
    return {
        "numbers": list(request.numbers),
        "name": request.name,
        "disconnect_mode": None if mode is None else str(mode),
    }


def disconnect_digest(request: DisconnectRequest) -> str:
    """sha256 of the normalised request without its customer order id (numbers as a set)."""
    fields = disconnect_fields(request)
    fields["numbers"] = sorted(fields["numbers"])
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _journal_disconnect(request: DisconnectRequest) -> tuple[dict[str, Any], str, str]:
    body = _xml.encode_disconnect(request).decode()
    return disconnect_fields(request), body, disconnect_digest(request)


def _rebuild_disconnect(intent: OrderIntent) -> DisconnectRequest:
    fields: Mapping[str, Any] = intent.request
    return DisconnectRequest.build(
        fields["numbers"],
        name=fields.get("name"),
        customer_order_id=intent.customer_order_id,
        disconnect_mode=fields.get("disconnect_mode"),
    )


def _disconnect_result(*, numbers: tuple[str, ...], **fields: Any) -> DisconnectResult:
    return DisconnectResult(disconnected_numbers=numbers, **fields)


async def _find_disconnect(client: Any, intent: OrderIntent) -> Any:
    # Bandwidth's disconnects carry no customer order id to look for: the client looks for a
    # recent one of exactly these numbers, made no earlier than the intent (less the margin).
    since = dt.datetime.fromtimestamp(intent.created_at - RECONCILE_MARGIN, dt.UTC)
    return await client.find_disconnect(_rebuild_disconnect(intent), since=since)


DISCONNECT_KIND: Final[OrderKind[DisconnectResult]] = OrderKind(
    name=DISCONNECTS,
    noun="disconnect",
    call="disconnect_and_wait",
    get="get_disconnect",
    done="disconnected",
    lookup_hint=(
        "call disconnect_and_wait again with customer_order_id={coid!r}, which looks for it "
        "(client.find_disconnect) before disconnecting again."
    ),
    fetch=lambda client, disconnect_id: client.get_disconnect(disconnect_id),
    place=lambda client, request: client.place_disconnect(request),
    find=_find_disconnect,
    journal=_journal_disconnect,
    rebuild=_rebuild_disconnect,
    done_numbers=lambda details: details.disconnected_numbers,
    make=_disconnect_result,
    numbers_of=lambda result: result.disconnected_numbers,
    failure=DisconnectFailedError,
)


def kind_named(name: str) -> OrderKind[Any]:
    """The kind of a journaled intent (:attr:`OrderIntent.kind`)."""
    return DISCONNECT_KIND if name == DISCONNECTS else ORDER_KIND
