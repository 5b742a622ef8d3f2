"""order_and_wait end to end: the real emulator and a real receiver over loopback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

import bwnumbers
from bwnumbers import (
    AmbiguousOrderError,
    CallbackReceiver,
    Notification,
    NumbersClient,
    OrderDetails,
    OrderFailedError,
    OrderStatus,
    OrderTimeoutError,
    PollPolicy,
    ResultSource,
    Search,
    StatusUpdate,
    ValidationError,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator
from tests.conftest import BASE, ROOT

if TYPE_CHECKING:
    from aioresponses import aioresponses  # only for annotations: see tests/conftest.py

CB_USER, CB_PASSWORD = "bandwidth", "cb-secret-1"
FAST = PollPolicy(first_poll=0.3, interval=0.2, max_interval=0.5)


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


@pytest.fixture
async def receiver(client: NumbersClient) -> AsyncIterator[CallbackReceiver]:
    """A receiver with callback credentials, subscribed on the emulator."""
    async with CallbackReceiver(username=CB_USER, password=CB_PASSWORD) as started:
        await client.ensure_subscription(started.url, username=CB_USER, password=CB_PASSWORD)
        yield started
        assert len(started.waiters) == 0, "order_and_wait left a waiter behind"


async def test_complete_by_callback(client: NumbersClient, receiver: CallbackReceiver) -> None:
    """The callback resolves the order; GET confirms it; the result says so."""
    result = await order_and_wait(client, receiver, site_id="743", numbers=["5402278098"])
    assert result.status is OrderStatus.COMPLETE
    assert result.completed_numbers == ("5402278098",)
    assert result.source is ResultSource.CALLBACK
    assert result.details is not None
    assert result.details.status is OrderStatus.COMPLETE
    assert result.notification is not None
    assert result.elapsed < 2


async def test_failed_after_take(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A number taken between search and order raises OrderFailedError with 5005."""
    bandwidth_emulator.take("5402278098")
    with pytest.raises(OrderFailedError) as info:
        await order_and_wait(client, receiver, site_id="743", numbers=["5402278098"])
    failure = info.value
    assert failure.codes == (5005,)
    assert failure.failed_numbers == ("5402278098",)
    assert failure.details is not None
    assert failure.details.status is OrderStatus.FAILED
    assert failure.notification is not None
    assert failure.notification.error_code == 5005
    assert "5005" in str(failure)
    assert failure.order_id in str(failure)


async def test_failed_names_only_the_numbers_bandwidth_blamed(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """One of two numbers taken, no partial: FAILED, and the message names only that one."""
    bandwidth_emulator.take("5402278089")
    with pytest.raises(OrderFailedError) as info:
        await order_and_wait(client, receiver, site_id="743", numbers=["5402278098", "5402278089"])
    failure = info.value
    assert failure.failed_numbers == ("5402278098", "5402278089")  # nothing was activated
    assert [(e.code, e.number) for e in failure.errors] == [(5005, "5402278089")]
    assert failure.descriptions == ("The telephone number is unavailable for ordering",)
    assert str(failure) == (
        f"Order {failure.order_id} failed with Bandwidth error code 5005 for 5402278089: "
        "The telephone number is unavailable for ordering."
    )


async def test_partial(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """PARTIAL is a result with completed and failed numbers and the error entries."""
    bandwidth_emulator.take("5402278089")
    result = await order_and_wait(
        client, receiver, site_id="743", numbers=["5402278098", "5402278089"], partial_allowed=True
    )
    assert result.status is OrderStatus.PARTIAL
    assert (result.completed_numbers, result.failed_numbers) == (("5402278098",), ("5402278089",))
    assert [e.code for e in result.errors] == [5005]


async def test_backordered_then_complete(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """BACKORDERED goes to on_status, waiting continues, COMPLETE ends it."""
    updates: list[StatusUpdate] = []
    backordered = asyncio.Event()

    async def on_status(update: StatusUpdate) -> None:
        updates.append(update)
        if update.status is OrderStatus.BACKORDERED:
            backordered.set()

    task = asyncio.ensure_future(
        order_and_wait(
            client,
            receiver,
            site_id="743",
            search=Search(area_code="512", quantity=22),
            back_order_requested=True,
            on_status=on_status,
        )
    )
    await asyncio.wait_for(backordered.wait(), 5)
    assert not task.done()
    bandwidth_emulator.add_numbers(["5125559901", "5125559902"])
    result = await asyncio.wait_for(task, 5)
    assert result.status is OrderStatus.COMPLETE
    assert len(result.completed_numbers) == 22
    assert [u.status for u in updates] == [OrderStatus.RECEIVED, OrderStatus.BACKORDERED]
    assert updates[1].source is ResultSource.CALLBACK


async def test_search_and_order(client: NumbersClient, receiver: CallbackReceiver) -> None:
    """Ordering by search criteria returns the numbers Bandwidth picked."""
    result = await order_and_wait(
        client, receiver, site_id="743", search=Search(rate_center="CARY", state="NC", quantity=2)
    )
    assert len(result.completed_numbers) == 2
    assert all(n.startswith("919234") for n in result.completed_numbers)


async def test_callback_before_post_response(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A final notification that beats the POST answer and names only the order id can be
    matched only once the POST has returned that id: it waits in the unclaimed buffer and is
    claimed then. The first poll is 30 s away and the timeout 5 s, so only the callback can
    end the wait."""
    bandwidth_emulator.faults.callback_before_response = True
    bandwidth_emulator.faults.omit_customer_order_id = True
    result = await order_and_wait(
        client,
        receiver,
        site_id="743",
        numbers=["5402278098"],
        polling=PollPolicy(first_poll=30),
        timeout=5,
    )
    assert result.source is ResultSource.CALLBACK
    assert result.notification is not None
    assert result.notification.order_id == result.order_id
    assert result.notification.customer_order_id is None
    assert [d.http_status for d in bandwidth_emulator.deliveries] == [200]
    assert receiver.waiters.unclaimed_count == 0


async def test_dropped_callback_is_caught_by_polling(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Bandwidth never retries a callback; the poller finishes the wait anyway."""
    bandwidth_emulator.faults.drop_callbacks = 1.0
    result = await order_and_wait(
        client, receiver, site_id="743", numbers=["5402278098"], polling=FAST
    )
    assert result.status is OrderStatus.COMPLETE
    assert result.source is ResultSource.POLL
    assert result.notification is None


async def test_duplicated_callbacks(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Duplicate notifications change nothing."""
    bandwidth_emulator.faults.duplicate_callbacks = 1.0
    result = await order_and_wait(client, receiver, site_id="743", numbers=["5402278098"])
    assert result.status is OrderStatus.COMPLETE
    await bandwidth_emulator.settle()
    assert len([d for d in bandwidth_emulator.deliveries if d.http_status == 200]) == 2


async def test_wrong_callback_credentials_fall_back_to_polling(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """With the wrong password Bandwidth's retry is refused too; polling still finishes."""
    async with CallbackReceiver(username=CB_USER, password=CB_PASSWORD) as receiver:
        await client.create_subscription(receiver.url, username=CB_USER, password="wrong")
        result = await order_and_wait(
            client, receiver, site_id="743", numbers=["5402278098"], polling=FAST
        )
        await bandwidth_emulator.settle()
    assert result.source is ResultSource.POLL
    (delivery,) = bandwidth_emulator.deliveries
    assert (delivery.http_status, delivery.authenticated) == (401, True)


@pytest.mark.parametrize("failure", ["500", "disconnect", "truncate"])
async def test_post_commits_then_fails(
    client: NumbersClient,
    receiver: CallbackReceiver,
    bandwidth_emulator: BandwidthEmulator,
    failure: str,
) -> None:
    """The order placed before the failure is adopted: exactly one order, and it completes."""
    bandwidth_emulator.faults.fail_next_order = failure  # type: ignore[assignment]
    result = await order_and_wait(client, receiver, site_id="743", numbers=["5402278098"])
    assert result.status is OrderStatus.COMPLETE
    assert bandwidth_emulator.order_count == 1
    assert bandwidth_emulator.orders_with_customer_order_id(result.customer_order_id) == [
        result.order_id
    ]


async def test_confirm_false_trusts_complete(
    client: NumbersClient, receiver: CallbackReceiver
) -> None:
    """confirm=False returns on the COMPLETE callback without a GET."""
    result = await order_and_wait(
        client, receiver, site_id="743", numbers=["5402278098"], confirm=False
    )
    assert result.source is ResultSource.CALLBACK
    assert result.details is None
    assert result.completed_numbers == ("5402278098",)


async def test_contradicting_callback_follows_get(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A COMPLETE callback that GET does not confirm is not believed: the FAILED truth wins."""
    bandwidth_emulator.take("5402278098")
    bandwidth_emulator.order_delay = 0.5

    def on_status(update: StatusUpdate) -> None:
        if update.status is OrderStatus.RECEIVED:  # forge a premature COMPLETE
            receiver.deliver(Notification(order_id=update.order_id, status=OrderStatus.COMPLETE))

    with pytest.raises(OrderFailedError):
        await order_and_wait(
            client,
            receiver,
            site_id="743",
            numbers=["5402278098"],
            on_status=on_status,
            polling=FAST,
        )


async def test_timeout_keeps_the_order(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """timeout= raises OrderTimeoutError (a TimeoutError) with the order id; nothing dangles."""
    bandwidth_emulator.order_delay = 30
    with pytest.raises(OrderTimeoutError) as info:
        await order_and_wait(
            client, receiver, site_id="743", numbers=["5402278098"], timeout=0.3, polling=FAST
        )
    assert isinstance(info.value, TimeoutError)
    assert info.value.order_id is not None
    assert info.value.last_status == "RECEIVED"
    assert bandwidth_emulator.order_status(info.value.order_id) == "RECEIVED"
    assert info.value.order_id in str(info.value)


async def test_cancellation_cleans_up(
    client: NumbersClient,
    receiver: CallbackReceiver,
    bandwidth_emulator: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelling the wait stops its running poller and removes its waiter; the order stays."""
    bandwidth_emulator.order_delay = 30
    polled = asyncio.Event()
    get_order = client.get_order

    async def watched_get_order(order_id: str) -> OrderDetails:
        polled.set()
        return await get_order(order_id)

    monkeypatch.setattr(client, "get_order", watched_get_order)

    def pollers() -> list[asyncio.Task[object]]:
        tasks = asyncio.all_tasks()
        return [t for t in tasks if getattr(t.get_coro(), "__qualname__", "") == "Poller._poll"]

    task = asyncio.ensure_future(
        order_and_wait(client, receiver, site_id="743", numbers=["5402278098"], polling=FAST)
    )
    await asyncio.wait_for(polled.wait(), 5)  # the poller's task runs
    assert len(pollers()) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await task
    assert pollers() == [], "the cancelled wait left its poller polling"
    assert len(receiver.waiters) == 0
    assert bandwidth_emulator.order_count == 1


async def test_bad_input_sends_and_registers_nothing(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Invalid arguments fail before any request and leave no waiter."""
    for kwargs in (
        {"numbers": ["5402278098"], "search": Search(state="NC")},
        {"numbers": []},
        {"numbers": ["5402278098"], "timeout": 0},
        {"numbers": ["5402278098"], "customer_order_id": "no_way"},
    ):
        with pytest.raises(ValidationError):
            await order_and_wait(client, receiver, site_id="743", **kwargs)  # type: ignore[arg-type]
    assert bandwidth_emulator.order_count == 0


async def test_api_refusal_propagates(client: NumbersClient, receiver: CallbackReceiver) -> None:
    """Bandwidth refusing the order (5016) raises BadRequestError and leaves no waiter."""
    with pytest.raises(bwnumbers.BadRequestError) as info:
        await order_and_wait(client, receiver, site_id="999", numbers=["5402278098"])
    assert info.value.code == 5016


async def test_ambiguous_post_leaves_no_waiter(
    fake_http: aioresponses, sleeps: list[float]
) -> None:
    """AmbiguousOrderError propagates and the registry is empty again."""
    fake_http.post(f"{ROOT}/orders", status=500)
    fake_http.get(re.compile(rf"{re.escape(ROOT)}/orders\?.*"), status=204)
    receiver = CallbackReceiver()
    async with NumbersClient(account_id="9900000", access_token="t", base_url=BASE) as c:
        with pytest.raises(AmbiguousOrderError):
            await order_and_wait(c, receiver, site_id="743", numbers=["5402278098"])
    assert len(receiver.waiters) == 0


async def test_receiver_stopping_mid_wait_falls_back_to_polling(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """If the receiver closes while an order waits, polling still delivers the outcome."""
    bandwidth_emulator.order_delay = 0.3
    receiver = CallbackReceiver()
    await receiver.start()
    task = asyncio.ensure_future(
        order_and_wait(client, receiver, site_id="743", numbers=["5402278098"], polling=FAST)
    )
    await asyncio.sleep(0.1)
    await receiver.stop()
    result = await asyncio.wait_for(task, 5)
    assert result.source is ResultSource.POLL


@pytest.mark.slow
async def test_one_thousand_concurrent_orders(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    """1,000 concurrent orders with dropped and duplicated callbacks each get their own result."""
    numbers = [f"212555{i:04d}" for i in range(1000)]
    bandwidth_emulator.add_numbers(numbers)
    bandwidth_emulator.faults.drop_callbacks = 0.1
    bandwidth_emulator.faults.duplicate_callbacks = 0.1
    results = await asyncio.gather(
        *(
            order_and_wait(client, receiver, site_id="743", numbers=[n], polling=FAST)
            for n in numbers
        )
    )
    assert [r.completed_numbers for r in results] == [(n,) for n in numbers]
    assert len({r.order_id for r in results}) == 1000
    assert bandwidth_emulator.order_count == 1000
    sources = {s: sum(r.source is s for r in results) for s in ResultSource}
    assert sources[ResultSource.POLL] > 0
    assert sources[ResultSource.CALLBACK] > 0
    assert len(receiver.waiters) == 0
