"""disconnect_and_wait end to end: the real emulator and a real receiver over loopback.

The receiver is subscribed for ``orders`` and ``disconnects`` on one URL (two subscriptions,
as Bandwidth allows one order type each), so every test also shows the two kinds of
notification sharing it. Numbers are ordered first (a disconnect needs numbers in service);
the emulator disconnects a number of this account and fails any other with 5006.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import bwnumbers
from bwnumbers import (
    CallbackReceiver,
    DisconnectFailedError,
    DisconnectResult,
    IntentState,
    NumbersClient,
    OrderStatus,
    OrderTimeoutError,
    PollPolicy,
    ResultSource,
)
from bwnumbers._disconnect_models import DisconnectRequest
from bwnumbers._store import journal_key
from bwnumbers.testing import BandwidthEmulator
from tests.disconnect_fakes import dead_intent

CB_USER, CB_PASSWORD = "bandwidth", "cb-secret-d"
FAST = PollPolicy(first_poll=0.3, interval=0.2, max_interval=0.5)
SLOW = PollPolicy(first_poll=30, interval=30)  # a result by CALLBACK is the callback's
A, B, C = "5402278098", "5405514342", "5405515329"


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


@pytest.fixture
async def receiver(client: NumbersClient) -> AsyncIterator[CallbackReceiver]:
    """One receiver, one URL, subscribed for orders and disconnects."""
    async with CallbackReceiver(username=CB_USER, password=CB_PASSWORD) as started:
        subscriptions = await client.ensure_subscriptions(
            started.url, username=CB_USER, password=CB_PASSWORD
        )
        assert sorted(str(s.order_type) for s in subscriptions) == ["disconnects", "orders"]
        yield started
        assert len(started.waiters) == 0, "a wait left a waiter behind"


async def own(client: NumbersClient, receiver: CallbackReceiver, *numbers: str) -> None:
    """Order *numbers*, so that they are in service on the account."""
    result = await bwnumbers.order_and_wait(client, receiver, site_id="743", numbers=numbers)
    assert result.completed_numbers == numbers


async def test_complete_by_callback(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    await own(client, receiver, A, B)
    result = await bwnumbers.disconnect_and_wait(
        client, receiver, numbers=[A, B], polling=SLOW, timeout=10
    )
    assert isinstance(result, DisconnectResult)
    assert (result.status, result.source) == (OrderStatus.COMPLETE, ResultSource.CALLBACK)
    assert sorted(result.disconnected_numbers) == [A, B]
    assert result.details is not None
    assert result.details.status is OrderStatus.COMPLETE
    assert result.notification is not None
    assert result.notification.order_type == "disconnects"
    assert bandwidth_emulator.disconnect_status(result.order_id) == "COMPLETE"
    assert bandwidth_emulator.number_status(A) == "Aging"


async def test_partial_names_the_number_that_stayed(
    client: NumbersClient, receiver: CallbackReceiver
) -> None:
    await own(client, receiver, A)
    result = await bwnumbers.disconnect_and_wait(
        client, receiver, numbers=[A, C], polling=SLOW, timeout=10
    )
    assert result.status is OrderStatus.PARTIAL
    assert (result.disconnected_numbers, result.failed_numbers) == ((A,), (C,))
    assert [(e.code, e.number) for e in result.errors] == [(5006, C)]


async def test_failed_raises_with_per_number_errors(
    client: NumbersClient, receiver: CallbackReceiver
) -> None:
    with pytest.raises(DisconnectFailedError) as raised:
        await bwnumbers.disconnect_and_wait(
            client, receiver, numbers=[B, C], polling=SLOW, timeout=10
        )
    error = raised.value
    assert error.codes == (5006, 5006)
    assert sorted(error.failed_numbers) == [B, C]
    assert {e.number for e in error.errors} == {B, C}
    assert error.details is not None
    assert error.details.status is OrderStatus.FAILED
    assert error.notification is not None
    assert "5006" in str(error)


async def test_a_dropped_callback_is_finished_by_polling(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    await own(client, receiver, A)
    bandwidth_emulator.faults.drop_callbacks = 1.0
    result = await bwnumbers.disconnect_and_wait(
        client, receiver, numbers=[A], polling=FAST, timeout=10
    )
    assert (result.status, result.source) == (OrderStatus.COMPLETE, ResultSource.POLL)


@pytest.mark.parametrize("failure", ["500", "disconnect", "truncate"])
async def test_a_post_that_commits_then_fails_disconnects_once(
    client: NumbersClient,
    receiver: CallbackReceiver,
    bandwidth_emulator: BandwidthEmulator,
    failure: str,
) -> None:
    await own(client, receiver, A)
    bandwidth_emulator.faults.fail_next_disconnect = failure  # type: ignore[assignment]
    result = await bwnumbers.disconnect_and_wait(
        client, receiver, numbers=[A], polling=FAST, timeout=10
    )
    assert result.status is OrderStatus.COMPLETE
    assert bandwidth_emulator.disconnect_count == 1
    assert bandwidth_emulator.disconnect_status(result.order_id) == "COMPLETE"


async def test_an_order_and_a_disconnect_of_one_customer_order_id_share_the_url(
    client: NumbersClient, receiver: CallbackReceiver
) -> None:
    """Both at once, one customer order id (Bandwidth allows it), one receiver URL: each
    call ends by its own notification, none confused with the other's."""
    await own(client, receiver, A)
    ordered, disconnected = await asyncio.gather(
        bwnumbers.order_and_wait(
            client,
            receiver,
            site_id="743",
            numbers=[B],
            customer_order_id="same-coid",
            polling=SLOW,
            timeout=10,
        ),
        bwnumbers.disconnect_and_wait(
            client, receiver, numbers=[A], customer_order_id="same-coid", polling=SLOW, timeout=10
        ),
    )
    assert (ordered.source, disconnected.source) == (ResultSource.CALLBACK, ResultSource.CALLBACK)
    assert ordered.completed_numbers == (B,)
    assert disconnected.disconnected_numbers == (A,)
    assert ordered.notification is not None
    assert disconnected.notification is not None
    assert ordered.notification.order_id == ordered.order_id
    assert disconnected.notification.order_id == disconnected.order_id
    assert (ordered.notification.order_type, disconnected.notification.order_type) == (
        "orders",
        "disconnects",
    )


async def test_a_recall_is_answered_from_the_store(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    await own(client, receiver, A)
    first = await bwnumbers.disconnect_and_wait(
        client, receiver, numbers=[A], customer_order_id="release-once", timeout=10
    )
    again = await bwnumbers.disconnect_and_wait(
        client, receiver, numbers=[A], customer_order_id="release-once", timeout=10
    )
    assert again.source is ResultSource.STORE
    assert (again.order_id, again.disconnected_numbers) == (first.order_id, (A,))
    assert bandwidth_emulator.disconnect_count == 1
    recorded = await receiver.waiters.store.get(journal_key("disconnects", "release-once"))
    assert recorded is not None
    assert "<CustomerOrderId>release-once</CustomerOrderId>" in recorded.request_xml


async def test_recover_finishes_a_disconnect_left_placed(
    client: NumbersClient, receiver: CallbackReceiver
) -> None:
    await own(client, receiver, A)
    request = DisconnectRequest.build([A], customer_order_id="dead-placed")
    store = receiver.waiters.store
    await store.begin(dead_intent(request, metadata={"chat_id": 9}))
    placed = await client.place_disconnect(request)
    assert placed.id is not None
    await store.placed(journal_key("disconnects", "dead-placed"), placed.id)

    (pending,) = await bwnumbers.recover(client, receiver)
    assert (pending.kind, pending.order_id, pending.metadata) == (
        "disconnects",
        placed.id,
        {"chat_id": 9},
    )
    result = await pending.wait(timeout=10, polling=FAST)
    assert isinstance(result, DisconnectResult)
    assert result.disconnected_numbers == (A,)
    recorded = await store.get(journal_key("disconnects", "dead-placed"))
    assert recorded is not None
    assert recorded.state is IntentState.FINAL


async def test_recover_adopts_a_disconnect_left_intent(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Journaled, POSTed, and the process died before the answer: found by its numbers."""
    await own(client, receiver, A, B)
    request = DisconnectRequest.build([A, B], customer_order_id="dead-intent")
    await receiver.waiters.store.begin(dead_intent(request))
    await client.place_disconnect(request)

    (pending,) = await bwnumbers.recover(client, receiver)
    assert pending.order_id is None
    result = await pending.wait(timeout=10, polling=FAST)
    assert sorted(result.disconnected_numbers) == [A, B]
    assert bandwidth_emulator.disconnect_count == 1


async def test_timeout_keeps_the_disconnect(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    await own(client, receiver, A)
    bandwidth_emulator.order_delay = 30
    with pytest.raises(OrderTimeoutError) as raised:
        await bwnumbers.disconnect_and_wait(
            client, receiver, numbers=[A], timeout=0.3, polling=FAST
        )
    assert raised.value.order_id is not None
    assert raised.value.last_status == "RECEIVED"
    assert bandwidth_emulator.disconnect_status(raised.value.order_id) == "RECEIVED"
