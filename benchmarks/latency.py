"""Callback against polling: from the emulator finishing an order to order_and_wait returning."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import bwnumbers
from bwnumbers.testing import BandwidthEmulator

from .burst import percentile


async def _latencies(
    emulator: BandwidthEmulator,
    client: bwnumbers.NumbersClient,
    receiver: bwnumbers.CallbackReceiver,
    numbers: list[str],
    **options: Any,
) -> tuple[list[float], set[str]]:
    async def one(number: str) -> tuple[float, str]:
        result = await bwnumbers.order_and_wait(
            client, receiver, site_id=emulator.site_id, numbers=[number], **options
        )
        returned = time.time()
        finished = emulator.finished_at(result.order_id)
        assert finished is not None
        return returned - finished, str(result.source)

    # Waves of ten keep the queueing of a burst (measured by the burst benchmark) out of it.
    outcomes = []
    for wave in range(0, len(numbers), 10):
        outcomes += await asyncio.gather(*(one(n) for n in numbers[wave : wave + 10]))
    return [delay for delay, _ in outcomes], {source for _, source in outcomes}


def _summary(latencies: list[float], sources: set[str]) -> dict[str, Any]:
    return {
        "orders": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "learned_by": sorted(sources),
    }


async def bench_latency(*, quick: bool) -> dict[str, Any]:
    """p50/p99 of the delay after Bandwidth finished, by callback and by polling."""
    count = 20 if quick else 100
    stock = [f"646555{i:04d}" for i in range(4 * count)]
    batches = [stock[i : i + count] for i in range(0, len(stock), count)]
    # In quick runs the first poll comes sooner, so the smoke run stays short.
    polling = bwnumbers.PollPolicy(first_poll=0.3) if quick else bwnumbers.PollPolicy()
    async with (
        BandwidthEmulator(order_delay=0.01) as emulator,
        emulator.client() as client,
        bwnumbers.CallbackReceiver(username="cb", password="bench-callback-password") as receiver,
    ):
        emulator.add_numbers(stock)
        await client.ensure_subscription(
            receiver.url, username="cb", password="bench-callback-password"
        )
        confirmed = _summary(*await _latencies(emulator, client, receiver, batches[0]))
        trusted = _summary(*await _latencies(emulator, client, receiver, batches[1], confirm=False))
        emulator.faults.drop_callbacks = 1.0
        polled = _summary(
            *await _latencies(emulator, client, receiver, batches[2], polling=polling)
        )
    return {
        "callback_confirmed": confirmed,
        "callback_confirm_false": trusted,
        "polling": polled,
        "poll_policy": {"first_poll_s": polling.first_poll, "interval_s": polling.interval},
    }
