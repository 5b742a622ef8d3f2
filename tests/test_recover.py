"""recover(): the intents a "dead" process left in its journal, picked up and finished.

The journal is written the way a killed process leaves it (``begin``, then ``placed`` or not);
the orders live in the in-process emulator; a real receiver gets the callbacks.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

import bwnumbers
from bwnumbers import (
    CallbackReceiver,
    IntentState,
    MemoryStore,
    NeverCreatedError,
    NumbersClient,
    OrderRequest,
    OrderStatus,
    PendingOrder,
    PollPolicy,
    ResultSource,
    StoredOutcome,
)
from bwnumbers.testing import BandwidthEmulator
from tests.journaling import RequestLog, dead_intent

FAST = PollPolicy(first_poll=0.2, interval=0.1, max_interval=0.2)
NUMBER = "5402278098"


@pytest.fixture
async def client(counted: tuple[NumbersClient, RequestLog]) -> NumbersClient:
    """The emulator's client, its requests counted (``counted`` is in conftest.py)."""
    return counted[0]


@pytest.fixture
def store() -> MemoryStore:
    """The journal the dead process left, opened again by the restarted one."""
    return MemoryStore()


@pytest.fixture
async def receiver(client: NumbersClient, store: MemoryStore) -> AsyncIterator[CallbackReceiver]:
    async with CallbackReceiver(store=store) as started:
        await client.ensure_subscription(started.url)
        yield started
        assert len(started.waiters) == 0, "a wait left a waiter behind"


def request(customer_order_id: str, number: str = NUMBER) -> OrderRequest:
    return OrderRequest.build(site_id="743", numbers=[number], customer_order_id=customer_order_id)


async def test_an_order_with_an_id_is_waited_for_and_recorded(
    client: NumbersClient, receiver: CallbackReceiver, store: MemoryStore
) -> None:
    wanted = request("placed-1")
    await store.begin(dead_intent(wanted, created_at=time.time(), metadata={"chat_id": 7}))
    order = await client.place_order(wanted)
    assert order.id is not None
    await store.placed("placed-1", order.id)

    (pending,) = await bwnumbers.recover(client, receiver)
    assert isinstance(pending, PendingOrder)
    assert (pending.customer_order_id, pending.order_id) == ("placed-1", order.id)
    assert pending.metadata == {"chat_id": 7}
    assert pending.request == wanted
    assert pending.intent.state is IntentState.PLACED
    result = await pending.wait(timeout=5, polling=FAST)
    assert result.status is OrderStatus.COMPLETE
    assert result.order_id == order.id
    recorded = await store.get("placed-1")
    assert recorded is not None
    assert recorded.state is IntentState.FINAL
    assert await bwnumbers.recover(client, receiver) == []


async def test_an_order_without_an_id_is_found_by_customer_order_id(
    client: NumbersClient,
    receiver: CallbackReceiver,
    store: MemoryStore,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """The process died after its POST arrived and before the answer (A8)."""
    wanted = request("mid-post-1")
    await store.begin(dead_intent(wanted, created_at=time.time()))
    order = await client.place_order(wanted)

    (pending,) = await bwnumbers.recover(client, receiver)
    assert pending.order_id is None
    result = await pending.wait(timeout=5, polling=FAST)
    assert result.order_id == order.id
    assert pending.order_id == order.id
    assert bandwidth_emulator.orders_with_customer_order_id("mid-post-1") == [order.id]
    recorded = await store.get("mid-post-1")
    assert recorded is not None
    assert (recorded.state, recorded.order_id) == (IntentState.FINAL, order.id)


async def test_an_order_never_created_raises_after_the_window_and_orders_nothing(
    client: NumbersClient,
    receiver: CallbackReceiver,
    store: MemoryStore,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """The process died before its POST arrived (A8, the other half)."""
    await store.begin(dead_intent(request("lost-1"), created_at=time.time()))
    (pending,) = await bwnumbers.recover(client, receiver, reconcile_window=0.3)
    with pytest.raises(NeverCreatedError) as info:
        await pending.wait(timeout=5, polling=FAST)
    assert info.value.customer_order_id == "lost-1"
    assert "resubmit=True" in str(info.value)
    assert bandwidth_emulator.order_count == 0
    recorded = await store.get("lost-1")
    assert recorded is not None
    assert recorded.state is IntentState.NEVER_CREATED
    assert await bwnumbers.recover(client, receiver) == []


async def test_resubmit_orders_exactly_once(
    client: NumbersClient,
    receiver: CallbackReceiver,
    store: MemoryStore,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    await store.begin(dead_intent(request("lost-2"), created_at=time.time() - 120))
    (pending,) = await bwnumbers.recover(client, receiver, resubmit=True)
    result = await pending.wait(timeout=5, polling=FAST)
    assert result.status is OrderStatus.COMPLETE
    assert result.customer_order_id == "lost-2"
    assert bandwidth_emulator.orders_with_customer_order_id("lost-2") == [result.order_id]
    recorded = await store.get("lost-2")
    assert recorded is not None
    assert (recorded.state, recorded.order_id) == (IntentState.FINAL, result.order_id)


async def test_a_re_call_after_recovery_is_answered_from_the_store(
    client: NumbersClient, receiver: CallbackReceiver, store: MemoryStore, requests: RequestLog
) -> None:
    wanted = request("both-1")
    await store.begin(dead_intent(wanted, created_at=time.time()))
    order = await client.place_order(wanted)
    assert order.id is not None
    await store.placed("both-1", order.id)
    (pending,) = await bwnumbers.recover(client, receiver)
    await pending.wait(timeout=5, polling=FAST)
    requests.clear()
    again = await bwnumbers.order_and_wait(
        client, receiver, site_id="743", numbers=[NUMBER], customer_order_id="both-1"
    )
    assert again.source is ResultSource.STORE
    assert again.order_id == order.id
    assert requests.sent == []


async def test_recover_itself_makes_no_request(
    client: NumbersClient, receiver: CallbackReceiver, store: MemoryStore, requests: RequestLog
) -> None:
    """However many orders there are, recover() only reads the journal."""
    for index in range(50):
        await store.begin(dead_intent(request(f"many-{index}"), created_at=time.time()))
        if index % 2:
            await store.placed(f"many-{index}", f"order-{index}")
    requests.clear()
    pending = await bwnumbers.recover(client, receiver)
    assert [p.customer_order_id for p in pending] == [f"many-{i}" for i in range(50)]
    assert requests.sent == []


async def test_recover_forgets_finished_orders_past_their_keep(
    client: NumbersClient,
) -> None:
    store = MemoryStore(keep_finished=0.0)
    await store.begin(dead_intent(request("old-1"), created_at=time.time()))
    await store.finish("old-1", StoredOutcome(status="COMPLETE", completed_numbers=[NUMBER]))
    assert await store.get("old-1") is not None
    assert await bwnumbers.recover(client, None, store=store) == []
    assert await store.get("old-1") is None


async def test_a_poll_only_recovery(client: NumbersClient) -> None:
    """recover(client, None, store=...) waits by polling alone."""
    store = MemoryStore()
    wanted = request("polled-1")
    await store.begin(dead_intent(wanted, created_at=time.time()))
    order = await client.place_order(wanted)
    assert order.id is not None
    await store.placed("polled-1", order.id)
    (pending,) = await bwnumbers.recover(client, None, store=store)
    result = await pending.wait(timeout=5, polling=FAST)
    assert result.source is ResultSource.POLL
    assert result.status is OrderStatus.COMPLETE
