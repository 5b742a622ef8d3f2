"""OrderWaiters: futures by id, the unclaimed buffer, and clean-up, without any HTTP."""

from __future__ import annotations

import asyncio

import pytest

from bwnumbers import Notification, OrderStatus, OrderWaiters


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


async def test_resolves_by_customer_order_id_or_order_id() -> None:
    """A notification finds its waiter by either id."""
    waiters = OrderWaiters()
    by_customer = waiters.register("c-1")
    by_order = waiters.register("c-2")
    by_order.bind("o-2")
    assert waiters.deliver(note(customer_order_id="c-1"))
    assert waiters.deliver(note("FAILED", order_id="o-2"))
    assert (await by_customer.future).customer_order_id == "c-1"
    assert (await by_order.future).status is OrderStatus.FAILED


async def test_early_notification_is_claimed_at_registration() -> None:
    """A notification that arrived before anyone waited is claimed by register or bind."""
    waiters = OrderWaiters()
    assert not waiters.deliver(note(customer_order_id="c-1"))
    assert not waiters.deliver(note(order_id="o-2"))
    assert waiters.unclaimed_count == 2
    first = waiters.register("c-1")
    assert first.future.done()
    second = waiters.register("c-2")
    assert not second.future.done()
    second.bind("o-2")
    assert second.future.done()
    assert waiters.unclaimed_count == 0


async def test_buffered_under_both_ids_is_claimed_once() -> None:
    """A notification with both ids is buffered once and removed from both keys when claimed."""
    waiters = OrderWaiters()
    waiters.deliver(note(order_id="o-1", customer_order_id="c-1"))
    waiter = waiters.register("c-1")
    waiter.bind("o-1")
    assert waiters.unclaimed_count == 0
    assert waiter.future.result().order_id == "o-1"


async def test_resolves_at_most_once_and_duplicates_are_harmless() -> None:
    """Duplicates and contradictory late notifications do not touch a resolved future."""
    waiters = OrderWaiters()
    waiter = waiters.register("c-1")
    waiters.deliver(note("COMPLETE", customer_order_id="c-1"))
    waiters.deliver(note("COMPLETE", customer_order_id="c-1"))
    waiters.deliver(note("FAILED", customer_order_id="c-1"))
    assert waiter.future.result().status is OrderStatus.COMPLETE


async def test_non_final_statuses_go_to_updates() -> None:
    """BACKORDERED and unknown statuses feed on_update and keep the future pending."""
    waiters = OrderWaiters()
    waiter = waiters.register("c-1")
    seen: list[str] = []
    waiter.on_update = lambda n: seen.append(str(n.status))
    waiters.deliver(note("BACKORDERED", customer_order_id="c-1"))
    waiters.deliver(note("PROCESSING", customer_order_id="c-1"))
    assert seen == ["BACKORDERED", "PROCESSING"]
    assert not waiter.future.done()
    waiters.deliver(note("PARTIAL", customer_order_id="c-1"))
    assert waiter.future.result().status is OrderStatus.PARTIAL


async def test_failing_update_hook_does_not_lose_the_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception in on_update is logged; the final notification still resolves."""
    waiters = OrderWaiters()
    waiter = waiters.register("c-1")

    def broken(_: Notification) -> None:
        raise RuntimeError("user bug")

    waiter.on_update = broken
    waiters.deliver(note("BACKORDERED", customer_order_id="c-1"))
    waiters.deliver(note("COMPLETE", customer_order_id="c-1"))
    assert waiter.future.done()
    assert "on_update hook failed" in caplog.text


async def test_release_removes_only_that_waiter() -> None:
    """A released (cancelled) waiter is forgotten without affecting the others."""
    waiters = OrderWaiters()
    gone = waiters.register("c-1")
    gone.bind("o-1")
    kept = waiters.register("c-2")
    gone.release()
    gone.release()
    assert gone.future.cancelled()
    assert len(waiters) == 1
    assert not waiters.deliver(note(order_id="o-1"))  # nobody waits: buffered
    assert waiters.deliver(note(customer_order_id="c-2"))
    assert kept.future.done()
    kept.release()
    assert len(waiters) == 0


async def test_duplicate_registration_is_refused() -> None:
    """Two waits on one customer order id would steal each other's notification."""
    waiters = OrderWaiters()
    waiters.register("c-1")
    with pytest.raises(ValueError, match="already awaited"):
        waiters.register("c-1")


async def test_unclaimed_buffer_is_bounded_lru() -> None:
    """Past the limit the oldest unclaimed notification is dropped."""
    waiters = OrderWaiters(unclaimed_limit=3)
    for i in range(5):
        waiters.deliver(note(order_id=f"o-{i}"))
    assert waiters.unclaimed_count == 3
    old = waiters.register("c-old")
    old.bind("o-0")
    assert not old.future.done()
    recent = waiters.register("c-new")
    recent.bind("o-4")
    assert recent.future.done()


async def test_unclaimed_notifications_expire() -> None:
    """After the TTL an unclaimed notification is gone."""
    clock = FakeClock()
    waiters = OrderWaiters(unclaimed_ttl=10, clock=clock)
    waiters.deliver(note(order_id="o-1"))
    clock.now = 5
    waiters.deliver(note(order_id="o-2"))
    clock.now = 11
    assert waiters.unclaimed_count == 1
    waiter = waiters.register("c")
    waiter.bind("o-1")
    assert not waiter.future.done()


async def test_notifications_without_ids_are_ignored() -> None:
    """An event notification (no order ids) is not buffered."""
    waiters = OrderWaiters()
    assert not waiters.deliver(Notification(event_type="MESSAGING_LOST"))
    assert waiters.unclaimed_count == 0


async def test_close_fails_every_pending_future() -> None:
    """close() leaves no future pending forever."""
    waiters = OrderWaiters()
    pending = [waiters.register(f"c-{i}") for i in range(3)]
    waiters.close()
    for waiter in pending:
        with pytest.raises(Exception, match="closed"):
            await waiter.future
    assert len(waiters) == 0
    with pytest.raises(RuntimeError, match="closed"):
        waiters.register("c-9")


async def test_burst_leaves_the_registry_empty() -> None:
    """After many concurrent waits, resolved or cancelled, nothing remains registered."""
    waiters = OrderWaiters()

    async def wait(i: int) -> None:
        waiter = waiters.register(f"c-{i}")
        waiter.bind(f"o-{i}")
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), 1 if i % 3 else 0.01)
        except TimeoutError:
            pass
        finally:
            waiter.release()

    tasks = [asyncio.ensure_future(wait(i)) for i in range(300)]
    await asyncio.sleep(0)
    for i in range(300):
        if i % 3:
            waiters.deliver(note(order_id=f"o-{i}"))
    await asyncio.gather(*tasks)
    assert len(waiters) == 0
