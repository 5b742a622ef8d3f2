"""Orders and disconnects side by side: whose notification is whose, and whose journal entry.

Waiters are keyed by ``(order type, id)``; a notification's ``OrderType`` says which; the
journal keeps a disconnect under ``disconnects:<customer order id>``. These tests need no
HTTP; the same promises end to end are in test_disconnect_emulator.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bwnumbers import (
    DisconnectFailedError,
    DisconnectResult,
    IntentState,
    MemoryUnclaimedBuffer,
    Notification,
    OrderError,
    OrderFailedError,
    OrderResult,
    OrderStatus,
    OrderWaiters,
    ResultSource,
    SQLiteStore,
    StoredOutcome,
)
from bwnumbers._journal import stored_result
from bwnumbers._kinds import DISCONNECT_KIND, ORDER_KIND, kind_named
from bwnumbers._seam import notification_keys, notification_kind
from bwnumbers._store import OrderIntent, journal_key, split_journal_key

DATA = Path(__file__).parent / "data"


def note(order_type: str | None, status: OrderStatus = OrderStatus.COMPLETE) -> Notification:
    return Notification(
        order_type=order_type, order_id="id-1", customer_order_id="coid-1", status=status
    )


@pytest.mark.parametrize(
    ("order_type", "kind"),
    [
        ("orders", "orders"), ("ORDERS", "orders"), ("new_number", "orders"),
        ("New_Number", "orders"), (None, "orders"), ("", "orders"),
        ("disconnects", "disconnects"), ("Disconnects", "disconnects"),
        ("disconnect", "disconnects"), (" DISCONNECT ", "disconnects"),
        # Bandwidth's own generic sample says <OrderType>OrderId</OrderType> (a typo in its
        # docs): not a type it documents, so it stays an order's, as before.
        ("OrderId", "orders"),
    ],
)  # fmt: skip
def test_notification_keys_follow_the_order_type(order_type: str | None, kind: str) -> None:
    assert notification_kind(note(order_type)) == kind
    assert notification_keys(note(order_type)) == ((kind, "id-1"), (kind, "coid-1"))


@pytest.mark.parametrize("order_type", ["portins", "PortOuts", "e911s", "tnoptions", "lidb"])
def test_other_order_types_claim_nothing(order_type: str) -> None:
    assert notification_kind(note(order_type)) is None
    assert notification_keys(note(order_type)) == ()


async def test_one_registry_keeps_an_order_and_a_disconnect_of_one_id_apart() -> None:
    """Same customer order id (allowed), both waiting: each gets its own notification."""
    waiters = OrderWaiters()
    async with (
        waiters.register(("orders", "coid-1")) as order,
        waiters.register(("disconnects", "coid-1")) as disconnect,
    ):
        waiters.deliver(note("disconnects", OrderStatus.FAILED))
        assert disconnect.future.result().status is OrderStatus.FAILED
        assert not order.future.done()
        waiters.deliver(note("orders"))
        assert order.future.result().order_type == "orders"


async def test_early_notifications_wait_for_their_own_kind() -> None:
    """A disconnect's notification that beat its POST is claimed by the disconnect only."""
    waiters = OrderWaiters(unclaimed=MemoryUnclaimedBuffer())
    assert not waiters.deliver(note("disconnect"))
    assert waiters.unclaimed_count == 1
    async with waiters.register(("orders", "coid-1")) as order:
        assert not order.future.done()
    assert waiters.unclaimed_count == 1
    async with waiters.register(("disconnects", "coid-1")) as disconnect:
        assert disconnect.future.result().order_type == "disconnect"
    assert waiters.unclaimed_count == 0


async def test_a_port_in_notification_is_not_buffered() -> None:
    waiters = OrderWaiters()
    assert not waiters.deliver(note("portins"))
    assert waiters.unclaimed_count == 0


def test_journal_keys_never_meet() -> None:
    assert journal_key("orders", "abc") == "abc"
    assert journal_key("disconnects", "abc") == "disconnects:abc"
    assert split_journal_key("disconnects:abc") == ("disconnects", "abc")
    assert split_journal_key("abc def") == ("orders", "abc def")


def test_each_kind_names_its_own_calls() -> None:
    assert (ORDER_KIND.name, ORDER_KIND.get, ORDER_KIND.failure) == (
        "orders",
        "get_order",
        OrderFailedError,
    )
    assert (DISCONNECT_KIND.name, DISCONNECT_KIND.get, DISCONNECT_KIND.failure) == (
        "disconnects",
        "get_disconnect",
        DisconnectFailedError,
    )
    assert kind_named("disconnects") is DISCONNECT_KIND
    assert kind_named("orders") is ORDER_KIND


def finished(kind: str, outcome: StoredOutcome) -> OrderIntent:
    return OrderIntent(
        kind=kind,
        customer_order_id="coid-1",
        request_digest="0" * 64,
        request={},
        request_xml="",
        created_at=1.0,
        order_id="id-1",
        state=IntentState.FINAL,
        outcome=outcome,
    )


def test_a_stored_answer_has_the_kind_of_its_intent() -> None:
    done = StoredOutcome(status=OrderStatus.COMPLETE, completed_numbers=["5402278098"])
    as_order = stored_result(finished("orders", done), 0.0)
    as_disconnect = stored_result(finished("disconnects", done), 0.0)
    assert isinstance(as_order, OrderResult)
    assert as_order.completed_numbers == ("5402278098",)
    assert isinstance(as_disconnect, DisconnectResult)
    assert as_disconnect.disconnected_numbers == ("5402278098",)
    assert as_disconnect.source is ResultSource.STORE

    error = OrderError(code=5006, description="Not yours", number="5402278098")
    failed = StoredOutcome(status=OrderStatus.FAILED, errors=[error])
    with pytest.raises(DisconnectFailedError, match="Disconnect id-1 failed"):
        stored_result(finished("disconnects", failed), 0.0)
    with pytest.raises(OrderFailedError, match="Order id-1 failed"):
        stored_result(finished("orders", failed), 0.0)


async def test_a_journal_file_of_0_3_opens_reads_and_takes_disconnects(tmp_path: Path) -> None:
    """tests/data/journal-0.3.sqlite was written by the 0.3 code (orders only): it opens,
    its orders read as orders, and a disconnect under one of their ids is a new entry."""
    path = tmp_path / "journal.sqlite"
    shutil.copyfile(DATA / "journal-0.3.sqlite", path)
    async with SQLiteStore(path, keep_finished=100 * 365 * 86400.0) as store:
        placed = await store.get("legacy-placed")
        final = await store.get("legacy-final")
        assert placed is not None
        assert final is not None
        assert (placed.kind, placed.state, placed.order_id) == (
            "orders",
            IntentState.PLACED,
            "order-legacy-1",
        )
        assert placed.metadata == {"chat_id": 42}
        assert placed.rebuild_request().numbers == ("5402278098",)
        assert final.outcome is not None
        assert final.outcome.completed_numbers == ("5402278099",)
        assert [i.customer_order_id for i in await store.unfinished()] == ["legacy-placed"]

        disconnect = OrderIntent(
            kind="disconnects",
            customer_order_id="legacy-placed",
            request_digest="0" * 64,
            request={"numbers": ["5402278098"]},
            request_xml="",
            created_at=2.0e9,
        )
        assert await store.begin(disconnect) is None
        await store.placed(disconnect.key, "disc-1")
    async with SQLiteStore(path, keep_finished=100 * 365 * 86400.0) as reopened:
        kinds = [(i.kind, i.customer_order_id, i.order_id) for i in await reopened.unfinished()]
        assert kinds == [
            ("orders", "legacy-placed", "order-legacy-1"),
            ("disconnects", "legacy-placed", "disc-1"),
        ]
