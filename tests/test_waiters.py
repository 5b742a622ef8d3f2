"""OrderWaiters: waiters by (order type, id), the unclaimed buffer, clean-up; no HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from bwnumbers import (
    MemoryUnclaimedBuffer,
    Notification,
    NotificationSink,
    OrderStatus,
    OrderWaiters,
    UnclaimedBuffer,
    Waiter,
    WaiterRegistry,
    WaitersClosedError,
)
from bwnumbers._waiters import HELD_UPDATES, LocalWaiter


def note(
    status: str = "COMPLETE", *, order_id: str | None = None, customer_order_id: str | None = None
) -> Notification:
    return Notification(
        order_id=order_id, customer_order_id=customer_order_id, status=OrderStatus(status)
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def stack() -> AsyncIterator[contextlib.AsyncExitStack]:
    async with contextlib.AsyncExitStack() as waits:
        yield waits


async def wait(stack: contextlib.AsyncExitStack, waiters: OrderWaiters, cid: str) -> LocalWaiter:
    """Register (and later release) a waiter under ("orders", cid)."""
    return await stack.enter_async_context(waiters.register(("orders", cid)))


async def test_order_waiters_implement_the_seam() -> None:
    """OrderWaiters is a registry and a sink, its waiter a Waiter, its buffer an UnclaimedBuffer."""
    waiters = OrderWaiters()
    registry: WaiterRegistry = waiters
    sink: NotificationSink = waiters
    buffer: UnclaimedBuffer = waiters.unclaimed
    async with registry.register(("orders", "c-1")) as waiter:
        typed: Waiter = waiter
        await typed.bind("o-1")
        await sink.adeliver(note(order_id="o-1"))
        assert (await typed.final()).order_id == "o-1"
    assert len(buffer) == 0
    assert len(waiters) == 0  # released on exit


async def test_resolves_by_customer_order_id_or_order_id(stack: contextlib.AsyncExitStack) -> None:
    """A notification finds its waiter by either id."""
    waiters = OrderWaiters()
    by_customer = await wait(stack, waiters, "c-1")
    by_order = await wait(stack, waiters, "c-2")
    await by_order.bind("o-2")
    assert waiters.deliver(note(customer_order_id="c-1"))
    assert waiters.deliver(note("FAILED", order_id="o-2"))
    assert (await by_customer.final()).customer_order_id == "c-1"
    assert (await by_order.final()).status is OrderStatus.FAILED


async def test_keys_carry_the_order_type(stack: contextlib.AsyncExitStack) -> None:
    """A waiter of another order type does not get an order's notification."""
    waiters = OrderWaiters()
    other = await stack.enter_async_context(waiters.register(("disconnects", "c-1")))
    assert not waiters.deliver(note(customer_order_id="c-1"))
    assert not other.future.done()
    assert waiters.unclaimed_count == 1


async def test_early_notification_is_claimed_at_registration(
    stack: contextlib.AsyncExitStack,
) -> None:
    """A notification that arrived before anyone waited is claimed by register or bind."""
    waiters = OrderWaiters()
    assert not waiters.deliver(note(customer_order_id="c-1"))
    assert not waiters.deliver(note(order_id="o-2"))
    assert waiters.unclaimed_count == 2
    first = await wait(stack, waiters, "c-1")
    assert first.future.done()
    second = await wait(stack, waiters, "c-2")
    assert not second.future.done()
    await second.bind("o-2")
    assert second.future.done()
    assert waiters.unclaimed_count == 0


async def test_buffered_under_both_ids_is_claimed_once(stack: contextlib.AsyncExitStack) -> None:
    """A notification with both ids is buffered once and removed from both keys when claimed."""
    waiters = OrderWaiters()
    waiters.deliver(note(order_id="o-1", customer_order_id="c-1"))
    waiter = await wait(stack, waiters, "c-1")
    await waiter.bind("o-1")
    assert waiters.unclaimed_count == 0
    assert waiter.future.result().order_id == "o-1"


async def test_resolves_at_most_once_and_duplicates_are_harmless(
    stack: contextlib.AsyncExitStack,
) -> None:
    """Duplicates and contradictory late notifications do not touch a resolved future."""
    waiters = OrderWaiters()
    waiter = await wait(stack, waiters, "c-1")
    waiters.deliver(note("COMPLETE", customer_order_id="c-1"))
    waiters.deliver(note("COMPLETE", customer_order_id="c-1"))
    waiters.deliver(note("FAILED", customer_order_id="c-1"))
    assert waiter.future.result().status is OrderStatus.COMPLETE


async def test_non_final_statuses_go_to_the_update_hook(stack: contextlib.AsyncExitStack) -> None:
    """BACKORDERED and unknown statuses feed on_update and keep the future pending."""
    waiters = OrderWaiters()
    waiter = await wait(stack, waiters, "c-1")
    seen: list[str] = []
    waiter.on_update(lambda n: seen.append(str(n.status)))
    waiters.deliver(note("BACKORDERED", customer_order_id="c-1"))
    waiters.deliver(note("PROCESSING", customer_order_id="c-1"))
    assert seen == ["BACKORDERED", "PROCESSING"]
    assert not waiter.future.done()
    waiters.deliver(note("PARTIAL", customer_order_id="c-1"))
    assert waiter.future.result().status is OrderStatus.PARTIAL
    with pytest.raises(RuntimeError, match="set already"):
        waiter.on_update(lambda _: None)


async def test_updates_before_the_hook_are_replayed_and_bounded(
    stack: contextlib.AsyncExitStack,
) -> None:
    """Updates that arrive before the hook is set reach it, but only the latest few are kept."""
    waiters = OrderWaiters()
    for i in range(HELD_UPDATES + 5):
        waiters.deliver(Notification(customer_order_id="c-1", note=f"n{i}"))
    waiter = await wait(stack, waiters, "c-1")
    seen: list[str | None] = []
    waiter.on_update(lambda n: seen.append(n.note))
    assert seen == [f"n{i}" for i in range(5, HELD_UPDATES + 5)]


async def test_failing_update_hook_does_not_lose_the_order(
    stack: contextlib.AsyncExitStack, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in on_update is logged; the final notification still resolves."""
    waiters = OrderWaiters()
    waiter = await wait(stack, waiters, "c-1")

    def broken(_: Notification) -> None:
        raise RuntimeError("user bug")

    waiter.on_update(broken)
    waiters.deliver(note("BACKORDERED", customer_order_id="c-1"))
    waiters.deliver(note("COMPLETE", customer_order_id="c-1"))
    assert waiter.future.done()
    assert "on_update hook failed" in caplog.text


async def test_release_removes_only_that_waiter() -> None:
    """A released (cancelled) waiter is forgotten without affecting the others."""
    waiters = OrderWaiters()
    async with waiters.register(("orders", "c-2")) as kept:
        async with waiters.register(("orders", "c-1")) as gone:
            await gone.bind("o-1")
        gone.release()  # once more: harmless
        assert gone.future.cancelled()
        assert len(waiters) == 1
        assert not waiters.deliver(note(order_id="o-1"))  # nobody waits: buffered
        assert waiters.deliver(note(customer_order_id="c-2"))
        assert kept.future.done()
    assert len(waiters) == 0


async def test_duplicate_registration_is_refused(stack: contextlib.AsyncExitStack) -> None:
    """Two waits on one customer order id would steal each other's notification."""
    waiters = OrderWaiters()
    await wait(stack, waiters, "c-1")
    with pytest.raises(ValueError, match="already awaited"):
        await wait(stack, waiters, "c-1")


async def test_keys_must_be_pairs() -> None:
    """A bare id (the key of bwnumbers 0.1) is refused with what to pass instead."""
    with pytest.raises(TypeError, match=r"\('orders', id\)"):
        OrderWaiters().register("c-1")  # type: ignore[arg-type]


async def test_unclaimed_buffer_is_bounded_lru(stack: contextlib.AsyncExitStack) -> None:
    """Past the limit the oldest unclaimed notification is dropped."""
    waiters = OrderWaiters(unclaimed_limit=3)
    for i in range(5):
        waiters.deliver(note(order_id=f"o-{i}"))
    assert waiters.unclaimed_count == 3
    old = await wait(stack, waiters, "c-old")
    await old.bind("o-0")
    assert not old.future.done()
    recent = await wait(stack, waiters, "c-new")
    await recent.bind("o-4")
    assert recent.future.done()


async def test_unclaimed_notifications_expire(stack: contextlib.AsyncExitStack) -> None:
    """After the TTL an unclaimed notification is gone."""
    clock = FakeClock()
    waiters = OrderWaiters(unclaimed_ttl=10, clock=clock)
    waiters.deliver(note(order_id="o-1"))
    clock.now = 5
    waiters.deliver(note(order_id="o-2"))
    clock.now = 11
    assert waiters.unclaimed_count == 1
    waiter = await wait(stack, waiters, "c")
    await waiter.bind("o-1")
    assert not waiter.future.done()


async def test_a_buffer_of_ones_own(stack: contextlib.AsyncExitStack) -> None:
    """The buffer is an object of its own: shared, or bounded otherwise."""
    buffer = MemoryUnclaimedBuffer(limit=1)
    waiters = OrderWaiters(unclaimed=buffer)
    waiters.deliver(note(order_id="o-1"))
    waiters.deliver(note(order_id="o-2"))
    assert len(buffer) == 1
    assert buffer.claim(("orders", "o-1")) == []
    waiter = await wait(stack, waiters, "c-2")
    await waiter.bind("o-2")
    assert waiter.future.done()
    assert len(buffer) == 0


async def test_notifications_without_ids_are_ignored() -> None:
    """An event notification (no order ids) is not buffered."""
    waiters = OrderWaiters()
    assert not waiters.deliver(Notification(event_type="MESSAGING_LOST"))
    assert waiters.unclaimed_count == 0


async def test_close_fails_every_pending_future() -> None:
    """close() leaves no future pending forever, and refuses new waits."""
    waiters = OrderWaiters()
    async with contextlib.AsyncExitStack() as stack:
        pending = [await wait(stack, waiters, f"c-{i}") for i in range(3)]
        waiters.close()
        for waiter in pending:
            with pytest.raises(WaitersClosedError, match="closed"):
                await waiter.final()
        assert len(waiters) == 0
        with pytest.raises(WaitersClosedError, match="closed"):
            await wait(stack, waiters, "c-9")


async def test_burst_leaves_the_registry_empty() -> None:
    """After many concurrent waits, resolved or cancelled, nothing remains registered."""
    waiters = OrderWaiters()

    async def one(i: int) -> None:
        async with waiters.register(("orders", f"c-{i}")) as waiter:
            await waiter.bind(f"o-{i}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter.final()), 1 if i % 3 else 0.01)

    tasks = [asyncio.ensure_future(one(i)) for i in range(300)]
    await asyncio.sleep(0)
    for i in range(300):
        if i % 3:
            waiters.deliver(note(order_id=f"o-{i}"))
    await asyncio.gather(*tasks)
    assert len(waiters) == 0
