"""The emulator answers below ``/api/v1``, the server URL of Bandwidth's specification, as below
``/api``: the same routes, the same state, the same rate limits, ``Location`` on the root used."""

from __future__ import annotations

import pytest

import bwnumbers
from bwnumbers import CallbackReceiver
from bwnumbers.testing import BandwidthEmulator, RateLimit
from bwnumbers.testing._ratelimit import group_of


async def test_a_client_below_api_v1_orders_and_waits_by_callback() -> None:
    async with BandwidthEmulator() as bandwidth:
        v1 = bandwidth.base_url + "/v1"
        async with (
            bandwidth.client(base_url=v1) as client,
            CallbackReceiver() as receiver,
        ):
            await client.ensure_subscription(receiver.url)
            found = await client.search_available_numbers(area_code="540", quantity=1)
            result = await bwnumbers.order_and_wait(
                client, receiver, site_id="743", numbers=list(found.numbers), timeout=10
            )
            assert result.status == bwnumbers.OrderStatus.COMPLETE
            assert result.source == "callback"
            number = found.numbers[0]
            # The same state below both roots: what /api/v1 ordered, /api reads.
            async with bandwidth.client() as plain:
                assert (await plain.get_order(result.order_id)).status == result.status
                assert (await plain.get_number(number)).number == number
            assert (await client.get_number(number)).number == number
            reservation = await client.reserve_number(
                (await client.search_available_numbers(area_code="540", quantity=1)).numbers[0]
            )
            assert (await client.get_reservation(reservation.id)).id == reservation.id


async def test_locations_name_the_root_the_request_used() -> None:
    async with BandwidthEmulator() as bandwidth:
        for root in (bandwidth.base_url, bandwidth.base_url + "/v1"):
            async with bandwidth.client(base_url=root) as client:
                raw = await client._request(
                    "POST",
                    "/subscriptions",
                    body=(
                        b"<Subscription><OrderType>orders</OrderType><CallbackSubscription>"
                        b"<URL>http://127.0.0.1:9/" + root[-2:].encode() + b"</URL>"
                        b"</CallbackSubscription></Subscription>"
                    ),
                    idempotent=False,
                )
                location = raw.headers["Location"]
                assert location.startswith(f"{root}/accounts/{bandwidth.account_id}/subscriptions/")


async def test_both_roots_share_one_rate_limit() -> None:
    once = bwnumbers.RetryPolicy(attempts=1, rate_limit_budget=0.001)
    async with BandwidthEmulator(
        rate_limits={"SEARCH": RateLimit(per_window=1, window=60)}
    ) as bandwidth:
        async with (
            bandwidth.client(retry=once) as plain,
            bandwidth.client(base_url=bandwidth.base_url + "/v1", retry=once) as v1,
        ):
            await plain.search_available_numbers(area_code="540", quantity=1)
            with pytest.raises(bwnumbers.RateLimitError):
                await v1.search_available_numbers(area_code="540", quantity=1)
        counts = bandwidth.rate_limit_counts["SEARCH"]
        assert (counts.accepted, counts.refused) == (1, 1)


def test_group_of_maps_the_spec_root_onto_the_same_group() -> None:
    assert group_of("POST", "/api/v1/accounts/{account_id}/orders") == "ORDER"
    assert group_of("POST", "/api/accounts/{account_id}/orders") == "ORDER"
    assert group_of("GET", "/api/v1/accounts/{account_id}/orders/{id}") is None
