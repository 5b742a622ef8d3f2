"""Disconnects and per-type subscriptions against the real BandwidthEmulator, on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Literal

import pytest

from bwnumbers import (
    DisconnectDetails,
    DisconnectMode,
    DisconnectRequest,
    NumbersClient,
    OrderStatus,
)
from bwnumbers.testing import BandwidthEmulator


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


async def in_service(client: NumbersClient, emulator: BandwidthEmulator, count: int) -> list[str]:
    """*count* numbers ordered onto the account, once their order is COMPLETE."""
    numbers = list(
        (await client.search_available_numbers(npa_nxx="540551", quantity=count)).numbers
    )
    order = await client.create_order(site_id=emulator.site_id, numbers=numbers)
    assert order.id is not None
    async with asyncio.timeout(10):
        while True:
            details = await client.get_order(order.id)
            if details.status.is_final:
                assert details.status is OrderStatus.COMPLETE
                return numbers
            await asyncio.sleep(0.02)


async def finished(client: NumbersClient, disconnect_id: str) -> DisconnectDetails:
    """GET /disconnects/{id} until the disconnect is final."""
    async with asyncio.timeout(10):
        while True:
            details = await client.get_disconnect(disconnect_id)
            if details.status.is_final:
                return details
            await asyncio.sleep(0.02)


async def test_disconnect_then_get_until_complete(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Numbers in service are disconnected: COMPLETE, listed, found again by their numbers."""
    numbers = await in_service(client, bandwidth_emulator, 2)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    order = await client.disconnect_numbers(
        numbers, customer_order_id="release 1", disconnect_mode=DisconnectMode.NORMAL
    )
    assert order.id is not None
    assert order.status is OrderStatus.RECEIVED
    assert (order.customer_order_id, set(order.numbers)) == ("release 1", set(numbers))
    details = await finished(client, order.id)
    assert details.status is OrderStatus.COMPLETE
    assert set(details.disconnected_numbers) == set(numbers)
    assert (details.failed_numbers, details.errors) == ((), ())
    assert details.customer_order_id == "release 1"
    listed = [row async for row in client.list_disconnects(page_size=1)]
    assert [(row.id, row.status, row.count_of_numbers) for row in listed] == [
        (order.id, OrderStatus.COMPLETE, 2)
    ]
    request = DisconnectRequest.build(numbers, customer_order_id="release 1")
    found = await client.find_disconnect(request, since=since)
    assert found is not None
    assert (found.id, found.status) == (order.id, OrderStatus.COMPLETE)
    other = DisconnectRequest.build(numbers, customer_order_id="someone else")
    assert await client.find_disconnect(other, since=since) is None


async def test_numbers_not_on_the_account_fail_with_5006_each(
    client: NumbersClient,
) -> None:
    """Numbers the account does not have: FAILED, one 5006 per number, naming it."""
    numbers = list((await client.search_available_numbers(npa_nxx="919439", quantity=2)).numbers)
    order = await client.disconnect_numbers(numbers)
    assert order.id is not None
    details = await finished(client, order.id)
    assert details.status is OrderStatus.FAILED
    assert details.disconnected_numbers == ()
    assert set(details.failed_numbers) == set(numbers)
    assert sorted((e.code, e.number) for e in details.errors) == sorted((5006, n) for n in numbers)


@pytest.mark.parametrize("failure", ["500", "disconnect", "truncate"])
async def test_a_disconnect_that_commits_then_fails_is_adopted_once(
    client: NumbersClient,
    bandwidth_emulator: BandwidthEmulator,
    failure: Literal["500", "disconnect", "truncate"],
) -> None:
    """The emulator commits the disconnect, then fails its answer: one disconnect, adopted."""
    numbers = await in_service(client, bandwidth_emulator, 1)
    bandwidth_emulator.faults.fail_next_disconnect = failure
    order = await client.disconnect_numbers(numbers, customer_order_id="after-a-fault")
    assert order.id is not None
    assert bandwidth_emulator.disconnect_count == 1
    assert order.customer_order_id == "after-a-fault"
    assert (await finished(client, order.id)).status is OrderStatus.COMPLETE


async def test_ensure_subscriptions_creates_then_reuses_one_per_type(
    client: NumbersClient,
) -> None:
    """One orders and one disconnects subscription for the URL, created once, then reused."""
    url = "https://me.test/bandwidth"
    created = await client.ensure_subscriptions(url)
    assert [(s.order_type, s.url) for s in created] == [("orders", url), ("disconnects", url)]
    again = await client.ensure_subscriptions(url)
    assert [s.id for s in again] == [s.id for s in created]
    listed = await client.list_subscriptions()
    assert sorted((s.order_type, s.url) for s in listed) == [("disconnects", url), ("orders", url)]
