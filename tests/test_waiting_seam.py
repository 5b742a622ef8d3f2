"""The waiting seam: order_and_wait works with any registry, and knows no receiver class.

A registry written here from the Protocols alone, asynchronous all the way (its ``final()`` is
an ``async def``, not a future), stands in for what a shared store would be; the real emulator
and a real receiver deliver its notifications.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

import bwnumbers
from bwnumbers import (
    CallbackReceiver,
    Notification,
    NumbersClient,
    PollPolicy,
    ResultSource,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator


class AsyncWaiter:
    def __init__(self, registry: AsyncRegistry) -> None:
        self._registry = registry
        self._done = asyncio.Event()
        self._final: Notification | None = None
        self.hook: Callable[[Notification], None] | None = None

    async def bind(self, order_id: str) -> None:
        await asyncio.sleep(0)  # a store would do I/O here
        self._registry.by_id[order_id] = self

    async def final(self) -> Notification:
        await self._done.wait()
        assert self._final is not None
        return self._final

    def on_update(self, hook: Callable[[Notification], None]) -> None:
        self.hook = hook

    def feed(self, notification: Notification) -> None:
        if notification.status is not None and notification.status.is_final:
            self._final = notification
            self._done.set()
        elif self.hook is not None:
            self.hook(notification)


class AsyncRegistry:
    """A WaiterRegistry and NotificationSink that is not OrderWaiters."""

    def __init__(self) -> None:
        self.by_id: dict[str, AsyncWaiter] = {}

    @contextlib.asynccontextmanager
    async def register(self, key: tuple[str, str]) -> AsyncIterator[AsyncWaiter]:
        waiter = AsyncWaiter(self)
        await asyncio.sleep(0)
        self.by_id[key[1]] = waiter
        try:
            yield waiter
        finally:
            self.by_id = {k: w for k, w in self.by_id.items() if w is not waiter}

    async def adeliver(self, notification: Notification) -> None:
        for key in (notification.order_id, notification.customer_order_id):
            if key is not None and key in self.by_id:
                self.by_id[key].feed(notification)
                return


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


async def test_a_registry_of_ones_own_gets_the_callback(client: NumbersClient) -> None:
    """The callback reaches order_and_wait through a registry that only follows the Protocols."""
    registry = AsyncRegistry()
    sink: bwnumbers.NotificationSink = registry
    async with CallbackReceiver(on_notification=sink.adeliver) as receiver:
        await client.ensure_subscription(receiver.url)
        result = await order_and_wait(
            client,
            registry,
            site_id="743",
            numbers=["5402278098"],
            polling=PollPolicy(first_poll=30),  # only the callback can finish it in time
            timeout=5,
        )
    assert result.source is ResultSource.CALLBACK
    assert registry.by_id == {}


async def test_the_poller_wins_and_the_waiters_task_ends(client: NumbersClient) -> None:
    """No callback: polling finishes, and the task awaiting final() does not outlive the call
    (tests/_hygiene.py fails a test that leaves one running)."""
    registry = AsyncRegistry()
    result = await order_and_wait(
        client,
        registry,
        site_id="743",
        numbers=["5402278098"],
        polling=PollPolicy(first_poll=0.1, interval=0.1),
    )
    assert result.source is ResultSource.POLL
    final_tasks = [
        t
        for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__qualname__", "") == "AsyncWaiter.final"
    ]
    assert final_tasks == []


@pytest.mark.parametrize("module", ["_ordering", "_waiting", "_poller", "_seam"])
def test_the_flow_does_not_import_the_receiver(module: str) -> None:
    """order_and_wait depends on the Protocols, not on CallbackReceiver's module."""
    source = (Path(bwnumbers.__file__).parent / f"{module}.py").read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not {name for name in imported if "receiver" in name}
