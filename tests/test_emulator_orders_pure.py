"""The emulator's order state machine on its own: no server, no event loop, no clock.

Each test builds an inventory and an order, takes one step at a moment it chooses, and checks
the order, the inventory and the notices the step asks to send.
"""

from __future__ import annotations

import ast
import datetime as dt
import inspect

import pytest

from bwnumbers.testing._criteria import Criteria, from_order_type
from bwnumbers.testing._emulator import _orders as orders
from bwnumbers.testing._emulator._orders import (
    HistoryEntry,
    Notice,
    Order,
    close,
    notice,
    process,
    update,
)
from bwnumbers.testing._inventory import Inventory

T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(seconds=5)
T2 = T0 + dt.timedelta(seconds=9)
AUSTIN = ["5125555409", "5125557735"]  # the only 512 numbers of Inventory(seed=0, size=2)


def stock() -> Inventory:
    inventory = Inventory(seed=0, size=2)
    assert [n for n in AUSTIN if n in inventory] == AUSTIN
    return inventory


def by_numbers(*numbers: str, partial: bool = False) -> Order:
    return Order(
        id="order-1",
        customer_order_id="mine-1",
        name="test order",
        site_id="743",
        peer_id="546348",
        partial_allowed=partial,
        back_order_requested=False,
        numbers=numbers,
        order_type="ExistingTelephoneNumberOrderType",
        search_fields={},
        criteria=None,
        created=T0,
    )


def by_area_code(quantity: int, *, partial: bool = False, backorder: bool = False) -> Order:
    fields = {"AreaCode": "512", "Quantity": str(quantity)}
    return Order(
        id="order-2",
        customer_order_id=None,
        name="test order",
        site_id="743",
        peer_id="546348",
        partial_allowed=partial,
        back_order_requested=backorder,
        numbers=(),
        order_type="AreaCodeSearchAndOrderType",
        search_fields=fields,
        criteria=from_order_type("AreaCodeSearchAndOrderType", fields),
        created=T0,
    )


def test_the_module_is_pure() -> None:
    """No HTTP, no event loop and no clock of its own: time comes in as an argument."""
    tree = ast.parse(inspect.getsource(orders))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0
    }
    assert imported <= {"__future__", "datetime", "collections", "attrs", "bwnumbers"}
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"now", "utcnow", "today", "time", "monotonic"}


def test_a_new_order_is_received() -> None:
    order = by_numbers("5402278098")
    assert order.status == "RECEIVED"
    assert order.history == [HistoryEntry(T0, "RECEIVED", "Order received")]


def test_numbers_in_stock_complete_and_leave_the_stock() -> None:
    inventory = stock()
    order = by_numbers(*AUSTIN)
    step = process(order, inventory, now=T1)
    assert step.changed
    assert order.status == "COMPLETE"
    assert order.completed == AUSTIN
    assert (order.failed, order.errors) == ([], [])
    assert (order.modified, order.completed_at) == (T1, T1)
    assert order.history[-1] == HistoryEntry(T1, "COMPLETE", "2 number(s) ordered")
    assert not any(n in inventory for n in AUSTIN)
    assert step.notices == (
        Notice(
            order_id="order-1",
            customer_order_id="mine-1",
            status="COMPLETE",
            message="Created a new number order for 2 number(s)",
            numbers=tuple(AUSTIN),
            modified=T1,
        ),
    )


def test_one_missing_number_fails_the_order_and_takes_nothing() -> None:
    """Without PartialAllowed, 5005 for the missing number, and the other one stays in stock."""
    inventory = stock()
    inventory.take(AUSTIN[1])
    order = by_numbers(*AUSTIN)
    step = process(order, inventory, now=T1)
    assert order.status == "FAILED"
    assert order.completed == []
    assert order.failed == AUSTIN  # nothing was activated
    assert order.errors == [(5005, "The telephone number is unavailable for ordering", AUSTIN[1])]
    assert AUSTIN[0] in inventory
    (notice,) = step.notices
    assert notice.message == "5005: The telephone number is unavailable for ordering"
    assert notice.numbers == tuple(AUSTIN)  # Bandwidth lists the attempted numbers
    assert order.history[-1] == HistoryEntry(T1, "FAILED", "Order failed")


def test_partial_allowed_keeps_the_numbers_in_stock() -> None:
    inventory = stock()
    inventory.take(AUSTIN[1])
    order = by_numbers(*AUSTIN, partial=True)
    step = process(order, inventory, now=T1)
    assert order.status == "PARTIAL"
    assert (order.completed, order.failed) == ([AUSTIN[0]], [AUSTIN[1]])
    assert AUSTIN[0] not in inventory
    assert order.history[-1] == HistoryEntry(T1, "PARTIAL", "1 out of 2 numbers ordered")
    assert step.notices[0].numbers == (AUSTIN[0],)


def test_partial_allowed_with_nothing_in_stock_fails() -> None:
    inventory = stock()
    for number in AUSTIN:
        inventory.take(number)
    order = by_numbers(*AUSTIN, partial=True)
    process(order, inventory, now=T1)
    assert order.status == "FAILED"
    assert [code for code, _, _ in order.errors] == [5005, 5005]


def test_an_order_by_criteria_tells_what_it_wanted_before_taking() -> None:
    inventory = stock()
    seen: list[tuple[str, int, int, bool]] = []

    def on_search(criteria: Criteria, wanted: int, found: int) -> None:
        seen.append((str(criteria), wanted, found, AUSTIN[0] in inventory))

    order = by_area_code(2)
    process(order, inventory, now=T1, on_search=on_search)
    assert order.status == "COMPLETE"
    assert order.completed == AUSTIN
    assert seen == [("area_code=512", 2, 2, True)]


@pytest.mark.parametrize(
    ("partial", "backorder", "status", "code", "taken"),
    [
        (False, False, "FAILED", 5018, []),
        (True, False, "PARTIAL", 5017, AUSTIN),
        (False, True, "BACKORDERED", 5520, []),
        (True, True, "BACKORDERED", 5520, AUSTIN),
    ],
)
def test_too_few_numbers(
    partial: bool, backorder: bool, status: str, code: int, taken: list[str]
) -> None:
    """Three wanted, two in stock: the flags decide, and only a partial order takes numbers."""
    inventory = stock()
    order = by_area_code(3, partial=partial, backorder=backorder)
    step = process(order, inventory, now=T1)
    assert order.status == status
    assert [c for c, _, _ in order.errors] == [code]
    assert order.completed == taken
    assert [n for n in AUSTIN if n not in inventory] == taken
    assert [n.status for n in step.notices] == [status]
    assert (order.completed_at is None) == (status == "BACKORDERED")


def test_a_backorder_completes_when_numbers_arrive() -> None:
    inventory = stock()
    order = by_area_code(3, partial=True, backorder=True)
    process(order, inventory, now=T1)

    again = process(order, inventory, now=T2)  # nothing new in stock
    assert (again.changed, again.notices) == (False, ())
    assert order.status == "BACKORDERED"

    inventory.add(["5125550001"])
    step = process(order, inventory, now=T2)
    assert order.status == "COMPLETE"
    assert order.errors == []
    assert order.completed == [*AUSTIN, "5125550001"]
    assert [n.numbers for n in step.notices] == [(*AUSTIN, "5125550001")]
    assert order.completed_at == T2


def test_a_final_order_is_left_alone() -> None:
    inventory = stock()
    order = by_numbers(AUSTIN[0])
    process(order, inventory, now=T1)
    history = list(order.history)
    inventory.add([AUSTIN[0]])
    step = process(order, inventory, now=T2)
    assert (step.changed, step.notices) == (False, ())
    assert order.history == history
    assert order.modified == T1
    assert AUSTIN[0] in inventory


@pytest.mark.parametrize(("partial", "status"), [(True, "PARTIAL"), (False, "FAILED")])
def test_closing_a_backorder(partial: bool, status: str) -> None:
    """Closed with what it has: PARTIAL if it got any numbers, else FAILED; 5521 either way."""
    order = by_area_code(3, partial=partial, backorder=True)
    process(order, stock(), now=T1)
    step = close(order, now=T2)
    assert order.status == status
    assert order.errors == [(5521, "Backorder closed before all numbers were allocated", None)]
    assert (order.modified, order.completed_at) == (T2, T2)
    assert order.history[-1] == HistoryEntry(T2, status, "Order closed by customer")
    (notice,) = step.notices
    assert notice.status == status
    if status == "FAILED":
        assert notice.message == "5521: Backorder closed before all numbers were allocated"


def test_only_a_backorder_closes() -> None:
    order = by_numbers(AUSTIN[0])
    with pytest.raises(ValueError, match="only BACKORDERED closes"):
        close(order, now=T1)
    assert order.status == "RECEIVED"


@pytest.mark.parametrize("final", [False, True])
def test_an_update_keeps_the_status_and_notes_the_change(final: bool) -> None:
    """Name and customer order id change in any status; the history says so, later notices
    carry the new id, and the status (hence no notification) stays."""
    order = by_area_code(3, partial=True, backorder=True)
    process(order, stock(), now=T1)
    if final:
        close(order, now=T1)
    status = order.status
    update(order, name="renamed", customer_order_id="mine-2", now=T2)
    assert (order.name, order.customer_order_id, order.status) == ("renamed", "mine-2", status)
    assert order.modified == T2
    before = '""'  # none before; the specification's example writes an empty one so
    assert order.history[-1] == HistoryEntry(
        T2,
        status,
        "Order updated: Name set to 'renamed', CustomerOrderId set to 'mine-2'",
        ("Name : test order --> renamed", f"CustomerOrderId : {before} --> mine-2"),
    )
    assert notice(order).customer_order_id == "mine-2"


def test_an_update_of_the_name_alone_keeps_the_customer_order_id() -> None:
    order = by_numbers(AUSTIN[0])
    update(order, name="renamed", customer_order_id=None, now=T1)
    assert (order.name, order.customer_order_id) == ("renamed", "mine-1")
    assert order.history[-1] == HistoryEntry(
        T1, "RECEIVED", "Order updated: Name set to 'renamed'", ("Name : test order --> renamed",)
    )
