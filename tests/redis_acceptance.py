"""What the Redis acceptance tests (the brief's §6) share: the checks of a run and its Redis.

- :func:`assert_correct`: each call got one result, its coid's, equal to the emulator's final
  status, and the emulator holds exactly one order per customer order id.
- :func:`ordered`: many ``order_and_wait`` calls over a cluster's instances with bounded
  concurrency, as a real service's traffic would be (1,000 at once starve the loop).
- :func:`redis_memory` and :func:`drop_kept_orders`: ``used_memory``, and deleting the final
  intents that stay in Redis (24 h) to see what they cost, for A12's memory bound.
- :func:`counting_instance`: an instance whose client counts every HTTP request it sends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import attrs
from redis.asyncio import Redis

from bwnumbers import CallbackReceiver, OrderResult
from bwnumbers.redis import RedisStore
from tests.redis_cluster import CB_PASSWORD, CB_USER, Cluster, Instance

#: At most this many calls wait at once: the lead measured that 1,000 at once in one process
#: starve the loop so much that ``begin`` misses its 2 s budget.
CONCURRENCY = 100
#: A12's allowance on top of the baseline and the final intents kept.
MEMORY_SLACK = 2 * 1024 * 1024


async def until(condition: Callable[[], bool], *, what: str, seconds: float = 30.0) -> None:
    """Return once *condition* holds; fail after *seconds* (a bound, not a timing assertion)."""
    try:
        async with asyncio.timeout(seconds):
            while not condition():  # noqa: ASYNC110 - the conditions are counters, not events
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"still not true after {seconds} s: {what}") from None


async def all_healthy(group: Cluster) -> None:
    """Every instance reads its inbox (so an entry added from now on reaches it)."""
    await until(
        lambda: all(i.store.healthy for i in group.instances), what="every inbox reader is up"
    )


async def ordered(
    group: Cluster,
    numbers: Sequence[str],
    *,
    tag: str,
    concurrency: int = CONCURRENCY,
    **options: Any,
) -> tuple[list[str], list[OrderResult | BaseException]]:
    """Order each of *numbers* (one per call, coid ``<tag>-<i>``) from the instances in turn.

    Returns the customer order ids and each call's result or exception, in order.
    """
    gate = asyncio.Semaphore(concurrency)
    coids = [f"{tag}-{i}" for i in range(len(numbers))]

    async def one(i: int) -> OrderResult:
        async with gate:
            instance = group.instances[i % len(group.instances)]
            return await instance.order(numbers[i], customer_order_id=coids[i], **options)

    results = await asyncio.gather(*(one(i) for i in range(len(numbers))), return_exceptions=True)
    return coids, list(results)


def assert_correct(
    group: Cluster, coids: Sequence[str], results: Sequence[OrderResult | BaseException]
) -> list[OrderResult]:
    """Each call's result is its coid's, as the emulator ended it, from its only order."""
    failures = [r for r in results if not isinstance(r, OrderResult)]
    assert not failures, f"{len(failures)} calls raised, first: {failures[:1]!r}"
    checked: list[OrderResult] = []
    for coid, result in zip(coids, results, strict=True):
        assert isinstance(result, OrderResult)
        assert result.customer_order_id == coid
        assert group.emulator.orders_with_customer_order_id(coid) == [result.order_id]
        assert str(result.status) == group.emulator.order_status(result.order_id), coid
        checked.append(result)
    return checked


async def redis_memory(redis: Redis) -> int:
    """Redis's ``used_memory``, in bytes."""
    info: dict[str, Any] = await redis.info("memory")
    return int(info["used_memory"])


async def drop_kept_orders(redis: Redis, prefix: str, results: Sequence[OrderResult]) -> None:
    """Delete what the finished orders of *results* keep (intent hash, ``o:`` key), checking
    that each was kept."""
    keys = [f"{prefix}i:{r.customer_order_id}" for r in results]
    keys += [f"{prefix}o:{r.order_id}" for r in results]
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        assert await redis.delete(*batch) == len(batch), "a finished order was not kept"


async def inbox_lengths(redis: Redis, prefix: str) -> dict[str, int]:
    """The length of every inbox stream."""
    return {key: await redis.xlen(key) async for key in redis.scan_iter(match=f"{prefix}in:*")}


@attrs.define
class RequestCounter:
    """How many HTTP requests a client sent (an aiohttp trace hook)."""

    count: int = 0

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def started(*_: object) -> None:
            self.count += 1

        config.on_request_start.append(started)
        return config


@contextlib.asynccontextmanager
async def counting_instance(
    group: Cluster, name: str
) -> AsyncIterator[tuple[Instance, RequestCounter]]:
    """One more instance on *group*'s Redis and emulator whose client counts its requests.

    It is not behind the load balancer: callbacks never reach it, which the tests that use
    it do not need.
    """
    counter = RequestCounter()
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(trace_configs=[counter.trace()])
        )
        store = await stack.enter_async_context(RedisStore(group.server.url, instance_id=name))
        client = await stack.enter_async_context(
            group.emulator.client(store=store, session=session)
        )
        receiver = CallbackReceiver(username=CB_USER, password=CB_PASSWORD, store=store)
        await receiver.start()
        stack.push_async_callback(receiver.stop)
        yield Instance(name, store, client, receiver), counter


async def gather_bounded(calls: Sequence[Callable[[], Awaitable[Any]]], width: int) -> None:
    """Run *calls*, *width* at a time."""
    for start in range(0, len(calls), width):
        await asyncio.gather(*(call() for call in calls[start : start + width]))
