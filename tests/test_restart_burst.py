"""A burst of 1,000 ``order_and_wait`` calls journaled in a SQLiteStore, then read back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import bwnumbers
from bwnumbers.testing import BandwidthEmulator

BURST = 1_000


@pytest.mark.slow
async def test_burst_of_1000_with_sqlite_store(tmp_path: Path) -> None:
    """Each call gets its own number, 1 order each, and the file holds every outcome."""
    journal = tmp_path / "journal.sqlite3"
    numbers = [f"332555{i:04d}" for i in range(BURST)]
    async with (
        BandwidthEmulator(order_delay=0.0) as bandwidth,
        bandwidth.client() as client,
        bwnumbers.SQLiteStore(journal) as store,
        bwnumbers.CallbackReceiver(store=store) as receiver,
    ):
        await client.ensure_subscription(receiver.url)
        bandwidth.add_numbers(numbers)
        results = await asyncio.gather(
            *(
                bwnumbers.order_and_wait(
                    client,
                    receiver,
                    site_id=bandwidth.site_id,
                    numbers=[number],
                    metadata={"chat": i},
                )
                for i, number in enumerate(numbers)
            )
        )
        assert [result.completed_numbers for result in results] == [(n,) for n in numbers]
        assert bandwidth.order_count == BURST
        assert len(receiver.waiters) == 0
        assert await store.unfinished() == []

    # The outcomes outlive the store: a new one on the same file has each, with its metadata.
    async with bwnumbers.SQLiteStore(journal) as reopened:
        assert await reopened.unfinished() == []
        for i, result in enumerate(results):
            intent = await reopened.get(result.customer_order_id)
            assert intent is not None
            assert intent.state == bwnumbers.IntentState.FINAL
            assert intent.order_id == result.order_id
            assert intent.metadata == {"chat": i}
            assert intent.outcome is not None
            assert intent.outcome.completed_numbers == (numbers[i],)
