"""The emulator's seeded inventory: its size, its documentation, and running it dry."""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bwnumbers import NumbersClient, Search, ValidationError
from bwnumbers.testing import BandwidthEmulator
from bwnumbers.testing._inventory import TOLL_FREE_NPAS, seeded_blocks

README = (Path(__file__).parent.parent / "README.md").read_text()


def blocks(emulator: BandwidthEmulator) -> Counter[str]:
    """How many numbers each NPA-NXX block (local) or NPA (toll-free) holds."""
    return Counter(
        info.number[:3] if info.toll_free else f"{info.number[:3]}-{info.number[3:6]}"
        for info in emulator.inventory
    )


async def order_nj(client: NumbersClient, emulator: BandwidthEmulator, quantity: int) -> None:
    await client.create_order(site_id="743", search=Search(state="NJ", quantity=quantity))
    await emulator.settle()


def dry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bwnumbers.emulator" and r.levelno == logging.WARNING
    ]


def test_the_default_inventory_is_unchanged() -> None:
    """By default every block holds 20 numbers, toll-free NPAs 10, 338 numbers in all."""
    counts = blocks(BandwidthEmulator())
    assert {block: counts[block] for block in seeded_blocks() if block[:3] != "540"} == {
        block: 20 for block in seeded_blocks() if block[:3] != "540"
    }
    # 540 also holds the seven numbers of Bandwidth's ordering guide.
    assert counts["540-551"] + counts["540-227"] == 47
    assert {npa: counts[npa] for npa in TOLL_FREE_NPAS} == {
        npa: 11 if npa == "833" else 10 for npa in TOLL_FREE_NPAS
    }
    assert len(BandwidthEmulator().inventory) == 338


@pytest.mark.parametrize("size", [1, 7, 10_000])
def test_inventory_size_fills_every_block(size: int) -> None:
    """inventory_size numbers in each NPA-NXX block and half as many per toll-free NPA."""
    counts = blocks(BandwidthEmulator(inventory_size=size))
    assert {counts[block] for block in seeded_blocks() if block[:3] != "540"} == {size}
    assert {counts[npa] for npa in TOLL_FREE_NPAS if npa != "833"} == {(size + 1) // 2}


@pytest.mark.parametrize("size", [0, -5, 10_001, 2.5, True, "20", None])
def test_inventory_size_is_validated(size: Any) -> None:
    """Anything but a whole number from 1 to 10,000 is refused with what is allowed."""
    with pytest.raises(ValidationError) as refused:
        BandwidthEmulator(inventory_size=size)
    assert str(refused.value) == (
        f"inventory_size={size!r} is not allowed: give a whole number of numbers per NPA-NXX "
        "block from 1 to 10,000 (default 20)."
    )


async def test_a_small_inventory_runs_dry_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """Searches shrink to what is left, then nothing, and a WARNING says why and what to do."""
    caplog.set_level(logging.WARNING, "bwnumbers.emulator")
    async with BandwidthEmulator(inventory_size=2) as emulator, emulator.client() as client:
        assert len((await client.search_available_numbers(state="NJ", quantity=2)).numbers) == 2
        assert dry_warnings(caplog) == []
        await order_nj(client, emulator, 3)  # of the 4 numbers in NJ's two blocks
        found = await client.search_available_numbers(state="NJ", quantity=2)
        assert (found.result_count, len(found.numbers)) == (1, 1)  # what is left, as Bandwidth
        assert dry_warnings(caplog) == [
            "A search for state=NJ found 1 of 2 numbers: the emulator's inventory ran dry "
            "there (3 matching numbers were ordered or taken); give BandwidthEmulator a "
            "larger inventory_size or call add_numbers()."
        ]
        await order_nj(client, emulator, 1)
        assert (await client.search_available_numbers(state="NJ", quantity=2)).numbers == ()
        assert len(dry_warnings(caplog)) == 1  # once per criteria, not once per search


async def test_a_bigger_inventory_does_not_run_dry(caplog: pytest.LogCaptureFixture) -> None:
    """The same orders leave a bigger inventory with plenty to find, and nothing is logged."""
    caplog.set_level(logging.WARNING, "bwnumbers.emulator")
    async with BandwidthEmulator(inventory_size=50) as emulator, emulator.client() as client:
        await order_nj(client, emulator, 3)
        assert len((await client.search_available_numbers(state="NJ", quantity=2)).numbers) == 2
        await order_nj(client, emulator, 1)
        assert len((await client.search_available_numbers(state="NJ", quantity=2)).numbers) == 2
    assert dry_warnings(caplog) == []


async def test_an_order_that_runs_dry_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """An order by criteria that fails for lack of stock warns, naming the order."""
    caplog.set_level(logging.WARNING, "bwnumbers.emulator")
    async with BandwidthEmulator(inventory_size=1) as emulator, emulator.client() as client:
        await order_nj(client, emulator, 2)
        order = await client.create_order(site_id="743", search=Search(state="NJ", quantity=1))
        await emulator.settle()
        assert emulator.order_status(order.id or "") == "FAILED"
    assert dry_warnings(caplog) == [
        f"Order {order.id} for state=NJ found 0 of 1 numbers: the emulator's inventory "
        "ran dry there (2 matching numbers were ordered or taken); give BandwidthEmulator a "
        "larger inventory_size or call add_numbers()."
    ]


async def test_adding_numbers_rearms_the_warning(caplog: pytest.LogCaptureFixture) -> None:
    """After add_numbers(), running dry again is told again."""
    caplog.set_level(logging.WARNING, "bwnumbers.emulator")
    async with BandwidthEmulator(inventory_size=1) as emulator, emulator.client() as client:
        await order_nj(client, emulator, 2)
        await client.search_available_numbers(state="NJ", quantity=1)
        emulator.add_numbers(["2013450000"])
        await order_nj(client, emulator, 1)
        await client.search_available_numbers(state="NJ", quantity=1)
    assert len(dry_warnings(caplog)) == 2


async def test_a_search_for_numbers_never_seeded_is_not_called_dry(
    bandwidth_emulator: BandwidthEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing in area code 212 was ever seeded or taken, so no warning blames the stock."""
    caplog.set_level(logging.WARNING, "bwnumbers.emulator")
    bandwidth_emulator.take("5402278098")
    async with bandwidth_emulator.client() as client:
        assert (await client.search_available_numbers(area_code="212", quantity=5)).numbers == ()
    assert dry_warnings(caplog) == []


def test_the_seeded_blocks_are_documented() -> None:
    """The README's emulator section and the docstring name every seeded block."""
    section = README.split("## Testing your code with the emulator", 1)[1].split("\n## ", 1)[0]
    doc = re.sub(r"\s+", " ", BandwidthEmulator.__doc__ or "")
    for block in seeded_blocks():
        assert block in section
        assert block in doc
    assert "inventory_size" in section
