"""Instances in processes of their own, on one Redis, one of them SIGKILLed (A7, A9).

Each instance is ``tests/redis_instance_child.py``: a ``RedisStore``, a client and a receiver,
behind the test's :class:`LoadBalancer`, against the emulator the test runs. A7: three of them
order at once and B is killed mid-run; each of its unfinished orders is adopted by exactly one
survivor, whose ``on_orphan`` runs once per order. A9: an instance killed and started again
under the same ``instance_id`` takes its own orders back with ``recover()`` while its old
lease still runs, before any survivor could adopt them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bwnumbers._receiver import DEFAULT_PATH
from bwnumbers.testing import BandwidthEmulator, Faults
from tests.load_balancer import LoadBalancer
from tests.redis_server import RedisServer

HERE = Path(__file__).parent
CHILD = HERE / "redis_instance_child.py"
CB_USER, CB_PASSWORD = "bandwidth", "cb-secret-children"  # as in the child
#: No wait here should take long; this only stops a broken test from hanging the suite.
PATIENCE = 90.0

Event = dict[str, Any]


class Instance:
    """A child process; its JSON events are read as they come (so its pipe never fills)."""

    def __init__(
        self,
        name: str,
        process: asyncio.subprocess.Process,
        stderr: Path,
        changed: asyncio.Condition,
    ) -> None:
        self.name = name
        self.process = process
        self.stderr = stderr
        self.events: list[Event] = []
        self._changed = changed  # shared by a service's instances: notified on every event
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            async with self._changed:
                self.events.append(json.loads(line))
                self._changed.notify_all()
        async with self._changed:  # the end of the output: waiters re-check and fail
            self._changed.notify_all()

    def of(self, kind: str) -> list[Event]:
        return [event for event in self.events if event["event"] == kind]

    def coids(self, kind: str) -> list[str]:
        return [event["coid"] for event in self.of(kind)]

    async def until(self, done: Callable[[Instance], bool]) -> None:
        async with asyncio.timeout(PATIENCE), self._changed:
            while not done(self):
                assert not self._reader.done(), f"{self.name} ended early:\n{self.output()}"
                await self._changed.wait()

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        async with asyncio.timeout(PATIENCE):
            await self.process.wait()
            await self._reader
        assert self.process.returncode == -signal.SIGKILL

    async def stop(self) -> None:
        """Ask it to close and exit; it must exit 0."""
        self.send("stop")
        async with asyncio.timeout(PATIENCE):
            await self.process.wait()
            await self._reader
        assert self.process.returncode == 0, self.output()

    def output(self) -> str:
        events = "\n".join(map(json.dumps, self.events))
        return f"{events}\n--- stderr ---\n{self.stderr.read_text()}"


class Service:
    """Instances of one service: an emulator, a Redis, a load balancer in front of them."""

    def __init__(
        self,
        emulator: BandwidthEmulator,
        server: RedisServer,
        balancer: LoadBalancer,
        directory: Path,
    ) -> None:
        self.emulator = emulator
        self.server = server
        self.balancer = balancer
        self.directory = directory
        self.instances: list[Instance] = []
        self.changed = asyncio.Condition()

    async def until(self, done: Callable[[], bool]) -> None:
        """Until *done* holds, looked at again as events of any instance arrive."""
        async with asyncio.timeout(PATIENCE), self.changed:
            await self.changed.wait_for(done)

    async def start(self, name: str, numbers: list[str], *options: str) -> Instance:
        """Instance *name*, its receiver behind the balancer, ready for ``go``."""
        numbers_file = self.directory / f"{name}-{len(self.instances)}.numbers"
        numbers_file.write_text("\n".join(numbers))
        stderr = self.directory / f"{name}-{len(self.instances)}.stderr"
        emulator = self.emulator
        env = {k: v for k, v in os.environ.items() if not k.startswith("BW_")}
        env |= {
            "BW_ACCOUNT_ID": emulator.account_id,
            "BW_CLIENT_ID": emulator.client_id,
            "BW_CLIENT_SECRET": emulator.client_secret,
            "BW_BASE_URL": emulator.base_url,
            "BW_TOKEN_URL": emulator.token_url,
            "BW_SITE_ID": emulator.site_id,
            "PYTHONPATH": str(HERE.parent),
        }
        with stderr.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(CHILD),
                self.server.url,
                name,
                "--numbers",
                str(numbers_file),
                *options,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=sink,
            )
        instance = Instance(name, process, stderr, self.changed)
        self.instances.append(instance)
        await instance.until(lambda i: bool(i.of("ready")))
        self.route_to_live()
        return instance

    def route_to_live(self) -> None:
        live = [i for i in self.instances if i.process.returncode is None]
        self.balancer.set_targets([i.of("ready")[0]["url"] for i in live])

    def numbers(self, count: int) -> list[str]:
        """*count* fresh numbers put in the emulator's stock (ordering them is cheap)."""
        start = 5_000_000 + len(self.emulator.inventory)  # an exchange 500-999: valid NANP
        return self.emulator.add_numbers(f"984{start + i:07d}" for i in range(count))

    def emulator_orders(self) -> collections.Counter[str]:
        """How many emulator orders each customer order id has."""
        orders = self.emulator._book.orders.values()  # the test's own emulator
        return collections.Counter(o.customer_order_id for o in orders if o.customer_order_id)

    async def journal(self) -> tuple[dict[str, str], dict[str, set[str]]]:
        """Every intent's state by customer order id, and every ``own:`` set's members."""
        states: dict[str, str] = {}
        owned: dict[str, set[str]] = {}
        async with self.server.inspect() as redis:
            async for key in redis.scan_iter(match="bwn:*", count=1000):
                kind, _, name = key.split(":", 2)[2].partition(":")
                if kind == "i":
                    states[name] = str(await redis.hget(key, "state"))
                elif kind == "own":
                    owned[name] = {str(member) for member in await redis.smembers(key)}
        return states, owned


@pytest.fixture
async def service(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Service]:
    """A service whose instances are children; any still running at the end is killed."""
    async with (
        BandwidthEmulator(order_delay=0.05) as emulator,
        LoadBalancer([], path=DEFAULT_PATH) as balancer,
    ):
        emulator.faults = Faults(callback_delay=2.0)  # orders still in flight at a kill
        the_service = Service(emulator, redis_server, balancer, tmp_path)
        try:
            async with emulator.client() as client:
                await client.ensure_subscription(
                    balancer.url, username=CB_USER, password=CB_PASSWORD
                )
            yield the_service
        finally:
            for instance in the_service.instances:
                with contextlib.suppress(ProcessLookupError):
                    instance.process.kill()
                await instance.process.wait()
                with contextlib.suppress(Exception):
                    await instance._reader


def exactly_once(coids: list[str]) -> set[str]:
    """The set of *coids*, once none is there twice."""
    twice = [coid for coid, n in collections.Counter(coids).items() if n > 1]
    assert not twice, f"more than once: {twice[:5]}"
    return set(coids)


# ---------------------------------------------------------------------- A7


@pytest.mark.slow
async def test_a_killed_instances_orders_are_adopted_once(service: Service) -> None:
    """A7: B is SIGKILLed after its 100th POST. Each of its unfinished orders goes to exactly
    one survivor's ``on_orphan``; FINISH is true once per order placed; no order is placed
    twice; nothing is left owned or unfinished.

    300 orders per instance, 100 at once each (the brief's numbers): with ``callback_delay=2``
    B has its first 100 orders in flight, and none finished, when it is killed.
    """
    each = 300
    instances = [
        await service.start(name, service.numbers(each), "--lease-ttl", "3")
        for name in ("a", "b", "c")
    ]
    a, b, c = instances
    for instance in instances:
        instance.send("go")
    await b.until(lambda i: len(i.of("placed")) >= 100)
    await b.kill()
    service.route_to_live()

    # B's orders that Redis holds as its own and unfinished: what a survivor must adopt.
    states, owned = await service.journal()
    orphans = {coid for coid in owned.get("b", set()) if states[coid] in ("INTENT", "PLACED")}
    assert orphans, "B had nothing in flight: the kill came too late"
    assert orphans == set(b.coids("placed")) - set(b.coids("finish"))

    def all_done(instance: Instance) -> bool:
        return len(instance.of("result")) + len(instance.of("error")) == each

    await a.until(all_done)
    await c.until(all_done)
    # Both survivors sweep every second: by the time every orphan's wait has ended, a second
    # adoption of one of them would have shown as a second orphan event.
    await service.until(lambda: sum(len(s.of("adopted")) for s in (a, c)) >= len(orphans))
    await a.stop()
    await c.stop()

    adopted = exactly_once(a.coids("orphan") + c.coids("orphan"))
    assert adopted == orphans
    # Their callbacks came while B was dead, and were kept on the intents for the adopter.
    assert {(e.get("status"), e.get("source")) for e in a.of("adopted") + c.of("adopted")} == {
        ("COMPLETE", "CALLBACK")
    }
    assert [e["source"] for e in a.of("result") + c.of("result")] == ["CALLBACK"] * 2 * each
    assert sum(e["adopted"] for e in a.of("stats") + c.of("stats")) == len(orphans)

    placed_at_emulator = service.emulator_orders()
    assert max(placed_at_emulator.values()) == 1, "an order was placed twice"
    finished = exactly_once(a.coids("finish") + b.coids("finish") + c.coids("finish"))
    assert finished == set(placed_at_emulator)
    assert len(finished) == 2 * each + len(orphans)  # B placed nothing after its orphans
    states, owned = await service.journal()
    final = {coid for coid, state in states.items() if state == "FINAL"}
    assert final == set(placed_at_emulator)
    assert set(states.values()) == {"FINAL"}
    assert not any(owned.values()), f"orders still owned: {owned}"


# ---------------------------------------------------------------------- A9


async def test_a_restarted_instance_takes_its_orders_back_at_once(service: Service) -> None:
    """A9: A is SIGKILLed with orders in flight and started again as ``a``: ``recover()``
    returns those orders while A's old lease still runs (so no survivor could have adopted
    them), and each ``wait()`` resolves. B, alive throughout, adopts nothing.
    """
    count = 20
    lease = ("--lease-ttl", "10")
    a = await service.start("a", service.numbers(count), *lease)
    b = await service.start("b", [], *lease)
    a.send("go")
    await a.until(lambda i: len(i.of("placed")) == count)
    await a.kill()
    _, owned = await service.journal()
    left = owned["a"]
    assert len(left) == count

    again = await service.start("a", [], "--recover", *lease)

    def recovered_all(instance: Instance) -> bool:
        counts = [event["count"] for event in instance.of("recovering")]
        return bool(counts) and len(instance.of("recovered")) == counts[0]

    await again.until(recovered_all)
    await again.stop()
    await b.stop()

    assert again.of("lease_left")[0]["ms"] > 0, "A's old lease had run out: not 'at once'"
    assert exactly_once(again.coids("pending")) == left
    # A callback that came while A was down was kept on its intent (B routed it there), one
    # that came later reached the new A: either way the callback resolves the order, not a poll.
    assert {(e.get("status"), e.get("source")) for e in again.of("recovered")} == {
        ("COMPLETE", "CALLBACK")
    }
    assert exactly_once(again.coids("finish")) == left
    assert b.of("orphan") == []
    assert b.of("stats")[0]["adopted"] == 0
    assert max(service.emulator_orders().values()) == 1
    states, owned = await service.journal()
    assert set(states.values()) == {"FINAL"}
    assert not any(owned.values())
