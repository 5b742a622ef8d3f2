"""disconnect_and_wait through the shared flow, with a disconnect client in memory.

The client is :class:`tests.disconnect_fakes.FakeDisconnects`, so each test decides when the
disconnect ends and whether its callback arrives; the waiters and the journal are the real
ones. The same guarantees against the emulator and a real receiver are in
test_disconnect_emulator.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

import pytest

import bwnumbers
from bwnumbers import (
    DisconnectFailedError,
    DisconnectResult,
    IdempotencyConflictError,
    IntentState,
    MemoryStore,
    NeverCreatedError,
    OrderError,
    OrderStatus,
    OrderTimeoutError,
    OrderWaiters,
    PollPolicy,
    ResultSource,
    StatusUpdate,
)
from bwnumbers._disconnect_models import DisconnectRequest
from bwnumbers._kinds import RECONCILE_MARGIN
from bwnumbers._store import journal_key
from tests.disconnect_fakes import FakeDisconnects, dead_intent
from tests.journaling import FlakyStore

FAST = PollPolicy(first_poll=0.05, interval=0.05, max_interval=0.05)
NEVER = PollPolicy(first_poll=3600)  # only the callback can end the wait
A, B = "5402278098", "5402278099"


@pytest.fixture
def fake() -> FakeDisconnects:
    return FakeDisconnects()


@pytest.fixture
def waiters() -> OrderWaiters:
    return OrderWaiters()


def start(
    fake: FakeDisconnects, waiters: OrderWaiters | None, **options: Any
) -> asyncio.Task[DisconnectResult]:
    """disconnect_and_wait as a task (never polling unless *polling* says so; a wait that
    would hang ends in OrderTimeoutError instead)."""
    options.setdefault("numbers", [A, B])
    options.setdefault("polling", NEVER)
    options.setdefault("timeout", 10)
    return asyncio.ensure_future(bwnumbers.disconnect_and_wait(fake, waiters, **options))


async def placed(fake: FakeDisconnects) -> None:
    async with asyncio.timeout(5):
        await fake.placed.wait()


async def test_complete_by_callback_is_confirmed_by_get(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    call = start(fake, waiters, customer_order_id="release-1")
    await placed(fake)
    fake.finish(fake.only(), OrderStatus.COMPLETE, notify=waiters)
    result = await call
    assert isinstance(result, DisconnectResult)
    assert result.status is OrderStatus.COMPLETE
    assert result.source is ResultSource.CALLBACK
    assert result.customer_order_id == "release-1"
    assert result.disconnected_numbers == (A, B)
    assert result.details is not None
    assert result.details.id == result.order_id
    assert fake.calls["get"] == 1  # the confirmation
    assert len(waiters) == 0


async def test_a_callback_that_beats_the_post_answer_is_not_lost(fake: FakeDisconnects) -> None:
    """The waiter is registered before the POST: with no buffer for early notifications, the
    callback that arrives while the POST is answered still ends the wait, by CALLBACK."""
    waiters = OrderWaiters(unclaimed_limit=0)
    fake.complete_during_post = waiters
    result = await start(fake, waiters)
    assert (result.status, result.source) == (OrderStatus.COMPLETE, ResultSource.CALLBACK)


async def test_confirm_false_trusts_a_complete_callback(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    call = start(fake, waiters, confirm=False)
    await placed(fake)
    fake.finish(fake.only(), OrderStatus.COMPLETE, notify=waiters)
    result = await call
    assert (result.source, result.details, fake.calls["get"]) == (ResultSource.CALLBACK, None, 0)
    assert result.disconnected_numbers == (A, B)


async def test_partial_is_always_confirmed_and_names_the_failed_number(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    call = start(fake, waiters, confirm=False)
    await placed(fake)
    error = OrderError(code=5006, description="Not on your account", number=B)
    fake.finish(fake.only(), OrderStatus.PARTIAL, failed={B: error}, notify=waiters)
    result = await call
    assert result.status is OrderStatus.PARTIAL
    assert (result.disconnected_numbers, result.failed_numbers) == ((A,), (B,))
    assert result.errors == (error,)
    assert fake.calls["get"] == 1


async def test_failed_raises_with_per_number_errors_and_a_recall_raises_it_again(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    store = MemoryStore()
    call = start(fake, waiters, customer_order_id="release-f", store=store)
    await placed(fake)
    errors = {
        A: OrderError(code=5006, description="Not on your account", number=A),
        B: OrderError(code=5006, description="Not on your account", number=B),
    }
    fake.finish(fake.only(), OrderStatus.FAILED, failed=errors, notify=waiters)
    with pytest.raises(DisconnectFailedError) as raised:
        await call
    error = raised.value
    assert (error.order_id, error.failed_numbers) == (fake.only().id, (A, B))
    assert error.codes == (5006, 5006)
    assert error.details is not None
    assert error.details.status is OrderStatus.FAILED
    assert str(error).startswith(f"Disconnect {error.order_id} failed with")
    assert A in str(error)
    assert B in str(error)

    again = start(fake, waiters, customer_order_id="release-f", store=store)
    with pytest.raises(DisconnectFailedError) as repeated:
        await again
    assert repeated.value.errors == error.errors
    assert (fake.calls["place"], fake.calls["get"]) == (1, 1)  # the store answered


async def test_a_dropped_callback_is_caught_by_polling(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    call = start(fake, waiters, polling=FAST)
    await placed(fake)
    fake.finish(fake.only(), OrderStatus.COMPLETE)  # no notification: Bandwidth's was lost
    result = await call
    assert (result.status, result.source) == (OrderStatus.COMPLETE, ResultSource.POLL)


async def test_an_order_notification_never_ends_a_disconnect(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    """A notification of type orders with the disconnect's ids is not the disconnect's."""
    call = start(fake, waiters, customer_order_id="shared-1", polling=FAST)
    await placed(fake)
    made = fake.only()
    fake.finish(made, OrderStatus.FAILED, order_type="orders", notify=waiters)
    made.status = OrderStatus.RECEIVED  # what GET says: the disconnect goes on
    await asyncio.sleep(0.2)
    assert not call.done()
    assert waiters.unclaimed_count == 1  # kept for an order of that id, not taken
    fake.finish(made, OrderStatus.COMPLETE, notify=waiters)
    result = await call
    assert result.status is OrderStatus.COMPLETE


async def test_on_status_hears_received_and_the_journal_keeps_it(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    store = MemoryStore()
    updates: list[StatusUpdate] = []
    call = start(fake, waiters, on_status=updates.append, store=store, customer_order_id="st-1")
    await placed(fake)
    fake.finish(fake.only(), OrderStatus.COMPLETE, notify=waiters)
    await call
    assert [(u.status, u.order_id) for u in updates] == [(OrderStatus.RECEIVED, fake.only().id)]
    recorded = await store.get(journal_key("disconnects", "st-1"))
    assert recorded is not None
    assert recorded.kind == "disconnects"
    assert recorded.state is IntentState.FINAL
    assert recorded.outcome is not None
    assert recorded.outcome.completed_numbers == (A, B)
    assert await store.get("st-1") is None  # not an order's entry


async def test_a_recall_is_answered_from_the_store(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    store = MemoryStore()
    call = start(fake, waiters, customer_order_id="again-1", store=store, metadata={"chat": 7})
    await placed(fake)
    fake.finish(fake.only(), OrderStatus.COMPLETE, notify=waiters)
    first = await call
    second = await start(fake, waiters, customer_order_id="again-1", store=store, numbers=[B, A])
    assert second.source is ResultSource.STORE
    assert (second.order_id, second.disconnected_numbers) == (first.order_id, (A, B))
    assert fake.calls["place"] == 1


async def test_two_calls_at_once_share_one_disconnect(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    store = MemoryStore()
    calls = [start(fake, waiters, customer_order_id="twice", store=store) for _ in range(2)]
    await placed(fake)
    await asyncio.sleep(0)
    fake.finish(fake.only(), OrderStatus.COMPLETE, notify=waiters)
    first, second = await asyncio.gather(*calls)
    assert first.order_id == second.order_id
    assert fake.calls["place"] == 1


async def test_other_numbers_under_a_used_customer_order_id_conflict(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    store = MemoryStore()
    call = start(fake, waiters, customer_order_id="conf-1", store=store)
    await placed(fake)
    fake.finish(fake.only(), OrderStatus.COMPLETE, notify=waiters)
    await call
    with pytest.raises(IdempotencyConflictError):
        await start(fake, waiters, customer_order_id="conf-1", store=store, numbers=[A])
    assert fake.calls["place"] == 1


async def test_timeout_carries_the_id_and_never_cancels_the_disconnect(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    store = MemoryStore()
    with pytest.raises(OrderTimeoutError) as raised:
        await start(fake, waiters, timeout=0.2, customer_order_id="slow-1", store=store)
    made = fake.only()
    assert raised.value.order_id == made.id
    assert raised.value.last_status == "RECEIVED"
    assert made.status is OrderStatus.RECEIVED  # nothing cancelled it
    recorded = await store.get(journal_key("disconnects", "slow-1"))
    assert recorded is not None
    assert recorded.state is IntentState.PLACED


async def test_cancelled_after_the_post_says_how_to_find_the_disconnect(
    fake: FakeDisconnects, waiters: OrderWaiters, caplog: pytest.LogCaptureFixture
) -> None:
    call = start(fake, waiters, customer_order_id="cancel-1")
    await placed(fake)
    await asyncio.sleep(0.05)
    with caplog.at_level(logging.WARNING, "bwnumbers.ordering"):
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    made = fake.only()
    assert f"client.get_disconnect('{made.id}')" in caplog.text
    assert "disconnect_and_wait was cancelled" in caplog.text


async def test_recover_finishes_a_disconnect_left_placed(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    request = DisconnectRequest.build([A], customer_order_id="dead-placed")
    await waiters.store.begin(dead_intent(request, created_at=time.time()))
    made = await fake.place_disconnect(request)
    assert made.id is not None
    await waiters.store.placed(journal_key("disconnects", "dead-placed"), made.id)
    fake.finish(fake.only(), OrderStatus.COMPLETE)

    (pending,) = await bwnumbers.recover(fake, waiters)  # type: ignore[arg-type]
    assert (pending.kind, pending.order_id, pending.request) == ("disconnects", made.id, request)
    result = await pending.wait(timeout=5, polling=FAST)
    assert isinstance(result, DisconnectResult)
    assert result.disconnected_numbers == (A,)
    assert await bwnumbers.recover(fake, waiters) == []  # type: ignore[arg-type]


async def test_recover_adopts_a_disconnect_left_intent_found_by_its_numbers(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    request = DisconnectRequest.build([A, B], customer_order_id="dead-intent")
    created = time.time()
    await waiters.store.begin(dead_intent(request, created_at=created))
    await fake.place_disconnect(request)  # the POST arrived; its answer did not
    fake.finish(fake.only(), OrderStatus.COMPLETE)

    (pending,) = await bwnumbers.recover(fake, waiters)  # type: ignore[arg-type]
    assert pending.order_id is None
    result = await pending.wait(timeout=5, polling=FAST)
    assert result.order_id == fake.only().id
    assert fake.calls["place"] == 1
    assert fake.finds == [dt.datetime.fromtimestamp(created - RECONCILE_MARGIN, dt.UTC)]


async def test_recover_calls_a_disconnect_never_made_never_created(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    request = DisconnectRequest.build([A], customer_order_id="dead-never")
    await waiters.store.begin(dead_intent(request, created_at=time.time() - 120))
    (pending,) = await bwnumbers.recover(fake, waiters, reconcile_window=60)  # type: ignore[arg-type]
    with pytest.raises(NeverCreatedError, match="POST /disconnects never arrived"):
        await pending.wait(timeout=5)
    assert fake.calls["place"] == 0


async def test_a_recall_resumes_an_intent_whose_post_arrived(
    fake: FakeDisconnects, waiters: OrderWaiters
) -> None:
    """Same customer order id, journaled as INTENT (the caller died mid-POST): looked up by
    its numbers and adopted, not disconnected twice."""
    request = DisconnectRequest.build([A, B], customer_order_id="mid-post")
    await waiters.store.begin(dead_intent(request, created_at=time.time()))
    await fake.place_disconnect(request)
    fake.finish(fake.only(), OrderStatus.COMPLETE)
    result = await start(fake, waiters, customer_order_id="mid-post", polling=FAST)
    assert result.order_id == fake.only().id
    assert (fake.calls["place"], fake.calls["find"]) == (1, 1)


async def test_a_store_that_refuses_a_write_names_the_disconnect(
    fake: FakeDisconnects, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused write never fails the disconnect; the warning names it as a disconnect."""
    store = FlakyStore("placed", times=1)
    waiters = OrderWaiters(store=store)
    call = start(fake, waiters, customer_order_id="flaky-1")
    await placed(fake)
    fake.finish(fake.only(), OrderStatus.COMPLETE, notify=waiters)
    with caplog.at_level(logging.WARNING, "bwnumbers.ordering"):
        result = await call
    assert result.status is OrderStatus.COMPLETE
    assert "customer order id flaky-1 (disconnects)" in caplog.text
    recorded = await store.get(journal_key("disconnects", "flaky-1"))
    assert recorded is not None
    assert recorded.state is IntentState.FINAL
