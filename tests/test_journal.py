"""The journal in order_and_wait: the intent before the POST, store failures before and after.

Against the in-process emulator, with a real receiver over loopback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from bwnumbers import (
    CallbackReceiver,
    IntentState,
    MemoryStore,
    NumbersClient,
    Order,
    OrderFailedError,
    OrderIntent,
    OrderRequest,
    OrderStatus,
    OrderTimeoutError,
    OrderWaiters,
    PollPolicy,
    ResultSource,
    Search,
    StatusUpdate,
    StoreUnavailableError,
    _journal,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator
from tests.journaling import FlakyStore, RequestLog

FAST = PollPolicy(first_poll=0.2, interval=0.2, max_interval=0.5)


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


class Peeking:
    """A client that looks at the journal at the moment POST /orders is sent."""

    def __init__(self, client: NumbersClient, store: MemoryStore) -> None:
        self.client = client
        self.store = store
        self.seen: list[OrderIntent | None] = []

    async def place_order(self, request: OrderRequest) -> Order:
        self.seen.append(await self.store.get(request.customer_order_id))
        return await self.client.place_order(request)

    async def get_order(self, order_id: str):  # type: ignore[no-untyped-def]
        return await self.client.get_order(order_id)

    async def find_order(self, customer_order_id: str) -> Order | None:
        return await self.client.find_order(customer_order_id)


async def test_the_intent_is_recorded_before_the_post(
    client: NumbersClient, receiver: CallbackReceiver
) -> None:
    store = receiver.store
    assert isinstance(store, MemoryStore)
    peeking = Peeking(client, store)
    result = await order_and_wait(
        peeking, receiver, site_id="743", numbers=["5402278098"], metadata={"chat_id": 42}
    )
    (seen,) = peeking.seen
    assert seen is not None, "POST /orders was sent before the intent was recorded"
    assert seen.state is IntentState.INTENT
    assert seen.metadata == {"chat_id": 42}
    assert "5402278098" in seen.request_xml
    final = await store.get(result.customer_order_id)
    assert final is not None
    assert final.state is IntentState.FINAL
    assert final.order_id == result.order_id
    assert final.outcome is not None
    assert final.outcome.status is OrderStatus.COMPLETE
    assert final.outcome.completed_numbers == ("5402278098",)


async def test_a_store_failing_before_the_post_sends_nothing(
    client: NumbersClient, requests: RequestLog, bandwidth_emulator: BandwidthEmulator
) -> None:
    store = FlakyStore("begin")
    with pytest.raises(StoreUnavailableError) as info:
        await order_and_wait(client, None, site_id="743", numbers=["5402278098"], store=store)
    assert info.value.request_sent is False
    assert "nothing was sent" in str(info.value)
    assert requests.sent == []
    assert bandwidth_emulator.order_count == 0


async def test_a_store_that_does_not_answer_in_time_sends_nothing(
    client: NumbersClient,
    requests: RequestLog,
    bandwidth_emulator: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_journal, "BEGIN_TIMEOUT", 0.05)

    class Hanging(MemoryStore):
        async def begin(self, intent: OrderIntent) -> OrderIntent | None:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    with pytest.raises(StoreUnavailableError, match=r"within 0\.05 s"):
        await order_and_wait(client, None, site_id="743", numbers=["5402278098"], store=Hanging())
    assert requests.sent == []
    assert bandwidth_emulator.order_count == 0


async def test_a_closed_store_sends_nothing(
    client: NumbersClient, requests: RequestLog, bandwidth_emulator: BandwidthEmulator
) -> None:
    store = MemoryStore()
    await store.aclose()
    with pytest.raises(StoreUnavailableError):
        await order_and_wait(client, None, site_id="743", numbers=["5402278098"], store=store)
    assert requests.sent == []
    assert bandwidth_emulator.order_count == 0


async def test_a_store_failing_after_the_post_never_fails_the_order(
    client: NumbersClient, receiver: CallbackReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    """placed() and finish() fail twice each: the order returns, one WARNING, and the
    outcome is in the journal once the store works again."""
    store = FlakyStore("placed", "finish", times=2)
    with caplog.at_level(logging.WARNING, logger="bwnumbers.ordering"):
        result = await order_and_wait(
            client, receiver, site_id="743", numbers=["5402278098"], store=store
        )
    assert result.status is OrderStatus.COMPLETE
    warnings = [r for r in caplog.records if "order store failed" in r.getMessage()]
    assert len(warnings) == 1
    assert result.customer_order_id in warnings[0].getMessage()
    recorded = await store.get(result.customer_order_id)
    assert recorded is not None
    assert recorded.state is IntentState.FINAL
    assert recorded.order_id == result.order_id
    assert store.calls.count("finish") == 3


async def test_a_store_that_stays_broken_after_the_post_still_returns(
    client: NumbersClient, receiver: CallbackReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    """The retries end with the call: an ERROR says the order is left for recover()."""
    store = FlakyStore("placed", "finish")
    with caplog.at_level(logging.WARNING, logger="bwnumbers.ordering"):
        result = await order_and_wait(
            client, receiver, site_id="743", numbers=["5402278098"], store=store
        )
    assert result.status is OrderStatus.COMPLETE
    assert [r.levelname for r in caplog.records if "order store" in r.getMessage()] == [
        "WARNING",
        "ERROR",
    ]
    recorded = await store.get(result.customer_order_id)
    assert recorded is not None
    assert recorded.state is IntentState.INTENT  # what recover() will pick up


async def test_a_failed_order_is_recorded(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    bandwidth_emulator.take("5402278098")
    with pytest.raises(OrderFailedError) as info:
        await order_and_wait(client, receiver, site_id="743", numbers=["5402278098"])
    recorded = await receiver.store.get(info.value.details.order.customer_order_id)  # type: ignore[union-attr]
    assert recorded is not None
    assert recorded.state is IntentState.FINAL
    assert recorded.outcome is not None
    assert recorded.outcome.status is OrderStatus.FAILED
    assert [e.code for e in recorded.outcome.errors] == [5005]


async def test_a_timeout_leaves_the_order_placed(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    bandwidth_emulator.order_delay = 5
    with pytest.raises(OrderTimeoutError) as info:
        await order_and_wait(
            client,
            receiver,
            site_id="743",
            numbers=["5402278098"],
            customer_order_id="timed-out-1",
            timeout=0.3,
        )
    recorded = await receiver.store.get("timed-out-1")
    assert recorded is not None
    assert recorded.state is IntentState.PLACED
    assert recorded.order_id == info.value.order_id


async def test_a_backordered_status_is_journaled(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A non-final status goes to the journal while the order waits."""
    seen: list[str | None] = []

    async def on_status(update: StatusUpdate) -> None:
        if update.status is not OrderStatus.BACKORDERED:
            return
        await asyncio.sleep(0.05)  # the journal's write runs alongside this hook
        recorded = await receiver.store.get("backordered-1")
        seen.append(recorded.last_status if recorded else None)
        bandwidth_emulator.add_numbers(["5125559901", "5125559902"])

    result = await order_and_wait(
        client,
        receiver,
        site_id="743",
        search=Search(area_code="512", quantity=22),
        customer_order_id="backordered-1",
        back_order_requested=True,
        on_status=on_status,
        polling=FAST,
    )
    assert result.status is OrderStatus.COMPLETE
    assert seen == ["BACKORDERED"]


async def test_a_poll_only_wait_is_journaled_in_the_store_given(
    client: NumbersClient,
) -> None:
    store = MemoryStore()
    result = await order_and_wait(
        client, None, site_id="743", numbers=["5402278098"], store=store, polling=FAST
    )
    assert result.source is ResultSource.POLL
    recorded = await store.get(result.customer_order_id)
    assert recorded is not None
    assert recorded.state is IntentState.FINAL


async def test_without_a_store_the_process_default_journals(client: NumbersClient) -> None:
    """A registry without a store (here: waiting by polling alone) journals in the process
    default MemoryStore."""
    result = await order_and_wait(client, None, site_id="743", numbers=["5402278098"], polling=FAST)
    recorded = await _journal.default_store().get(result.customer_order_id)
    assert recorded is not None
    assert recorded.state is IntentState.FINAL


def test_the_receiver_forwards_its_store() -> None:
    store = MemoryStore()
    receiver = CallbackReceiver(store=store)
    assert receiver.store is store
    assert receiver.waiters.store is store
    assert isinstance(CallbackReceiver().store, MemoryStore)
    waiters = OrderWaiters(store=store)
    assert CallbackReceiver(waiters=waiters).waiters is waiters


def test_a_store_for_given_waiters_is_refused() -> None:
    from bwnumbers import ValidationError

    with pytest.raises(ValidationError, match="OrderWaiters"):
        CallbackReceiver(waiters=OrderWaiters(), store=MemoryStore())
