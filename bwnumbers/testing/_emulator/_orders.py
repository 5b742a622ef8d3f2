"""The order state machine: pure, so that its rules can be tested without a server.

Nothing here does HTTP, starts a task or reads a clock: each step takes the order, the
inventory and the moment it happens, changes the order and says which notification to send.
The rules follow Bandwidth's ordering guide,
https://dev.bandwidth.com/docs/numbers/guides/orderingNumbers/ , and the order error codes of
its API reference, https://dev.bandwidth.com/apis/numbers/ :

- an order by numbers is COMPLETE, PARTIAL (``PartialAllowed``) or FAILED, with 5005 for each
  number no longer in stock; without ``PartialAllowed`` one missing number fails them all; a
  number reserved by another account, or by this one without its id in ``ReservationIdList``,
  is such a number (5005 assumed: Bandwidth documents no code), see :mod:`._numbers`;
- an order by criteria is COMPLETE, BACKORDERED (5520, when ``BackOrderRequested``), PARTIAL
  (5017) or FAILED (5018); a BACKORDERED order is tried again when numbers arrive, and closing
  it makes it PARTIAL or FAILED (5521);
- an order's name and customer order id can be changed in any status (:func:`update`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs

from bwnumbers.testing._criteria import Criteria, available
from bwnumbers.testing._inventory import Inventory

from ._numbers import NumberStates

__all__ = [
    "FINAL",
    "HistoryEntry",
    "Notice",
    "Order",
    "SearchObserver",
    "Step",
    "close",
    "notice",
    "process",
    "update",
]

FINAL = frozenset({"COMPLETE", "PARTIAL", "FAILED"})
"""The statuses an order never leaves."""

_UNAVAILABLE = "The telephone number is unavailable for ordering"

SearchObserver = Callable[[Criteria, int, int], None]
"""Told ``(criteria, wanted, found)`` before an order by criteria takes its numbers."""


@attrs.frozen
class HistoryEntry:
    """One entry of an order's history: when, the status then, a note, and what changed."""

    at: dt.datetime
    status: str
    note: str
    differences: tuple[str, ...] = ()


@attrs.define(kw_only=True)
class Order:
    """An order as the emulator keeps it: what was asked, and what happened so far."""

    id: str
    customer_order_id: str | None
    name: str
    site_id: str
    peer_id: str
    partial_allowed: bool
    back_order_requested: bool
    numbers: tuple[str, ...]
    order_type: str
    search_fields: dict[str, str]
    criteria: Criteria | None
    created: dt.datetime
    reservation_ids: tuple[str, ...] = ()
    tn_attributes: tuple[str, ...] | None = None
    """The ``TnAttributes`` sent: ``None`` when the order had no such element."""
    peer_id_sent: bool = True
    """Whether the request named the SIP peer (else *peer_id* is the site's default)."""
    status: str = "RECEIVED"
    modified: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    completed: list[str] = attrs.Factory(list)
    failed: list[str] = attrs.Factory(list)
    errors: list[tuple[int, str, str | None]] = attrs.Factory(list)
    history: list[HistoryEntry] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        if not self.history:
            self.history.append(HistoryEntry(self.created, "RECEIVED", "Order received"))

    @property
    def quantity(self) -> int:
        """How many numbers the order asks for."""
        return len(self.numbers) if self.criteria is None else self.criteria.quantity


@attrs.frozen(kw_only=True)
class Notice:
    """What a ``<Notification>`` about an order says (each subscription gets its own copy)."""

    order_id: str
    customer_order_id: str | None
    status: str
    message: str
    numbers: tuple[str, ...]
    modified: dt.datetime | None
    order_type: str = "orders"
    """The subscriptions' ``OrderType`` it goes to, and the notification's."""


@attrs.frozen(kw_only=True)
class Step:
    """The result of one step: whether the status changed, and the notifications to send."""

    changed: bool
    notices: tuple[Notice, ...] = ()


def process(
    order: Order,
    inventory: Inventory,
    *,
    now: dt.datetime,
    on_search: SearchObserver | None = None,
    numbers: NumberStates | None = None,
) -> Step:
    """Allocate numbers to a RECEIVED or BACKORDERED *order* from *inventory*, at *now*.

    Numbers the order gets are taken out of *inventory*. A final order is left alone.
    *on_search* hears how many numbers an order by criteria wanted and found. With *numbers*
    (the account's number states), an order by numbers also gets the numbers it reserved
    (listing their reservation ids) and the ones it disconnected that are still aging.
    """
    if order.status in FINAL:
        return Step(changed=False)
    previous = order.status
    if order.criteria is None:
        _fill_specific(order, inventory, numbers, now)
    else:
        _fill_search(order, order.criteria, inventory, on_search)
    order.modified = now
    if order.status in FINAL:
        order.completed_at = now
    note = {
        "COMPLETE": f"{len(order.completed)} number(s) ordered",
        "PARTIAL": f"{len(order.completed)} out of {order.quantity} numbers ordered",
        "FAILED": "Order failed",
        "BACKORDERED": "Order backordered - awaiting additional numbers",
    }.get(order.status, order.status)
    order.history.append(HistoryEntry(now, order.status, note))
    if order.status == previous:
        return Step(changed=False)
    return Step(changed=True, notices=(notice(order),))


def close(order: Order, *, now: dt.datetime) -> Step:
    """Close a BACKORDERED *order* at the customer's request: PARTIAL or FAILED (5521).

    Raises:
        ValueError: the order is not BACKORDERED (Bandwidth refuses that with 5060).
    """
    if order.status != "BACKORDERED":
        raise ValueError(f"Order {order.id} is {order.status}; only BACKORDERED closes.")
    order.status = "PARTIAL" if order.completed else "FAILED"
    order.errors = [(5521, "Backorder closed before all numbers were allocated", None)]
    order.modified = order.completed_at = now
    order.history.append(HistoryEntry(now, order.status, "Order closed by customer"))
    return Step(changed=True, notices=(notice(order),))


def update(
    order: Order, *, name: str | None, customer_order_id: str | None, now: dt.datetime
) -> None:
    """Give *order* a new *name* and/or *customer_order_id* (``None``: unchanged), at *now*.

    Bandwidth says these fields are modifiable while an order is backordered and documents no
    refusal for other statuses, so any status is assumed to allow it. The status stays, so no
    notification is sent; the change is a note in the order's history, and later
    notifications carry the new customer order id.
    """
    changes = []
    differences = []
    if name is not None:
        differences.append(_difference("Name", order.name, name))
        order.name = name
        changes.append(f"Name set to {name!r}")
    if customer_order_id is not None:
        differences.append(
            _difference("CustomerOrderId", order.customer_order_id, customer_order_id)
        )
        order.customer_order_id = customer_order_id
        changes.append(f"CustomerOrderId set to {customer_order_id!r}")
    order.modified = now
    note = "Order updated: " + ", ".join(changes)
    order.history.append(HistoryEntry(now, order.status, note, tuple(differences)))


def _difference(field: str, old: str | None, new: str) -> str:
    """A history ``<Difference>`` as the specification's example writes one:
    ``CustomerOrderId : "" --> hello`` (an empty value as ``""``)."""
    shown = old or '""'
    return f"{field} : {shown} --> {new}"


def notice(order: Order) -> Notice:
    """The notification *order* gets for its current status."""
    if order.status == "FAILED" and order.errors:
        code, description, _ = order.errors[0]
        message = f"{code}: {description}"
        # Bandwidth lists the numbers the order attempted under CompletedTelephoneNumbers in
        # a FAILED notification; the emulator keeps that quirk.
        numbers = order.numbers or tuple(order.failed)
    elif order.status == "BACKORDERED":
        message = "Order backordered - awaiting additional numbers"
        numbers = tuple(order.completed)
    else:
        message = f"Created a new number order for {len(order.completed)} number(s)"
        numbers = tuple(order.completed)
    return Notice(
        order_id=order.id,
        customer_order_id=order.customer_order_id,
        status=order.status,
        message=message,
        numbers=numbers,
        modified=order.modified,
    )


def _fill_specific(
    order: Order, inventory: Inventory, states: NumberStates | None, now: dt.datetime
) -> None:
    def orderable(number: str) -> bool:
        if states is None:
            return number in inventory
        return states.orderable(number, order.reservation_ids, now=now)

    missing = [n for n in order.numbers if not orderable(n)]
    order.errors = [(5005, _UNAVAILABLE, n) for n in missing]
    if missing and not order.partial_allowed:
        order.status = "FAILED"
        order.failed = list(order.numbers)  # nothing was activated
        return
    for number in order.numbers:
        if number not in missing:
            if states is None:
                inventory.take(number)
            else:
                states.claim(number, order.reservation_ids, now=now)
            order.completed.append(number)
    order.failed = missing
    order.status = "COMPLETE" if not missing else ("PARTIAL" if order.completed else "FAILED")


def _fill_search(
    order: Order, criteria: Criteria, inventory: Inventory, on_search: SearchObserver | None
) -> None:
    wanted = order.quantity - len(order.completed)
    found = available(inventory, criteria)[:wanted]
    enough = len(found) == wanted
    if on_search is not None:
        on_search(criteria, wanted, len(found))
    if enough or order.partial_allowed or order.completed:
        for info in found:
            inventory.take(info.number)
            order.completed.append(info.number)
    if enough:
        order.status = "COMPLETE"
        order.errors = []
    elif order.back_order_requested:
        order.status = "BACKORDERED"
        order.errors = [(5520, "Order backordered - awaiting additional numbers", None)]
    elif order.partial_allowed and order.completed:
        order.status = "PARTIAL"
        order.errors = [(5017, "Only a partial quantity of the numbers could be fulfilled", None)]
    else:
        order.status = "FAILED"
        order.errors = [(5018, "The entire quantity of numbers is unavailable", None)]
