"""The number states and the disconnect step on their own: no server, no event loop, no clock.

Each test takes steps at moments it chooses and checks what each number became.
"""

from __future__ import annotations

import ast
import datetime as dt
import inspect
from types import ModuleType

import pytest

from bwnumbers import ValidationError
from bwnumbers.testing import BandwidthEmulator
from bwnumbers.testing._emulator import _disconnects as disconnects
from bwnumbers.testing._emulator import _numbers as numbers
from bwnumbers.testing._emulator._disconnects import NOT_YOURS, Disconnect
from bwnumbers.testing._emulator._numbers import ELSEWHERE, NumberStates, ReservationRefused
from bwnumbers.testing._emulator._orders import Order, process
from bwnumbers.testing._inventory import Inventory

T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
ACCOUNT = "9900000"
AUSTIN = ("5125555409", "5125557735")  # the only 512 numbers of Inventory(seed=0, size=2)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def states(inventory: Inventory | None = None) -> NumberStates:
    return NumberStates(
        inventory or Inventory(seed=0, size=2),
        account_id=ACCOUNT,
        reservation_lifetime=100,
        aging_period=1000,
    )


def by_numbers(*wanted: str, ids: tuple[str, ...] = (), partial: bool = False) -> Order:
    return Order(
        id="order-1",
        customer_order_id=None,
        name="test",
        site_id="743",
        peer_id="546348",
        partial_allowed=partial,
        back_order_requested=False,
        numbers=wanted,
        order_type="ExistingTelephoneNumberOrderType",
        search_fields={},
        criteria=None,
        created=T0,
        reservation_ids=ids,
    )


def owned(book: NumberStates, *wanted: str) -> None:
    """Put *wanted* in service on the account, as a completed order would."""
    for number in wanted:
        assert book.claim(number, (), now=T0)
    book.activate(wanted, order_id="order-0", site_id="743", ordered_at=T0, now=T0)


@pytest.mark.parametrize("module", [numbers, disconnects])
def test_the_modules_are_pure(module: ModuleType) -> None:
    """No HTTP, no event loop and no clock of their own: time comes in as an argument."""
    tree = ast.parse(inspect.getsource(module))
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


def test_a_reservation_holds_the_number_until_it_expires() -> None:
    book = states()
    reservation = book.reserve(AUSTIN[0], reservation_id="r1", account_id=ACCOUNT, now=T0)
    assert (reservation.expires_at, reservation.seconds_left(at(40.5))) == (at(100), 59)
    assert book.status(AUSTIN[0], now=at(99)) == "Reserved"
    assert book.reservation("r1", now=at(99)) is reservation
    assert book.sweep(at(100)) == [AUSTIN[0]]
    assert book.status(AUSTIN[0], now=at(100)) == "Available"
    with pytest.raises(ReservationRefused) as expired:
        book.reservation("r1", now=at(100))
    assert (expired.value.code, expired.value.description) == (
        5042,
        f"Reservation r1 for account {ACCOUNT} not found.",
    )


def test_release_and_unknown_ids_are_5043_and_others_are_5042() -> None:
    book = states()
    book.reserve(AUSTIN[0], reservation_id="mine", account_id=ACCOUNT, now=T0)
    book.reserve(AUSTIN[1], reservation_id="theirs", account_id=ELSEWHERE, now=T0)
    assert book.release("mine", now=T0).number == AUSTIN[0]
    assert book.status(AUSTIN[0], now=T0) == "Available"
    codes = []
    for reservation_id in ("mine", "never", "theirs"):
        with pytest.raises(ReservationRefused) as refused:
            book.release(reservation_id, now=T0)
        codes.append(refused.value.code)
    assert codes == [5043, 5043, 5042]
    assert book.status(AUSTIN[1], now=T0) == "Reserved"


def test_reserving_what_is_not_in_stock() -> None:
    """5040 for a number never seen, 5041 for one reserved, owned, aging or taken."""
    inventory = Inventory(seed=0, size=2)
    book = states(inventory)
    with pytest.raises(ReservationRefused, match="2025550100 not found") as unknown:
        book.reserve("2025550100", reservation_id="x", account_id=ACCOUNT, now=T0)
    assert unknown.value.code == 5040
    book.reserve(AUSTIN[0], reservation_id="r", account_id=ELSEWHERE, now=T0)
    owned(book, AUSTIN[1])
    taken = next(info.number for info in inventory)
    inventory.take(taken)
    for number in (AUSTIN[0], AUSTIN[1], taken):
        with pytest.raises(ReservationRefused, match="is not available") as refused:
            book.reserve(number, reservation_id="y", account_id=ACCOUNT, now=T0)
        assert refused.value.code == 5041


def test_orders_get_reserved_numbers_only_with_their_ids() -> None:
    """5005 without the id or for another account's; the id lets it through and is used up."""
    inventory = Inventory(seed=0, size=2)
    book = states(inventory)
    book.reserve(AUSTIN[0], reservation_id="mine", account_id=ACCOUNT, now=T0)
    book.reserve(AUSTIN[1], reservation_id="theirs", account_id=ELSEWHERE, now=T0)
    without = by_numbers(AUSTIN[0])
    process(without, inventory, now=T0, numbers=book)
    assert (without.status, without.errors[0][0], without.failed) == ("FAILED", 5005, [AUSTIN[0]])
    theirs = by_numbers(*AUSTIN, ids=("mine", "theirs"), partial=True)
    process(theirs, inventory, now=T0, numbers=book)
    assert (theirs.status, theirs.completed, theirs.failed) == ("PARTIAL", [AUSTIN[0]], [AUSTIN[1]])
    assert "mine" not in book.reservations
    assert book.status(AUSTIN[1], now=T0) == "Reserved"


def test_a_failed_order_leaves_the_reservation() -> None:
    inventory = Inventory(seed=0, size=2)
    book = states(inventory)
    book.reserve(AUSTIN[0], reservation_id="mine", account_id=ACCOUNT, now=T0)
    order = by_numbers(AUSTIN[0], "2025550100", ids=("mine",))
    process(order, inventory, now=T0, numbers=book)
    assert order.status == "FAILED"
    assert book.reservation("mine", now=T0).number == AUSTIN[0]


def test_disconnected_numbers_age_then_return_to_stock() -> None:
    inventory = Inventory(seed=0, size=2)
    book = states(inventory)
    owned(book, *AUSTIN)
    assert book.disconnect(AUSTIN[0], disconnect_id="d1", now=at(10))
    assert not book.disconnect(AUSTIN[0], disconnect_id="d2", now=at(11))
    aging = book.aging[AUSTIN[0]]
    assert (aging.disconnect_id, aging.since, aging.until) == ("d1", at(10), at(1010))
    assert AUSTIN[0] not in inventory
    assert book.orderable(AUSTIN[0], (), now=at(1009))  # the owner may order it back
    assert book.sweep(at(1010)) == [AUSTIN[0]]
    assert AUSTIN[0] in inventory
    assert book.status(AUSTIN[0], now=at(1010)) == "Available"


def test_the_owner_orders_an_aging_number_back() -> None:
    inventory = Inventory(seed=0, size=2)
    book = states(inventory)
    owned(book, AUSTIN[0])
    book.disconnect(AUSTIN[0], disconnect_id="d1", now=at(1))
    order = by_numbers(AUSTIN[0])
    process(order, inventory, now=at(2), numbers=book)
    assert order.status == "COMPLETE"
    assert AUSTIN[0] not in book.aging
    assert AUSTIN[0] not in inventory


def disconnect_of(*wanted: str) -> Disconnect:
    return Disconnect(
        id="d-1",
        customer_order_id="release-1",
        name=None,
        mode="normal",
        protected=None,
        numbers=wanted,
        created=T0,
    )


@pytest.mark.parametrize(
    ("wanted", "status", "gone", "message", "listed"),
    [
        (AUSTIN, "COMPLETE", list(AUSTIN), "2 number(s) disconnected", AUSTIN),
        (
            (AUSTIN[0], "2025550100"),
            "PARTIAL",
            [AUSTIN[0]],
            "1 number(s) disconnected, 1 failed",
            (AUSTIN[0],),
        ),
        (("2025550100",), "FAILED", [], f"5006: {NOT_YOURS}", ("2025550100",)),
    ],
)
def test_a_disconnect_step(
    wanted: tuple[str, ...],
    status: str,
    gone: list[str],
    message: str,
    listed: tuple[str, ...],
) -> None:
    """In-service numbers go aging; the rest fail with 5006 and their number."""
    book = states()
    owned(book, *AUSTIN)
    order = disconnect_of(*wanted)
    notice = disconnects.process(order, book, now=at(5))
    assert notice is not None
    assert (order.status, order.disconnected, order.modified) == (status, gone, at(5))
    assert order.failed == [n for n in wanted if n not in gone]
    assert [e[:2] for e in order.errors] == [(5006, NOT_YOURS)] * len(order.failed)
    assert (notice.order_type, notice.status, notice.message, notice.numbers) == (
        "disconnects",
        status,
        message,
        listed,
    )
    assert notice.customer_order_id == "release-1"
    assert sorted(book.aging) == sorted(gone)
    assert disconnects.process(order, book, now=at(6)) is None  # final: never processed again


@pytest.mark.parametrize("name", ["reservation_lifetime", "aging_period"])
@pytest.mark.parametrize("seconds", [0, -1, float("inf"), float("nan"), True, "60", None])
def test_periods_are_validated(name: str, seconds: object) -> None:
    """The emulator refuses a period it could not keep, and says what it takes."""
    with pytest.raises(ValidationError) as refused:
        BandwidthEmulator(**{name: seconds})  # type: ignore[arg-type]
    assert str(refused.value) == (
        f"{name}={seconds!r} is not allowed: give a positive, finite number of seconds."
    )
