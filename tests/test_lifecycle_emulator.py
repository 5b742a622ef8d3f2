"""Reservations and what the account owns, end to end: the real emulator over loopback.

The bot's flow (reserve, read, order with the reservation, see the number in service), a
number another account holds, a reservation that expires, an order that leaves out its
reservation id (5005, the emulator's assumption), and recovery resubmitting the ids.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

import bwnumbers
from bwnumbers import (
    CallbackReceiver,
    MemoryStore,
    NumbersClient,
    NumberStatus,
    NumberUnavailableError,
    OrderFailedError,
    OrderRequest,
    OrderStatus,
    PollPolicy,
    ReservationNotFoundError,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator
from tests.journaling import RequestLog, dead_intent

FAST = PollPolicy(first_poll=0.1, interval=0.1, max_interval=0.3)


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


@pytest.fixture
async def receiver(client: NumbersClient) -> AsyncIterator[CallbackReceiver]:
    async with CallbackReceiver() as started:
        await client.ensure_subscription(started.url)
        yield started


async def test_reserve_read_order_with_it_then_the_number_is_in_service(
    client: NumbersClient, receiver: CallbackReceiver, bandwidth_emulator: BandwidthEmulator
) -> None:
    offered = bandwidth_emulator.add_numbers(["9195550181", "9195550182"])
    held = [await client.reserve_number(number) for number in offered]
    assert [r.number for r in held] == offered
    for reservation in held:
        assert reservation.seconds_left is not None
        assert 0 < reservation.seconds_left <= 4 * 3600
        assert reservation.expires_at is not None
    chosen, other = held
    again = await client.get_reservation(chosen.id)
    assert (again.id, again.number) == (chosen.id, chosen.number)
    assert (await client.get_number(chosen.number)).status is NumberStatus.RESERVED

    result = await order_and_wait(
        client,
        receiver,
        site_id="743",
        numbers=[chosen.number],
        reservation_ids=[chosen.id],
        timeout=10,
        polling=FAST,
    )
    assert result.status is OrderStatus.COMPLETE
    await client.release_reservation(other.id)

    in_service = [number async for number in client.list_in_service_numbers()]
    assert chosen.number in in_service
    assert other.number not in in_service
    info = await client.get_number(chosen.number)
    assert info.status is NumberStatus.INSERVICE
    assert info.order_id == result.order_id
    assert info.site_id == "743"
    assert await client.get_order_numbers(result.order_id) == (chosen.number,)
    with pytest.raises(ReservationNotFoundError):
        await client.get_reservation(other.id)  # released


async def test_a_number_another_account_reserved_is_unavailable(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    (number,) = bandwidth_emulator.add_numbers(["9195550183"])
    elsewhere = bandwidth_emulator.reserve_elsewhere(number)
    with pytest.raises(NumberUnavailableError) as info:
        await client.reserve_number(number)
    assert info.value.code == 5041
    assert "pick another number" in str(info.value)
    with pytest.raises(ReservationNotFoundError):  # another account's reservation id
        await client.get_reservation(elsewhere)


async def test_an_expired_reservation_is_not_found() -> None:
    lifetime = 0.3
    async with BandwidthEmulator(reservation_lifetime=lifetime) as emulator:
        (number,) = emulator.add_numbers(["9195550184"])
        async with emulator.client() as client:
            reservation = await client.reserve_number(number)

            async def held() -> bool:
                try:
                    await client.get_reservation(reservation.id)
                except ReservationNotFoundError:
                    return False
                return True

            deadline = time.monotonic() + lifetime + 5
            while await held():
                assert time.monotonic() < deadline, "the reservation never expired"
                await asyncio.sleep(0.05)
            with pytest.raises(ReservationNotFoundError, match="expired"):
                await client.get_reservation(reservation.id)
            # Expired, the number can be reserved again.
            assert (await client.reserve_number(number)).number == number


async def test_ordering_a_reserved_number_without_its_reservation_id_fails_with_5005(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    (number,) = bandwidth_emulator.add_numbers(["9195550185"])
    await client.reserve_number(number)
    with pytest.raises(OrderFailedError) as info:
        await order_and_wait(
            client, None, site_id="743", numbers=[number], timeout=10, polling=FAST
        )
    assert 5005 in info.value.codes


async def test_recover_resubmits_the_reservation_ids(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A process died before its POST: resubmitting sends the reservation id, or it fails."""
    (number,) = bandwidth_emulator.add_numbers(["9195550186"])
    reservation = await client.reserve_number(number)
    store = MemoryStore()
    request = OrderRequest.build(
        site_id="743",
        numbers=[number],
        customer_order_id="lost-reserved-1",
        reservation_ids=[reservation.id],
    )
    await store.begin(dead_intent(request, created_at=time.time() - 120))
    (pending,) = await bwnumbers.recover(client, None, store=store, resubmit=True)
    result = await pending.wait(timeout=10, polling=FAST)
    assert result.status is OrderStatus.COMPLETE
    assert result.completed_numbers == (number,)


async def test_in_service_paging_against_the_emulator(
    counted: tuple[NumbersClient, RequestLog], bandwidth_emulator: BandwidthEmulator
) -> None:
    """Five numbers in pages of two: three pages or more, each number once."""
    client, requests = counted
    numbers = bandwidth_emulator.add_numbers([f"919555019{i}" for i in range(5)])
    await order_and_wait(client, None, site_id="743", numbers=numbers, timeout=10, polling=FAST)
    requests.clear()
    listed = [n async for n in client.list_in_service_numbers(page_size=2)]
    assert len(listed) == len(set(listed))
    assert set(numbers) <= set(listed)
    pages = [path for method, path in requests.sent if path.endswith("/inserviceNumbers")]
    assert len(pages) >= 3
    by_area = [n async for n in client.list_in_service_numbers(area_code="919", page_size=2)]
    assert set(numbers) <= set(by_area)
    assert all(n.startswith("919") for n in by_area)
