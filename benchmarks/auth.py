"""OAuth 2.0 client credentials: a cold burst's token requests, and Bearer against Basic.

Both parts run against the emulator in its own process (its own core; the client has the other).

- **Cold burst.** A brand-new client-credentials client sends N concurrent first requests
  (``GET /orders/{id}``); its token cache must make exactly one token request for all of them.
  The reference is the same burst sent again by the same client, now warm (token cached,
  connections open), so the difference is what starting cold costs.
- **Bearer against Basic.** The same request mix (``GET /orders/{id}`` of a few orders from a
  few concurrent workers, each sequential) from a client-credentials client whose token was
  fetched before any timing, and from a legacy Basic client. A round alternates the two in
  short slices (ABBA order), so a neighbour on this shared machine slows both alike; each
  round gives requests/s per mode and their ratio, and the reported ratio is the median of
  the per-round ratios. The CPU each side spends per request shows where a difference comes
  from: the emulator's Bearer check (signature, claims, expiry and revocation on every
  request) is server CPU that Basic does not spend, so it is part of what is measured.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import bwnumbers

from ._emulator_process import STOCK, EmulatorProcess, emulator_process
from .burst import percentile

ORDERS = 8  # distinct orders the requests read, round robin
MODES = ("bearer", "basic")


async def _place_orders(client: bwnumbers.NumbersClient, site_id: str) -> list[str]:
    ids = []
    for number in STOCK[:ORDERS]:
        order = await client.create_order(site_id=site_id, numbers=[number])
        assert order.id is not None
        ids.append(order.id)
    return ids


async def _burst(
    client: bwnumbers.NumbersClient, order_ids: list[str], count: int
) -> dict[str, Any]:
    """*count* concurrent ``get_order`` calls; each latency from the start of the burst."""
    latencies: list[float] = []
    failures: dict[str, int] = {}
    started = time.perf_counter()

    async def one(i: int) -> None:
        try:
            await client.get_order(order_ids[i % len(order_ids)])
        except bwnumbers.BWNumbersError as error:
            failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
            return
        latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one(i) for i in range(count)))
    wall = time.perf_counter() - started
    return {
        "requests": count,
        "completed": len(latencies),
        "failures": failures,
        "wall_s": round(wall, 3),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
    }


async def _cold_bursts(
    emulator: EmulatorProcess, order_ids: list[str], *, count: int, rounds: int
) -> dict[str, Any]:
    """Each round: a new client's cold burst, then the same burst from it again, warm."""
    runs: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    for _ in range(rounds):
        async with emulator.client() as client:
            for kind in runs:
                before = emulator.token_requests()
                run = await _burst(client, order_ids, count)
                run["token_requests"] = emulator.token_requests() - before
                runs[kind].append(run)

    def median_run(kind: str) -> dict[str, Any]:
        return sorted(runs[kind], key=lambda run: run["wall_s"])[len(runs[kind]) // 2]

    return {
        "n": count,
        "rounds": rounds,
        "cold": median_run("cold"),
        "warm_reference": median_run("warm"),
        "token_requests": [run["token_requests"] for run in runs["cold"]],
        "warm_token_requests": [run["token_requests"] for run in runs["warm"]],
        "completed": [run["completed"] for run in runs["cold"]],
        "goal_token_requests": 1,
    }


async def _slice(
    emulator: EmulatorProcess,
    client: bwnumbers.NumbersClient,
    order_ids: list[str],
    *,
    requests: int,
    workers: int,
) -> tuple[int, float, float, float]:
    """(requests, wall s, client CPU s, emulator CPU s) of *requests* ``get_order`` calls."""
    per_worker = requests // workers

    async def worker(w: int) -> None:
        for i in range(per_worker):
            await client.get_order(order_ids[(w + i) % len(order_ids)])

    emulator_cpu = emulator.cpu_seconds()
    client_cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    wall = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    return per_worker * workers, wall, client_cpu, emulator.cpu_seconds() - emulator_cpu


async def _bearer_vs_basic(
    emulator: EmulatorProcess,
    order_ids: list[str],
    *,
    rounds: int,
    slices: int,
    per_slice: int,
    workers: int,
) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    before = emulator.token_requests()
    async with emulator.client() as bearer, emulator.basic_client() as basic:
        clients = {"bearer": bearer, "basic": basic}
        await bearer.authenticate()  # the token is fetched before any timing
        for client in clients.values():  # warm up: connections, caches, both processes
            await _slice(emulator, client, order_ids, requests=4 * per_slice, workers=workers)
        for _ in range(rounds):
            totals = {mode: [0.0, 0.0, 0.0, 0.0] for mode in MODES}
            for s in range(slices):
                for mode in MODES if s % 2 == 0 else MODES[::-1]:
                    measured = await _slice(
                        emulator, clients[mode], order_ids, requests=per_slice, workers=workers
                    )
                    totals[mode] = [t + m for t, m in zip(totals[mode], measured, strict=True)]
            for mode, (done, wall, client_cpu, emulator_cpu) in totals.items():
                runs[mode].append(
                    {
                        "requests": int(done),
                        "requests_per_s": round(done / wall, 1),
                        "client_cpu_us_per_request": round(client_cpu / done * 1e6, 1),
                        "emulator_cpu_us_per_request": round(emulator_cpu / done * 1e6, 1),
                        "emulator_cpu_share": round(emulator_cpu / wall, 2),
                    }
                )
    token_requests = emulator.token_requests() - before
    ratios = [
        bearer_run["requests_per_s"] / basic_run["requests_per_s"]
        for bearer_run, basic_run in zip(runs["bearer"], runs["basic"], strict=True)
    ]

    def median(mode: str, key: str) -> float:
        return round(float(statistics.median(run[key] for run in runs[mode])), 2)

    return {
        "request": "GET /orders/{id}",
        "rounds": rounds,
        "requests_per_round": runs["bearer"][0]["requests"],
        "slices_per_round": slices,
        "workers": workers,
        "bearer_rps": round(median("bearer", "requests_per_s")),
        "basic_rps": round(median("basic", "requests_per_s")),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
        "round_ratios": [round(ratio, 3) for ratio in ratios],
        "goal": 0.95,
        "client_cpu_us_per_request": {m: median(m, "client_cpu_us_per_request") for m in MODES},
        "emulator_cpu_us_per_request": {m: median(m, "emulator_cpu_us_per_request") for m in MODES},
        "emulator_cpu_share": {m: median(m, "emulator_cpu_share") for m in MODES},
        "token_requests": token_requests,
        "runs": runs,
    }


async def bench_auth(*, quick: bool) -> dict[str, Any]:
    """Token requests of cold bursts; requests/s of Bearer against Basic."""
    burst, burst_rounds = (200, 1) if quick else (1000, 5)
    rounds, slices = (3, 4) if quick else (7, 16)
    with emulator_process() as emulator:
        async with emulator.client() as setup:
            order_ids = await _place_orders(setup, emulator.settings["site_id"])
            await _burst(setup, order_ids, burst)  # warm up the emulator
        cold = await _cold_bursts(emulator, order_ids, count=burst, rounds=burst_rounds)
        compared = await _bearer_vs_basic(
            emulator, order_ids, rounds=rounds, slices=slices, per_slice=256, workers=8
        )
    return {"cold_burst": cold, "bearer_vs_basic": compared}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(asyncio.run(bench_auth(quick="--quick" in sys.argv)), indent=1))
