"""Several bwnumbers instances in one process, sharing a real Redis, behind a load balancer.

Each :class:`Instance` is what a replica of a service runs: a :class:`RedisStore` with its own
``instance_id``, a :class:`NumbersClient` given that store, and a :class:`CallbackReceiver` on
127.0.0.1 whose waiters journal in it. The emulator's subscription points at a
:class:`LoadBalancer` that sends each callback to a random instance, as Bandwidth's callbacks
land behind a real one.

:meth:`Cluster.assert_quiescent` is the brief's "clean" (acceptance test A12): no waiter left
anywhere, no unfinished intent, no ``own:`` member, every key but ``epoch`` and ``hb`` with a
TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import attrs

import bwnumbers
from bwnumbers import CallbackReceiver, NumbersClient, OrderResult, PollPolicy
from bwnumbers.redis import RedisStore
from bwnumbers.testing import BandwidthEmulator
from tests.load_balancer import LoadBalancer
from tests.redis_server import RedisServer

CB_USER, CB_PASSWORD = "bandwidth", "cb-secret-cluster"
#: Polling late enough that a result by CALLBACK is the bus working, not a lucky poll.
SLOW_POLLING = PollPolicy(first_poll=3.0, interval=3.0, max_interval=3.0)


@attrs.define
class Instance:
    """One replica: its store, client and receiver."""

    name: str
    store: RedisStore
    client: NumbersClient
    receiver: CallbackReceiver

    async def order(self, number: str, **options: Any) -> OrderResult:
        """``order_and_wait`` for one number from this instance (slow polling by default)."""
        options.setdefault("polling", SLOW_POLLING)
        return await bwnumbers.order_and_wait(
            self.client, self.receiver, site_id="743", numbers=[number], **options
        )

    async def aclose(self) -> None:
        await self.receiver.stop()
        await self.client.aclose()
        await self.store.aclose()


@attrs.define
class Cluster:
    """*instances* behind *balancer*, subscribed on *emulator*, sharing *server*."""

    server: RedisServer
    emulator: BandwidthEmulator
    balancer: LoadBalancer
    instances: list[Instance]

    def numbers(self, count: int, *, prefix: str = "984") -> list[str]:
        """*count* fresh numbers put in the emulator's stock (ordering them is cheap)."""
        start = 5_000_000 + len(self.emulator.inventory)  # an exchange 500-999: valid NANP
        numbers = [f"{prefix}{start + i:07d}" for i in range(count)]
        return self.emulator.add_numbers(numbers)

    async def assert_quiescent(self) -> None:
        """A12: nothing waits, nothing is unfinished, every key will expire."""
        for instance in self.instances:
            assert len(instance.receiver.waiters) == 0, f"{instance.name} left a waiter"
            assert not instance.store.mirror, f"{instance.name} left intents unfinished"
        async with self.server.inspect() as redis:
            keys = [key async for key in redis.scan_iter(match="bwn:*", count=1000)]
            states: dict[str, int] = {}
            for key in keys:
                kind = key.split(":")[2]
                if kind == "i":
                    state = await redis.hget(key, "state")
                    states[state] = states.get(state, 0) + 1
                if kind == "own":
                    assert await redis.scard(key) == 0, f"{key} still owns orders"
                if kind not in ("epoch", "hb"):
                    assert await redis.ttl(key) > 0, f"{key} has no TTL"
            assert set(states) <= {"FINAL", "NEVER_CREATED"}, f"unfinished intents: {states}"


@contextlib.asynccontextmanager
async def cluster(
    server: RedisServer,
    size: int = 3,
    *,
    emulator: BandwidthEmulator | None = None,
    seed: int = 0,
    lease_ttl: float = 30.0,
    **emulator_options: Any,
) -> AsyncIterator[Cluster]:
    """*size* instances named ``i0``, ``i1``... on *server*, behind a seeded load balancer.

    Starts its own emulator (``order_delay=0.05`` unless given) unless *emulator* is passed;
    closes everything it started on exit, instances first.
    """
    async with contextlib.AsyncExitStack() as stack:
        if emulator is None:
            emulator_options.setdefault("order_delay", 0.05)
            emulator = await stack.enter_async_context(BandwidthEmulator(**emulator_options))
        instances: list[Instance] = []

        async def close_instances() -> None:
            await asyncio.gather(*(instance.aclose() for instance in instances))

        stack.push_async_callback(close_instances)
        for index in range(size):
            instances.append(await start_instance(server, emulator, f"i{index}", lease_ttl))
        balancer = await stack.enter_async_context(
            LoadBalancer([i.receiver.url for i in instances], seed=seed)
        )
        await instances[0].client.ensure_subscription(
            balancer.url, username=CB_USER, password=CB_PASSWORD
        )
        yield Cluster(server, emulator, balancer, instances)


async def start_instance(
    server: RedisServer, emulator: BandwidthEmulator, name: str, lease_ttl: float = 30.0
) -> Instance:
    """One replica on *server*: store, client (store=) and a started receiver."""
    store = RedisStore(server.url, instance_id=name, lease_ttl=lease_ttl)
    client = emulator.client(store=store)
    await client.__aenter__()
    receiver = CallbackReceiver(username=CB_USER, password=CB_PASSWORD, store=store)
    await receiver.start()
    return Instance(name, store, client, receiver)


def sources(results: Sequence[object]) -> dict[str, int]:
    """How many results came by each source, and how many calls raised (by exception name)."""
    counts: dict[str, int] = {}
    for result in results:
        name = result.source.name if isinstance(result, OrderResult) else type(result).__name__
        counts[name] = counts.get(name, 0) + 1
    return counts
