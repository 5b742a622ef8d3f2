"""Several instances on one Redis: a callback on the wrong instance, and orders per second.

1. **Wrong-instance latency.** Two instances, A and B, each a ``RedisStore`` (one Redis), a
   client given that store and a ``CallbackReceiver`` on it. Only A orders; the emulator's
   subscription points at a load balancer that sends every callback to B, so every order is
   waited for on A while its callback lands on B. Timed: from the moment the load balancer
   forwards an order's final notification to B (``time.perf_counter()``, before B has read a
   byte) until A's ``order_and_wait`` returns. That covers B's receiver, the Lua ROUTE, the
   XADD to A's inbox, A's XREAD, A's waiter, A's FINISH and, with ``confirm=True`` (the
   default), A's confirming ``GET /orders/{id}``. Both modes are measured. The orders go one
   at a time, so each callback meets idle instances (A, B, the load balancer and the emulator
   share this process and its core; separate replicas would not queue behind each other);
   the same with ten orders at a time, whose callbacks arrive together, is reported too. A's
   first poll is at 3 s, so a poll cannot win. The reference, in the same run: the same pair
   on ``MemoryStore`` (a service of several instances before ``RedisStore``): B keeps the
   callback to itself and only A's polling (default policy, first poll at 3 s) finishes it.
2. **Throughput.** N orders (explicit numbers: the emulator's search would swamp the run) over
   three in-process instances on ``RedisStore`` behind a load balancer that sends each callback
   to a random instance, against the same N over one instance on ``MemoryStore`` behind the
   same load balancer with one target; at most 100 orders in flight in both arms (one
   semaphore shared by the three instances), the default confirming mode, the same emulator
   in its own process, alternating rounds; the median of the per-round ratios counts. Both
   arms run in this one process and share its core (the instances, the load balancer and the
   clients): three instances cost more CPU per order than one, and that is what is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import bwnumbers
from bwnumbers.testing import BandwidthEmulator

from ._balancer import Balancer
from ._emulator_process import STOCK, EmulatorProcess, emulator_process
from ._redis_server import RedisProcess, missing, redis_server
from .burst import percentile

GOAL_P50_MS = 5.0
GOAL_RATIO = 0.8
CONCURRENCY = 100
WAVE = 10


def _summary(latencies: list[float], sources: Counter[str]) -> dict[str, Any]:
    return {
        "orders": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "learned_by": dict(sources),
    }


async def _pair_latency(
    emulator: BandwidthEmulator,
    stores: Sequence[Any],
    numbers: list[str],
    wave: int,
    **options: Any,
) -> dict[str, Any]:
    """Order *numbers* on A (``stores[0]``), every callback to B; time callback -> return."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(emulator.client(store=s)) for s in stores]
        receivers = [
            await stack.enter_async_context(bwnumbers.CallbackReceiver(store=s)) for s in stores
        ]
        balancer = await stack.enter_async_context(
            Balancer([receivers[1].url], pick=lambda targets: targets[0])
        )
        subscription = await clients[0].create_subscription(balancer.url)
        for client in clients:
            await client.authenticate()  # tokens before the timing

        async def one(number: str) -> tuple[float, str]:
            result = await bwnumbers.order_and_wait(
                clients[0], receivers[0], site_id=emulator.site_id, numbers=[number], **options
            )
            returned = time.perf_counter()
            return returned - balancer.final_sent[result.order_id], result.source.name

        outcomes: list[tuple[float, str]] = []
        for start in range(0, len(numbers), wave):
            outcomes += await asyncio.gather(*(one(n) for n in numbers[start : start + wave]))
        await clients[0].delete_subscription(subscription.id)
    return _summary([delay for delay, _ in outcomes], Counter(source for _, source in outcomes))


async def _latency(url: str, quick: bool) -> dict[str, Any]:
    from bwnumbers.redis import RedisStore

    count, polled = (100, 10) if quick else (1000, 50)
    numbers = [f"646555{i:04d}" for i in range(3 * count)]
    stock = iter(numbers)

    def take(n: int) -> list[str]:
        return [next(stock) for _ in range(n)]

    # A short processing delay: the orders go one at a time, and 1,000 of them must stay quick.
    async with BandwidthEmulator(order_delay=0.01) as emulator:
        emulator.add_numbers(numbers)
        async with RedisStore(url, instance_id="a") as a, RedisStore(url, instance_id="b") as b:
            await _pair_latency(emulator, (a, b), take(WAVE), WAVE)  # scripts, pools, tokens
            results = {
                "redis_confirmed": await _pair_latency(emulator, (a, b), take(count), 1),
                "redis_confirm_false": await _pair_latency(
                    emulator, (a, b), take(count), 1, confirm=False
                ),
                "redis_confirmed_waves_of_10": await _pair_latency(
                    emulator, (a, b), take(count // 5), WAVE
                ),
            }
        # All at once: each waits ~3 s for its first poll, which is what is measured.
        memory = (bwnumbers.MemoryStore(), bwnumbers.MemoryStore())
        results["memory_polling"] = await _pair_latency(emulator, memory, take(polled), polled)
    return results


async def _arm(
    emulator: EmulatorProcess,
    redis: RedisProcess,
    numbers: list[str],
    stores: Sequence[Any],
    seed: int,
) -> dict[str, Any]:
    """*numbers* ordered over one instance per store, callbacks to random instances."""
    site_id = emulator.settings["site_id"]
    pick = random.Random(seed).choice
    async with contextlib.AsyncExitStack() as stack:
        for store in stores:
            await stack.enter_async_context(store)
        clients = [await stack.enter_async_context(emulator.client(store=s)) for s in stores]
        receivers = [
            await stack.enter_async_context(bwnumbers.CallbackReceiver(store=s)) for s in stores
        ]
        balancer = await stack.enter_async_context(Balancer([r.url for r in receivers], pick))
        subscription = await clients[0].create_subscription(balancer.url)
        for client in clients:
            await client.authenticate()
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> bwnumbers.OrderResult:
            k = i % len(stores)
            async with gate:
                return await bwnumbers.order_and_wait(
                    clients[k], receivers[k], site_id=site_id, numbers=[numbers[i]]
                )

        cpu = (time.process_time(), emulator.cpu_seconds(), redis.cpu_seconds())
        started = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(len(numbers))))
        wall = time.perf_counter() - started
        spent = (time.process_time(), emulator.cpu_seconds(), redis.cpu_seconds())
        await clients[0].delete_subscription(subscription.id)
    completed = sum(r.completed_numbers == (n,) for r, n in zip(results, numbers, strict=True))
    run = {
        "instances": len(stores),
        "orders": len(numbers),
        "completed": completed,
        "orders_per_s": round(len(numbers) / wall, 1),
        "wall_s": round(wall, 3),
        "learned_by": dict(Counter(r.source.name for r in results)),
        # Where the time goes: CPU ms per order of this process (instances, load balancer,
        # clients), of the emulator's and of redis-server's.
        "cpu_ms_per_order": {
            name: round((after - before) * 1000 / len(numbers), 3)
            for name, before, after in zip(
                ("instances", "emulator", "redis"), cpu, spent, strict=True
            )
        },
    }
    if hasattr(stores[0], "bus"):  # RedisStore: how the callbacks travelled
        routed = sum((s.bus.stats for s in stores), Counter[str]())
        run["bus"] = {k: routed[k] for k in ("routed", "parked", "received") if k in routed}
        run["finished_once"] = sum(s.finished_here for s in stores)
    return run


async def _throughput(redis: RedisProcess, quick: bool) -> dict[str, Any]:
    from bwnumbers.redis import RedisStore

    count, rounds = (100, 1) if quick else (1000, 3)
    batches = iter([STOCK[i : i + count] for i in range(0, len(STOCK), count)])
    runs: dict[str, list[dict[str, Any]]] = {"memory": [], "redis": []}
    with emulator_process() as emulator:
        await _arm(emulator, redis, next(batches), [bwnumbers.MemoryStore()], seed=0)  # warm up
        for r in range(rounds):
            memory = await _arm(emulator, redis, next(batches), [bwnumbers.MemoryStore()], r)
            runs["memory"].append(memory)
            stores = [RedisStore(redis.url, instance_id=f"r{r}i{k}") for k in range(3)]
            runs["redis"].append(await _arm(emulator, redis, next(batches), stores, r))
    ratios = sorted(
        redis["orders_per_s"] / memory["orders_per_s"]
        for redis, memory in zip(runs["redis"], runs["memory"], strict=True)
    )

    def median_run(kind: str) -> dict[str, Any]:
        return sorted(runs[kind], key=lambda run: run["orders_per_s"])[rounds // 2]

    return {
        "n": count,
        "rounds": rounds,
        "concurrency": CONCURRENCY,
        "redis": median_run("redis"),
        "memory": median_run("memory"),
        "ratio": round(ratios[len(ratios) // 2], 3),
        "ratios": [round(ratio, 3) for ratio in ratios],
        "goal_ratio": GOAL_RATIO,
        "lost": sum(run["orders"] - run["completed"] for kind in runs.values() for run in kind),
    }


async def bench_instances(*, quick: bool) -> dict[str, Any]:
    """Wrong-instance callback latency (p50/p99) and the 3-instance throughput ratio."""
    why = missing()
    if why is not None:
        return {"skipped": why}
    async with redis_server() as redis:
        latency = await _latency(redis.url, quick)
        throughput = await _throughput(redis, quick)
    return {
        "latency": latency,
        "goal_p50_ms": GOAL_P50_MS,
        "throughput": throughput,
        # Other work on the machine moves these numbers: the load it had when they were taken.
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(asyncio.run(bench_instances(quick="--quick" in sys.argv)), indent=1))
