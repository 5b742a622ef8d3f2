"""A burst of orders at Bandwidth's rate limit: bwnumbers' gate against naive per-request retries.

N concurrent ``order_and_wait`` calls (1,000; 100 with ``--quick``) against an emulator limited
to R = 100 orders per second with a burst of 20 (``RateLimit(per_window=100, window=1,
burst=20)``: a fresh bucket holds 120 tokens, each whole epoch second adds 100, up to 120).
Each contender gets a fresh emulator process, so buckets (and bwnumbers' gates) start full.

- **bwnumbers**, without ``max_rate``: it learns the limit from the 429s. ``order_and_wait``
  with its defaults (``confirm=True``: a COMPLETE callback is confirmed by ``GET /orders/{id}``,
  which is not rate limited), a :class:`CallbackReceiver` and ``ensure_subscription``.
- **the naive reference**, what users write today: each request on its own, a raw aiohttp
  ``POST /orders`` with a Bearer token fetched once before the timing, on 429 sleep until
  ``X-RateLimit-Reset`` and send again, at most 4 attempts, then count the order as failed (a
  ``RateLimitError``). Completion comes from the bare callback handler of ``burst.py``.

Reported for each: orders completed and failed, 429s and POSTs (the emulator's ORDER counts:
POSTs = accepted + refused), the wall time from the start of the burst to the last order's
completion, and throughput = completed / wall / R. The ideal wall time ``(N - (P + B)) / R``
is the bound: after the first window's P + B tokens, every order waits for the bucket. The
bound for the actual start (windows are aligned to whole epoch seconds, so it depends on where
in a second the burst began) is reported too. ``refused_per_window`` and
``completed_per_second`` show where time went, keyed by whole seconds since the start of the
epoch second in which the burst began (the emulator's windows). With ``--quick`` the 100 orders
fit in the first window's 120 tokens: a smoke run, nothing is refused. Numbers are reported,
never asserted.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
import uuid
from typing import Any

import bwnumbers

from ._emulator_process import STOCK, EmulatorProcess, emulator_process
from ._reference import ORDER, reference_flow

PER_WINDOW, WINDOW, BURST = 100, 1, 20
RATE = PER_WINDOW / WINDOW  # R, orders per second
LIMITS = {"ORDER": (PER_WINDOW, WINDOW, BURST)}
#: The naive reference's attempts per order, the first included (bwnumbers' default too).
ATTEMPTS = 4
GOALS = {"completed_share": 1.0, "failed": 0, "throughput_of_r": 0.95, "share_429": 0.02}


def _summary(
    emulator: EmulatorProcess,
    count: int,
    started: float,
    completions: list[float],
    failures: int,
    wall: float,
) -> dict[str, Any]:
    """The numbers of one contender; *started* and *completions* are epoch seconds."""
    orders = emulator.rate_limit_counts()["ORDER"]
    posts = orders["accepted"] + orders["refused"]
    per_second = collections.Counter(math.floor(t) for t in completions)
    first = math.floor(started)
    # The bucket's bound from this start: P + B tokens now, P at each later whole window.
    windows_needed = max(0, math.ceil((count - (PER_WINDOW + BURST)) / PER_WINDOW))
    bound = (first + windows_needed * WINDOW - started) if windows_needed else 0.0
    return {
        "orders": count,
        "completed": len(completions),
        "failed": failures,
        "posts": posts,
        "accepted": orders["accepted"],
        "refused_429": orders["refused"],
        "share_429": round(orders["refused"] / posts, 4) if posts else 0.0,
        "refused_per_window": {
            str(start - first): refused
            for start, refused in sorted(orders["refused_per_window"].items())
        },
        "completed_per_second": {
            str(second - first): n for second, n in sorted(per_second.items())
        },
        "start_phase_s": round(started - first, 3),
        "wall_s": round(wall, 3),
        "bound_wall_s": round(bound, 3),
        "orders_per_s": round(len(completions) / wall, 1),
        "throughput_of_r": round(len(completions) / wall / RATE, 3),
    }


async def _bwnumbers_run(emulator: EmulatorProcess, numbers: list[str]) -> dict[str, Any]:
    s = emulator.settings
    async with (
        bwnumbers.NumbersClient(
            account_id=s["account_id"], base_url=s["base_url"], client_id=s["client_id"],
            client_secret=s["client_secret"],
        ) as client,
        bwnumbers.CallbackReceiver(username="cb", password="bench-callback-password") as receiver,
    ):  # fmt: skip
        # Also obtains the access token, before the timing starts.
        await client.ensure_subscription(
            receiver.url, username="cb", password="bench-callback-password"
        )
        completions: list[float] = []
        failures: list[str] = []

        async def one(number: str) -> None:
            try:
                result = await bwnumbers.order_and_wait(
                    client, receiver, site_id=s["site_id"], numbers=[number]
                )
            except bwnumbers.BWNumbersError as error:
                failures.append(type(error).__name__)
                return
            if result.completed_numbers == (number,):
                completions.append(time.time())
            else:
                failures.append("not completed")

        started = time.time()
        await asyncio.gather(*(one(n) for n in numbers))
        wall = time.time() - started
        summary = _summary(emulator, len(numbers), started, completions, len(failures), wall)
        (status,) = [g for g in client.rate_limits if g.group == "ORDER"]
        summary["client_rate_limits"] = {
            "refusals": status.refusals,
            "per_window": status.per_window,
            "waiting": status.waiting,
        }
        summary["failure_kinds"] = dict(collections.Counter(failures))
        return summary


async def _reference_run(emulator: EmulatorProcess, numbers: list[str]) -> dict[str, Any]:
    async with reference_flow(emulator) as flow:
        completions: list[float] = []
        failures: list[str] = []
        posts = 0

        async def one(number: str) -> None:
            nonlocal posts
            cid = str(uuid.uuid4())
            future = flow.futures[cid] = asyncio.get_running_loop().create_future()
            order = ORDER.format(cid=cid, number=number, site=flow.site_id)
            try:
                for attempt in range(1, ATTEMPTS + 1):
                    posts += 1
                    async with flow.http.post(
                        f"{flow.root}/orders", data=order, headers=flow.headers
                    ) as response:
                        await response.read()
                        status = response.status
                        reset = response.headers.get("X-RateLimit-Reset")
                    if status != 429:
                        break
                    if attempt == ATTEMPTS:
                        failures.append("RateLimitError")
                        return
                    await asyncio.sleep(max(0.0, float(reset or 1) - time.time()))
                if status >= 300:
                    failures.append(f"HTTP {status}")
                    return
                if await future == "COMPLETE":
                    completions.append(time.time())
                else:
                    failures.append("not completed")
            finally:
                del flow.futures[cid]

        started = time.time()
        await asyncio.gather(*(one(n) for n in numbers))
        wall = time.time() - started
        summary = _summary(emulator, len(numbers), started, completions, len(failures), wall)
        summary["posts_sent_by_client"] = posts
        summary["failure_kinds"] = dict(collections.Counter(failures))
        return summary


async def bench_ratelimit(*, quick: bool) -> dict[str, Any]:
    """Completed, failed, 429s and throughput (share of R) of bwnumbers and the reference."""
    count = 100 if quick else 1000
    numbers = STOCK[:count]
    with emulator_process(LIMITS) as emulator:
        reference = await _reference_run(emulator, numbers)
    with emulator_process(LIMITS) as emulator:
        ours = await _bwnumbers_run(emulator, numbers)
    return {
        "n": count,
        "limit": {"per_window": PER_WINDOW, "window_s": WINDOW, "burst": BURST, "rate": RATE},
        "ideal_wall_s": round(max(0, count - (PER_WINDOW + BURST)) / RATE, 3),
        "throughput": "completed / wall / R; wall from the burst's start to the last completion",
        "bwnumbers": ours,
        "reference": reference,
        "goals": GOALS,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(asyncio.run(bench_ratelimit(quick=False)), indent=1))
