"""Burst ordering: N concurrent order_and_wait calls against a minimal hand-written flow.

Both run against the same emulator (in its own process) in the same run, and both authenticate
as users will once Bandwidth retires API users: OAuth 2.0 client credentials, one token fetched
before the timing starts, then ``Authorization: Bearer``. The reference does the least that
works when nothing goes wrong: a raw aiohttp POST of the order XML and a bare callback handler
that resolves a dict of futures. No validation, retries, reconciliation, polling or
confirmation.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import bwnumbers

from ._emulator_process import STOCK, EmulatorProcess, emulator_process
from ._reference import ORDER, reference_flow


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _measure(
    emulator: EmulatorProcess, count: int, one: Callable[[int], Awaitable[bool]]
) -> dict[str, Any]:
    latencies: list[float] = []
    outcomes: list[bool] = []

    async def timed(i: int) -> None:
        started = time.perf_counter()
        outcomes.append(await one(i))
        latencies.append(time.perf_counter() - started)

    cpu_before = emulator.cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(timed(i) for i in range(count)))
    wall = time.perf_counter() - started
    return {
        "orders": count,
        "completed": sum(outcomes),
        "orders_per_s": round(count / wall, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "wall_s": round(wall, 3),
        "emulator_cpu_share": round((emulator.cpu_seconds() - cpu_before) / wall, 2),
    }


async def _bwnumbers_run(
    emulator: EmulatorProcess, numbers: list[str], *, confirm: bool
) -> dict[str, Any]:
    s = emulator.settings
    async with (
        emulator.client() as client,
        bwnumbers.CallbackReceiver(username="cb", password="bench-callback-password") as receiver,
    ):
        # Creating the subscription also obtains the access token, before the timing starts.
        subscription = await client.create_subscription(
            receiver.url, username="cb", password="bench-callback-password"
        )

        async def one(i: int) -> bool:
            result = await bwnumbers.order_and_wait(
                client, receiver, site_id=s["site_id"], numbers=[numbers[i]], confirm=confirm
            )
            return result.completed_numbers == (numbers[i],)

        try:
            measured = await _measure(emulator, len(numbers), one)
        finally:
            await client.delete_subscription(subscription.id)
        measured["waiting_after"] = len(receiver.waiters)
        return measured


async def _reference_run(emulator: EmulatorProcess, numbers: list[str]) -> dict[str, Any]:
    async with reference_flow(emulator) as flow:

        async def one(i: int) -> bool:
            cid = str(uuid.uuid4())
            future = flow.futures[cid] = asyncio.get_running_loop().create_future()
            order = ORDER.format(cid=cid, number=numbers[i], site=flow.site_id)
            try:
                async with flow.http.post(
                    f"{flow.root}/orders", data=order, headers=flow.headers
                ) as response:
                    await response.read()
                return await future == "COMPLETE"
            finally:
                del flow.futures[cid]

        return await _measure(emulator, len(numbers), one)


async def bench_burst(*, quick: bool) -> dict[str, Any]:
    """orders/s and latency of bwnumbers (confirm=False and default) against the reference.

    Rounds alternate reference and bwnumbers on the same emulator; the median round counts.
    """
    count, rounds = (200, 1) if quick else (1000, 3)
    batches = iter([STOCK[i : i + count] for i in range(0, len(STOCK), count)])
    runs: dict[str, list[dict[str, Any]]] = {"reference": [], "fast": [], "default": []}
    with emulator_process() as emulator:
        await _reference_run(emulator, next(batches))  # warm up the emulator and the loop
        for _ in range(rounds):
            runs["reference"].append(await _reference_run(emulator, next(batches)))
            runs["fast"].append(await _bwnumbers_run(emulator, next(batches), confirm=False))
            runs["default"].append(await _bwnumbers_run(emulator, next(batches), confirm=True))
        orders = emulator.order_count()

    def median_run(kind: str) -> dict[str, Any]:
        ordered = sorted(runs[kind], key=lambda run: run["orders_per_s"])
        return ordered[len(ordered) // 2]

    def ratio(kind: str) -> float:
        ratios = [
            ours["orders_per_s"] / ref["orders_per_s"]
            for ours, ref in zip(runs[kind], runs["reference"], strict=True)
        ]
        return round(sorted(ratios)[len(ratios) // 2], 3)

    completed = sum(run["completed"] for kind in runs.values() for run in kind)
    return {
        "n": count,
        "rounds": rounds,
        "reference": median_run("reference"),
        "bwnumbers_confirm_false": median_run("fast"),
        "bwnumbers_default": median_run("default"),
        "ratio_confirm_false": ratio("fast"),
        "ratio_default": ratio("default"),
        "goal_confirm_false": 0.7,
        "emulator_orders": orders,
        "lost": 3 * rounds * count - completed,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(asyncio.run(bench_burst(quick=False)), indent=1))
