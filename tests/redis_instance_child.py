"""One instance of a service, in a process of its own, for the Redis tests to SIGKILL.

    python redis_instance_child.py REDIS_URL INSTANCE_ID [--numbers FILE] [--lease-ttl S]
        [--concurrency N] [--recover]

It runs what a replica runs: a ``RedisStore`` (*INSTANCE_ID*, *--lease-ttl*), a client given
that store (the account comes from BW_*, the test's emulator) and a ``CallbackReceiver`` on
127.0.0.1, whose URL it prints for the test's load balancer. Then it reads commands on stdin:
``go`` orders each number of *--numbers* (one per line, customer order id
``<INSTANCE_ID>-<line>``, at most *--concurrency* at once, as a real service's traffic would
be bounded); ``stop`` waits for the orders it placed or recovered, closes everything and exits
0 (the test sends it once the orders this instance adopted have ended).

With *--recover* it first prints how long the lease of a previous run under the same
*INSTANCE_ID* still has to run, then calls ``bwnumbers.recover(client, receiver)`` and waits
for every order it returns.

Every event is one JSON line on stdout: ``ready`` (the receiver's URL), ``placed`` (Bandwidth
answered a POST), ``finish`` (a FINISH that was the first for its order), ``result`` and
``error`` (how an order of its own ended), ``orphan`` (``on_orphan`` was called with an order
of an instance that died) and ``adopted`` (how it ended), ``lease_left``, ``pending`` (an order
``recover()`` returned) and ``recovering`` (how many) with *--recover*, ``recovered`` (how a
recovered order ended), ``stats`` (at ``stop``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import redis.asyncio

import bwnumbers
from bwnumbers.redis import RedisStore

CB_USER, CB_PASSWORD = "bandwidth", "cb-secret-children"
#: Polling late enough that a result by CALLBACK is the bus working, not a lucky poll: with
#: three children and the emulator on two cores, a burst of 300 callbacks sent 2 s after
#: their orders can reach their instances more than 3 s after the order.
SLOW_POLLING = bwnumbers.PollPolicy(first_poll=10.0, interval=3.0, max_interval=3.0)


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def outcome(result: bwnumbers.OrderResult) -> dict[str, Any]:
    return {"status": str(result.status), "source": result.source.name}


class ReportingStore(RedisStore):
    """A RedisStore that says when a POST was answered and when its FINISH came first."""

    async def placed(self, customer_order_id: str, order_id: str) -> None:
        await super().placed(customer_order_id, order_id)
        emit("placed", coid=customer_order_id)

    async def finish(self, customer_order_id: str, outcome: bwnumbers.StoredOutcome) -> bool:
        first = await super().finish(customer_order_id, outcome)
        if first:
            emit("finish", coid=customer_order_id)
        return first


async def on_orphan(pending: bwnumbers.PendingOrder) -> None:
    emit("orphan", coid=pending.customer_order_id)
    try:
        result = await pending.wait(polling=SLOW_POLLING)
    except bwnumbers.BWNumbersError as error:
        emit("adopted", coid=pending.customer_order_id, error=type(error).__name__)
    else:
        emit("adopted", coid=pending.customer_order_id, **outcome(result))


async def order_all(
    client: bwnumbers.NumbersClient,
    receiver: bwnumbers.CallbackReceiver,
    instance_id: str,
    numbers: list[str],
    concurrency: int,
) -> None:
    bound = asyncio.Semaphore(concurrency)

    async def one(index: int, number: str) -> None:
        coid = f"{instance_id}-{index:04d}"
        async with bound:
            try:
                result = await bwnumbers.order_and_wait(
                    client,
                    receiver,
                    site_id=os.environ["BW_SITE_ID"],
                    numbers=[number],
                    customer_order_id=coid,
                    polling=SLOW_POLLING,
                )
            except bwnumbers.BWNumbersError as error:
                emit("error", coid=coid, type=type(error).__name__, message=str(error))
            else:
                emit("result", coid=coid, **outcome(result))

    await asyncio.gather(*(one(i, n) for i, n in enumerate(numbers)))


async def lease_left(url: str, namespace: str, instance_id: str) -> int:
    """Milliseconds the lease of a previous run under *instance_id* still has (-2: none)."""
    async with redis.asyncio.from_url(url, decode_responses=True) as peek:
        return int(await peek.pttl(f"bwn:{{{namespace}}}:alive:{instance_id}"))


async def recover_all(
    client: bwnumbers.NumbersClient, receiver: bwnumbers.CallbackReceiver
) -> None:
    pending = await bwnumbers.recover(client, receiver)
    for one in pending:
        emit("pending", coid=one.customer_order_id, state=str(one.intent.state))
    emit("recovering", count=len(pending))

    async def finish(one: bwnumbers.PendingOrder) -> None:
        try:
            result = await one.wait(polling=SLOW_POLLING)
        except bwnumbers.BWNumbersError as error:
            emit("recovered", coid=one.customer_order_id, error=type(error).__name__)
        else:
            emit("recovered", coid=one.customer_order_id, **outcome(result))

    await asyncio.gather(*(finish(one) for one in pending))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("instance_id")
    parser.add_argument("--numbers", type=Path)
    parser.add_argument("--lease-ttl", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--recover", action="store_true")
    args = parser.parse_args()
    numbers = args.numbers.read_text().split() if args.numbers else []
    work: list[asyncio.Task[None]] = []
    store = ReportingStore(
        args.url, instance_id=args.instance_id, lease_ttl=args.lease_ttl, on_orphan=on_orphan
    )
    async with store, bwnumbers.NumbersClient.from_env(store=store) as client:
        if args.recover:
            emit("lease_left", ms=await lease_left(args.url, client.account_id, args.instance_id))
        async with bwnumbers.CallbackReceiver(
            username=CB_USER, password=CB_PASSWORD, store=store
        ) as receiver:
            emit("ready", url=receiver.url)
            if args.recover:
                work.append(asyncio.create_task(recover_all(client, receiver)))
            while (command := (await asyncio.to_thread(sys.stdin.readline)).strip()) != "stop":
                if command == "go":
                    work.append(
                        asyncio.create_task(
                            order_all(client, receiver, args.instance_id, numbers, args.concurrency)
                        )
                    )
            await asyncio.gather(*work)
            emit(
                "stats",
                finished_here=store.finished_here,
                adopted=store.bus.stats["adopted"],
                waiters=len(receiver.waiters),
                mirror=len(store.mirror),
            )


if __name__ == "__main__":
    asyncio.run(main())
