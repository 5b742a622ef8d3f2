"""A pytest integration test of your own code, using the ``bandwidth_emulator`` fixture.

Shows: the fixture that installing bwnumbers registers, fault knobs (a number taken by
"another customer"), and asserting on the outcome. Run it with
``pytest examples/test_with_emulator.py`` (needs pytest-asyncio with asyncio_mode=auto, or mark
the tests with ``@pytest.mark.asyncio``). No environment variables.
"""

from __future__ import annotations

import pytest

import bwnumbers
from bwnumbers.testing import BandwidthEmulator


async def give_number(client: bwnumbers.NumbersClient, receiver: bwnumbers.CallbackReceiver,
                      site_id: str, area_code: str) -> str:  # fmt: skip
    """Your application code: the first available number in *area_code*, or another."""
    for _ in range(3):
        found = await client.search_available_numbers(area_code=area_code, quantity=1)
        try:
            result = await bwnumbers.order_and_wait(
                client, receiver, site_id=site_id, numbers=found.numbers
            )
        except bwnumbers.OrderFailedError:
            continue
        return result.completed_numbers[0]
    raise LookupError("no number")


@pytest.mark.asyncio
async def test_gives_a_number(bandwidth_emulator: BandwidthEmulator) -> None:
    """A customer gets a number in the area code they asked for."""
    async with bandwidth_emulator.client() as client, bwnumbers.CallbackReceiver() as receiver:
        await client.ensure_subscription(receiver.url)
        number = await give_number(client, receiver, bandwidth_emulator.site_id, "919")
    assert number.startswith("919")


@pytest.mark.asyncio
async def test_retries_when_the_number_is_taken(bandwidth_emulator: BandwidthEmulator) -> None:
    """If someone else takes the number first, the code orders another one."""
    async with bandwidth_emulator.client() as client, bwnumbers.CallbackReceiver() as receiver:
        await client.ensure_subscription(receiver.url)
        first = (await client.search_available_numbers(area_code="919", quantity=1)).numbers[0]
        bandwidth_emulator.take(first)
        number = await give_number(client, receiver, bandwidth_emulator.site_id, "919")
    assert number != first
