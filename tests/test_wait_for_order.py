"""wait_for_order and find_order against the real emulator and a real receiver.

The interesting case is a wait resumed by another process: a second NumbersClient, with its
own receiver, waits for an order the first client placed and never waited for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from aioresponses import aioresponses

from bwnumbers import (
    AmbiguousOrderError,
    CallbackReceiver,
    NumbersClient,
    OrderFailedError,
    OrderStatus,
    OrderTimeoutError,
    OrderWaiters,
    PollPolicy,
    ResultSource,
    StatusUpdate,
    ValidationError,
    order_and_wait,
    wait_for_order,
)
from bwnumbers.testing import BandwidthEmulator
from tests.conftest import ROOT

FAST = PollPolicy(first_poll=0.2, interval=0.2, max_interval=0.5)


@pytest.fixture
async def placer(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    """The client that places orders and then goes away (a process that restarted)."""
    async with bandwidth_emulator.client() as client:
        yield client


@pytest.fixture
async def resumer(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    """Another client of the same account: the process that resumes the wait."""
    async with bandwidth_emulator.client() as client:
        yield client


@pytest.fixture
async def receiver(resumer: NumbersClient) -> AsyncIterator[CallbackReceiver]:
    async with CallbackReceiver() as started:
        await resumer.ensure_subscription(started.url)
        yield started
        assert len(started.waiters) == 0, "wait_for_order left a waiter behind"


async def test_another_client_resumes_the_wait_by_callback(
    placer: NumbersClient,
    resumer: NumbersClient,
    receiver: CallbackReceiver,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """Placed by one client, finished for another: its callback, confirmed by GET."""
    bandwidth_emulator.order_delay = 0.3
    order = await placer.create_order(site_id="743", numbers=["5402278098"])
    assert order.id is not None
    await placer.aclose()
    seen: list[StatusUpdate] = []
    result = await wait_for_order(resumer, receiver, order_id=order.id, on_status=seen.append)
    assert result.status is OrderStatus.COMPLETE
    assert result.source is ResultSource.CALLBACK
    assert result.customer_order_id == order.customer_order_id  # read from GET /orders/{id}
    assert result.completed_numbers == ("5402278098",)
    assert result.details is not None
    assert [u.status for u in seen] == [OrderStatus.RECEIVED]
    assert bandwidth_emulator.order_count == 1


async def test_an_early_callback_waits_for_the_resumed_wait(
    placer: NumbersClient, resumer: NumbersClient, receiver: CallbackReceiver
) -> None:
    """A callback that came before the wait resumed is claimed from the unclaimed buffer."""
    order = await placer.create_order(site_id="743", numbers=["5402278098"])
    assert order.id is not None
    assert order.customer_order_id is not None

    def arrived() -> bool:
        return receiver.waiters.unclaimed_count == 1

    async with asyncio.timeout(5):
        while not arrived():  # noqa: ASYNC110 - the buffer has no event to wait on
            await asyncio.sleep(0.01)
    result = await wait_for_order(
        resumer,
        receiver,
        order_id=order.id,
        customer_order_id=order.customer_order_id,
        polling=PollPolicy(first_poll=30),  # only the buffered callback can finish it
        timeout=5,
    )
    assert result.source is ResultSource.CALLBACK
    assert receiver.waiters.unclaimed_count == 0


async def test_polling_alone_finishes_the_wait(
    placer: NumbersClient, resumer: NumbersClient
) -> None:
    """waiters=None: nothing listens for callbacks, the poller finishes the wait."""
    order = await placer.create_order(site_id="743", numbers=["5402278098"])
    assert order.id is not None
    result = await wait_for_order(
        resumer,
        None,
        order_id=order.id,
        customer_order_id=order.customer_order_id,
        polling=FAST,
    )
    assert result.status is OrderStatus.COMPLETE
    assert result.source is ResultSource.POLL


async def test_a_final_order_returns_at_once(
    placer: NumbersClient, resumer: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Without a customer order id, the first GET finds the order done: no wait at all."""
    order = await placer.create_order(site_id="743", numbers=["5402278098"])
    assert order.id is not None
    await bandwidth_emulator.settle()
    result = await wait_for_order(
        resumer, OrderWaiters(), order_id=order.id, polling=PollPolicy(first_poll=30), timeout=5
    )
    assert result.status is OrderStatus.COMPLETE
    assert result.source is ResultSource.POLL
    assert result.customer_order_id == order.customer_order_id


async def test_a_failed_order_raises(
    placer: NumbersClient,
    resumer: NumbersClient,
    receiver: CallbackReceiver,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """FAILED raises OrderFailedError with Bandwidth's codes, as order_and_wait does."""
    bandwidth_emulator.take("5402278098")
    order = await placer.create_order(site_id="743", numbers=["5402278098"])
    assert order.id is not None
    with pytest.raises(OrderFailedError) as info:
        await wait_for_order(resumer, receiver, order_id=order.id)
    assert info.value.codes == (5005,)


async def test_timeout_names_the_order(
    placer: NumbersClient,
    resumer: NumbersClient,
    receiver: CallbackReceiver,
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """timeout= raises OrderTimeoutError with the order id; the order lives on."""
    bandwidth_emulator.order_delay = 30
    order = await placer.create_order(site_id="743", numbers=["5402278098"])
    assert order.id is not None
    with pytest.raises(OrderTimeoutError) as info:
        await wait_for_order(resumer, receiver, order_id=order.id, timeout=0.3, polling=FAST)
    assert info.value.order_id == order.id
    assert info.value.last_status == "RECEIVED"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"order_id": ""},
        {"order_id": "o-1", "customer_order_id": ""},
        {"order_id": "o-1", "timeout": 0},
    ],
)
async def test_bad_arguments_send_nothing(
    resumer: NumbersClient, bandwidth_emulator: BandwidthEmulator, kwargs: dict[str, object]
) -> None:
    waiters = OrderWaiters()
    with pytest.raises(ValidationError):
        await wait_for_order(resumer, waiters, **kwargs)  # type: ignore[arg-type]
    assert len(waiters) == 0


async def test_order_and_wait_polls_alone_without_a_receiver(
    placer: NumbersClient, caplog: pytest.LogCaptureFixture
) -> None:
    """order_and_wait(client, None): no receiver, no warning about one; polling finishes."""
    result = await order_and_wait(placer, None, site_id="743", numbers=["5402278098"], polling=FAST)
    assert result.source is ResultSource.POLL
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# ---------------------------------------------------------------- find_order


async def test_find_order_finds_the_order_by_its_customer_order_id(
    placer: NumbersClient, resumer: NumbersClient
) -> None:
    """The order placed with a customer order id, as GET /orders/{id} describes it."""
    order = await placer.create_order(site_id="743", numbers=["5402278098"], name="found")
    assert order.customer_order_id is not None
    found = await resumer.find_order(order.customer_order_id)
    assert found is not None
    assert (found.id, found.customer_order_id, found.name) == (
        order.id,
        order.customer_order_id,
        "found",
    )
    assert found.status is not None


async def test_find_order_finds_nothing(resumer: NumbersClient) -> None:
    assert await resumer.find_order("3f1e7e0c-5b0a-4c55-9d7c-9a1b2c3d4e5f") is None


async def test_find_order_refuses_to_choose(
    placer: NumbersClient, resumer: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Two orders share a customer order id: AmbiguousOrderError names both."""
    first = await placer.create_order(
        site_id="743", numbers=["5402278098"], customer_order_id="twice-used"
    )
    second = await placer.create_order(
        site_id="743", numbers=["5402278099"], customer_order_id="twice-used"
    )
    with pytest.raises(AmbiguousOrderError) as info:
        await resumer.find_order("twice-used")
    assert info.value.customer_order_id == "twice-used"
    assert f"{first.id}" in str(info.value)
    assert f"{second.id}" in str(info.value)


async def test_find_order_refuses_an_empty_id(resumer: NumbersClient) -> None:
    with pytest.raises(ValidationError):
        await resumer.find_order("")


async def test_find_order_ignores_rows_without_the_id(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """A row that does not carry the customer order id asked for is not that order."""
    rows = (
        "<ResponseSelectWrapper><ListOrderIdUserIdDate><TotalCount>2</TotalCount>"
        "<OrderIdUserIdDate><orderId>no-id</orderId><OrderStatus>COMPLETE</OrderStatus>"
        "</OrderIdUserIdDate><OrderIdUserIdDate><CustomerOrderId>other</CustomerOrderId>"
        "<orderId>other-id</orderId></OrderIdUserIdDate>"
        "</ListOrderIdUserIdDate></ResponseSelectWrapper>"
    )
    fake_http.get(f"{ROOT}/orders?customerOrderId=mine&page=1&size=1000", body=rows)
    assert await client.find_order("mine") is None
