"""OrderWaiters with a store shared by instances: what stays local, what goes to the store.

A fake SharedStore records what it is given; RedisStore's own behaviour is tested against a
real redis-server elsewhere (tests/test_redis_*.py).
"""

from __future__ import annotations

import attrs

from bwnumbers import MemoryStore, Notification, OrderStatus, OrderWaiters
from bwnumbers._ratelimit import RateGate
from bwnumbers._seam import OrderClient
from bwnumbers._shared import LocalSink, SharedStore, shared


@attrs.define
class RecordingStore(MemoryStore):
    """A MemoryStore that is also a SharedStore, recording the bus calls."""

    sinks: list[LocalSink] = attrs.field(factory=list)
    routed: list[Notification] = attrs.field(factory=list)
    queued: list[Notification] = attrs.field(factory=list)
    replayed: list[str] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        MemoryStore.__init__(self)

    def attach(self, sink: LocalSink) -> None:
        self.sinks.append(sink)

    def detach(self, sink: LocalSink) -> None:
        self.sinks.remove(sink)

    async def route(self, notification: Notification) -> None:
        self.routed.append(notification)

    def route_soon(self, notification: Notification) -> None:
        self.queued.append(notification)

    def use_client(self, client: OrderClient) -> None:
        pass

    def share_rate_limits(self, gate: RateGate) -> None:
        pass

    def unshare_rate_limits(self, gate: RateGate) -> None:
        pass

    async def owner_alive(self, owner: str) -> bool:
        return False

    async def replay(self, customer_order_id: str) -> None:
        self.replayed.append(customer_order_id)


def complete(order_id: str = "o-1", customer_order_id: str | None = None) -> Notification:
    return Notification(
        order_id=order_id, customer_order_id=customer_order_id, status=OrderStatus.COMPLETE
    )


def test_the_fake_is_a_shared_store_and_memory_store_is_not() -> None:
    assert shared(RecordingStore()) is not None
    assert isinstance(RecordingStore(), SharedStore)
    assert shared(MemoryStore()) is None


async def test_an_unclaimed_notification_goes_to_the_store_not_the_local_buffer() -> None:
    store = RecordingStore()
    waiters = OrderWaiters(store=store)
    assert store.sinks == [waiters]
    await waiters.adeliver(complete())
    assert store.routed == [complete()]
    assert waiters.unclaimed_count == 0


async def test_a_local_waiter_takes_its_notification_and_the_store_sees_nothing() -> None:
    store = RecordingStore()
    waiters = OrderWaiters(store=store)
    async with waiters.register(("orders", "c-1")) as waiter:
        await waiters.adeliver(complete(customer_order_id="c-1"))
        assert (await waiter.final()).status is OrderStatus.COMPLETE
    assert store.routed == []


async def test_synchronous_deliver_queues_for_the_store() -> None:
    """receiver.deliver() (other web frameworks) cannot await: the store routes it soon."""
    store = RecordingStore()
    waiters = OrderWaiters(store=store)
    assert waiters.deliver(complete()) is False
    assert store.queued == [complete()]
    assert waiters.unclaimed_count == 0


async def test_deliver_here_feeds_a_waiter_or_drops() -> None:
    """What the store hands back is never routed again, nor kept: the store has it."""
    store = RecordingStore()
    waiters = OrderWaiters(store=store)
    assert waiters.deliver_here(complete("o-9")) is False
    assert waiters.unclaimed_count == 0
    async with waiters.register(("orders", "c-9")) as waiter:
        assert waiters.waiting_ids() == ["c-9"]
        assert waiters.deliver_here(complete("o-9", customer_order_id="c-9")) is True
        assert (await waiter.final()).order_id == "o-9"
    assert store.routed == []
    assert store.queued == []


async def test_closing_the_waiters_detaches_them_from_the_store() -> None:
    store = RecordingStore()
    waiters = OrderWaiters(store=store)
    waiters.close()
    assert store.sinks == []


async def test_without_a_shared_store_nothing_changes() -> None:
    waiters = OrderWaiters(store=MemoryStore())
    await waiters.adeliver(complete())
    assert waiters.unclaimed_count == 1
