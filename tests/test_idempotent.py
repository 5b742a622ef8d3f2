"""Calling order_and_wait again with a customer order id the journal knows never orders twice.

Against the in-process emulator with a real receiver; every API request is counted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bwnumbers import (
    CallbackReceiver,
    IdempotencyConflictError,
    IntentState,
    MemoryStore,
    NumbersClient,
    OrderFailedError,
    OrderRequest,
    OrderStatus,
    OrderTimeoutError,
    PollPolicy,
    ResultSource,
    ValidationError,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator
from tests.journaling import RequestLog, dead_intent

FAST = PollPolicy(first_poll=0.2, interval=0.2, max_interval=0.5)
NUMBER = "5402278098"


@pytest.fixture
async def client(counted: tuple[NumbersClient, RequestLog]) -> NumbersClient:
    """The emulator's client, its requests counted (``counted`` is in conftest.py)."""
    return counted[0]


@pytest.fixture
async def receiver(client: NumbersClient) -> AsyncIterator[CallbackReceiver]:
    async with CallbackReceiver(store=MemoryStore()) as started:
        await client.ensure_subscription(started.url)
        yield started
        assert len(started.waiters) == 0, "order_and_wait left a waiter behind"


async def test_a_finished_order_is_answered_from_the_store(
    client: NumbersClient, receiver: CallbackReceiver, requests: RequestLog
) -> None:
    first = await order_and_wait(
        client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="again-1"
    )
    requests.clear()
    again = await order_and_wait(
        client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="again-1"
    )
    assert requests.sent == []
    assert again.source is ResultSource.STORE
    assert (again.order_id, again.status, again.completed_numbers) == (
        first.order_id,
        OrderStatus.COMPLETE,
        (NUMBER,),
    )


async def test_a_failed_order_fails_again_from_the_store(
    client: NumbersClient,
    receiver: CallbackReceiver,
    requests: RequestLog,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    bandwidth_emulator.take(NUMBER)
    with pytest.raises(OrderFailedError) as first:
        await order_and_wait(
            client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="fails-1"
        )
    requests.clear()
    with pytest.raises(OrderFailedError) as again:
        await order_and_wait(
            client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="fails-1"
        )
    assert requests.sent == []
    assert again.value.order_id == first.value.order_id
    assert again.value.codes == (5005,)
    assert again.value.failed_numbers == (NUMBER,)


async def test_a_placed_order_is_resumed_without_a_second_post(
    client: NumbersClient,
    receiver: CallbackReceiver,
    requests: RequestLog,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """The first call times out (the order stays PLACED); the re-call waits for it."""
    bandwidth_emulator.order_delay = 0.6
    with pytest.raises(OrderTimeoutError):
        await order_and_wait(
            client,
            receiver,
            site_id="743",
            numbers=[NUMBER],
            customer_order_id="resumed-1",
            timeout=0.1,
        )
    result = await order_and_wait(
        client,
        receiver,
        site_id="743",
        numbers=[NUMBER],
        customer_order_id="resumed-1",
        polling=FAST,
    )
    assert result.status is OrderStatus.COMPLETE
    assert result.source in (ResultSource.CALLBACK, ResultSource.POLL)
    assert [m for m, path in requests.sent if path.endswith("/orders")] == ["POST"]
    assert len(bandwidth_emulator.orders_with_customer_order_id("resumed-1")) == 1


async def test_the_same_id_for_another_order_is_a_conflict(
    client: NumbersClient, receiver: CallbackReceiver, requests: RequestLog
) -> None:
    await order_and_wait(
        client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="taken-1"
    )
    requests.clear()
    with pytest.raises(IdempotencyConflictError) as info:
        await order_and_wait(
            client, receiver, site_id="743", numbers=["5402278099"], customer_order_id="taken-1"
        )
    assert requests.sent == []
    assert isinstance(info.value, ValidationError)
    assert info.value.customer_order_id == "taken-1"
    message = str(info.value)
    assert "taken-1" in message
    assert "new customer order id" in message
    assert "5402278099" not in message  # what differs is not shown: no data in messages


async def test_the_same_numbers_in_another_order_are_the_same_order(
    client: NumbersClient,
    receiver: CallbackReceiver,
    requests: RequestLog,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    numbers = bandwidth_emulator.add_numbers(["9195550101", "9195550102"])
    await order_and_wait(client, receiver, site_id="743", numbers=numbers, customer_order_id="o-1")
    requests.clear()
    again = await order_and_wait(
        client, receiver, site_id="743", numbers=numbers[::-1], customer_order_id="o-1"
    )
    assert again.source is ResultSource.STORE
    assert requests.sent == []


async def test_concurrent_calls_with_one_id_share_one_order(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    calls = [
        order_and_wait(
            client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="together-1"
        )
        for _ in range(3)
    ]
    results = await asyncio.gather(*calls)
    assert len(bandwidth_emulator.orders_with_customer_order_id("together-1")) == 1
    assert results[0] == results[1] == results[2]
    assert results[0].status is OrderStatus.COMPLETE


async def test_a_concurrent_conflict_is_refused_at_once(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A second call with other numbers does not wait for the first to finish."""
    bandwidth_emulator.order_delay = 0.5
    first = asyncio.ensure_future(
        order_and_wait(
            client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="racing-1"
        )
    )
    await asyncio.sleep(0)
    with pytest.raises(IdempotencyConflictError):
        await order_and_wait(
            client, receiver, site_id="743", numbers=["5402278099"], customer_order_id="racing-1"
        )
    assert not first.done()
    assert (await first).status is OrderStatus.COMPLETE


async def test_an_intent_whose_order_exists_is_adopted(
    client: NumbersClient,
    receiver: CallbackReceiver,
    requests: RequestLog,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """A process died after its POST arrived, before the answer: the re-call adopts it."""
    request = OrderRequest.build(site_id="743", numbers=[NUMBER], customer_order_id="died-1")
    await receiver.store.begin(dead_intent(request, created_at=time.time()))
    placed = await client.place_order(request)
    requests.clear()
    result = await order_and_wait(
        client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="died-1"
    )
    assert result.order_id == placed.id
    assert ("POST", "9900000/orders") not in requests.sent
    assert bandwidth_emulator.orders_with_customer_order_id("died-1") == [placed.id]


async def test_an_intent_whose_post_never_arrived_is_placed_once(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    request = OrderRequest.build(site_id="743", numbers=[NUMBER], customer_order_id="died-2")
    await receiver.store.begin(dead_intent(request, created_at=time.time()))
    result = await order_and_wait(
        client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="died-2"
    )
    assert result.status is OrderStatus.COMPLETE
    assert bandwidth_emulator.orders_with_customer_order_id("died-2") == [result.order_id]
    recorded = await receiver.store.get("died-2")
    assert recorded is not None
    assert recorded.state is IntentState.FINAL


async def test_metadata_is_kept_with_the_intent(
    client: NumbersClient, receiver: CallbackReceiver
) -> None:
    metadata = {"chat_id": 42, "customer": {"name": "Ada", "tags": ["vip"]}}
    result = await order_and_wait(
        client, receiver, site_id="743", numbers=[NUMBER], metadata=metadata
    )
    recorded = await receiver.store.get(result.customer_order_id)
    assert recorded is not None
    assert recorded.metadata == metadata


@pytest.mark.parametrize(
    ("metadata", "complaint"),
    [
        ({"blob": "x" * 4096}, "at most 4,096"),
        ({"when": object()}, "JSON-serialisable"),
        (["not", "a", "mapping"], "must be a mapping"),
    ],
)
async def test_unusable_metadata_is_refused_before_any_request(
    client: NumbersClient,
    receiver: CallbackReceiver,
    requests: RequestLog,
    bandwidth_emulator: BandwidthEmulator,
    metadata: object,
    complaint: str,
) -> None:
    requests.clear()  # the receiver's subscription
    with pytest.raises(ValidationError, match=complaint):
        await order_and_wait(
            client,
            receiver,
            site_id="743",
            numbers=[NUMBER],
            metadata=metadata,  # type: ignore[arg-type]
        )
    assert requests.sent == []
    assert bandwidth_emulator.order_count == 0


async def test_metadata_of_exactly_4_kib_is_kept(
    client: NumbersClient, receiver: CallbackReceiver
) -> None:
    metadata = {"blob": "x" * (4096 - len('{"blob":""}'))}
    result = await order_and_wait(
        client, receiver, site_id="743", numbers=[NUMBER], metadata=metadata
    )
    recorded = await receiver.store.get(result.customer_order_id)
    assert recorded is not None
    assert recorded.metadata == metadata
