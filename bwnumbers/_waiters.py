"""``OrderWaiters``: pure asyncio bookkeeping between notifications and the orders awaiting them.

A notification goes in (:meth:`OrderWaiters.deliver`), a future comes out
(:meth:`OrderWaiters.register`). Notifications can arrive before anyone waits for them (the
callback often beats the ``POST /orders`` response), so those are kept in a bounded "unclaimed"
buffer (LRU + TTL) that a later registration checks first. Nothing here does HTTP, so a shared
bus for several processes can take this interface's place without touching ``order_and_wait``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import attrs

from ._exceptions import BWNumbersError
from ._models import Notification

__all__ = ["OrderWaiters", "Waiter"]

log = logging.getLogger("bwnumbers.receiver")

DEFAULT_UNCLAIMED_LIMIT = 10_000
DEFAULT_UNCLAIMED_TTL = 600.0


class WaitersClosedError(BWNumbersError):
    """The registry was closed while an order was still waiting for its notification."""


class Waiter:
    """One order's wait for its final notification.

    *future* resolves (at most once) with the first notification of a final status.
    Notifications of other statuses (BACKORDERED, notes) go to *on_update* as they arrive.
    """

    __slots__ = ("_registry", "customer_order_id", "future", "on_update", "order_id", "updates")

    def __init__(self, registry: OrderWaiters, customer_order_id: str) -> None:
        self._registry = registry
        self.customer_order_id = customer_order_id
        self.order_id: str | None = None
        self.future: asyncio.Future[Notification] = asyncio.get_running_loop().create_future()
        self.on_update: Callable[[Notification], None] | None = None
        self.updates: list[Notification] = []

    def bind(self, order_id: str) -> None:
        """Also listen under Bandwidth's order id, once the POST has returned it."""
        self._registry._bind(self, order_id)

    def release(self) -> None:
        """Stop waiting; the registry forgets this waiter. Safe to call more than once."""
        if not self.future.done():
            self.future.cancel()
        self._registry._forget(self)

    def _feed(self, notification: Notification) -> None:
        if self.future.done():
            return
        status = notification.status
        if status is not None and status.is_final:
            self.future.set_result(notification)
            return
        self.updates.append(notification)
        if self.on_update is not None:
            try:
                self.on_update(notification)
            except Exception:  # a user's hook must not cost us the order
                log.exception("on_update hook failed for order %s", self.order_id)


@attrs.define
class _Unclaimed:
    notification: Notification
    expires_at: float
    keys: tuple[str, ...]


class OrderWaiters:
    """Futures by order id and customer order id, plus the unclaimed buffer.

    Args:
        unclaimed_limit: how many notifications nobody waits for are kept (oldest dropped).
        unclaimed_ttl: seconds an unclaimed notification is kept.
        clock: a monotonic clock in seconds (tests pass a fake).

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        *,
        unclaimed_limit: int = DEFAULT_UNCLAIMED_LIMIT,
        unclaimed_ttl: float = DEFAULT_UNCLAIMED_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if unclaimed_limit < 0 or unclaimed_ttl < 0:
            raise ValueError("unclaimed_limit and unclaimed_ttl must be >= 0")
        self.unclaimed_limit = unclaimed_limit
        self.unclaimed_ttl = unclaimed_ttl
        self._clock = clock
        self._by_key: dict[str, Waiter] = {}
        self._waiters: set[Waiter] = set()
        # Insertion order is age order: the first entry is the oldest, evicted first.
        self._unclaimed: OrderedDict[int, _Unclaimed] = OrderedDict()
        self._unclaimed_keys: dict[str, list[int]] = {}
        self._next_entry = 0
        self._closed = False

    def __len__(self) -> int:
        """How many orders are waiting."""
        return len(self._waiters)

    @property
    def unclaimed_count(self) -> int:
        """How many notifications wait in the unclaimed buffer."""
        self._expire()
        return len(self._unclaimed)

    def register(self, customer_order_id: str) -> Waiter:
        """Start waiting for the order placed with *customer_order_id*.

        Call this *before* ``POST /orders``; a notification that already arrived for that id
        is claimed at once.
        """
        if self._closed:
            raise RuntimeError("These order waiters are closed.")
        if customer_order_id in self._by_key:
            raise ValueError(
                f"An order with customer order id {customer_order_id} is already awaited."
            )
        waiter = Waiter(self, customer_order_id)
        self._waiters.add(waiter)
        self._by_key[customer_order_id] = waiter
        self._claim(waiter, customer_order_id)
        return waiter

    def deliver(self, notification: Notification) -> bool:
        """Hand a notification to its waiter; returns ``False`` if it went to the buffer."""
        keys = tuple(k for k in (notification.order_id, notification.customer_order_id) if k)
        for key in keys:
            waiter = self._by_key.get(key)
            if waiter is not None:
                waiter._feed(notification)
                return True
        if keys and self.unclaimed_limit:
            self._buffer(notification, keys)
        return False

    def close(self) -> None:
        """Fail every pending waiter with :class:`WaitersClosedError`; no future stays pending."""
        self._closed = True
        for waiter in list(self._waiters):
            if not waiter.future.done():
                waiter.future.set_exception(
                    WaitersClosedError("The callback receiver was closed while the order waited.")
                )
            self._forget(waiter)
        self._unclaimed.clear()
        self._unclaimed_keys.clear()

    # ------------------------------------------------------------------ internals

    def _bind(self, waiter: Waiter, order_id: str) -> None:
        waiter.order_id = order_id
        if self._by_key.get(order_id) not in (None, waiter):
            log.warning("Order %s is awaited twice; the later wait takes over", order_id)
        self._by_key[order_id] = waiter
        self._claim(waiter, order_id)

    def _forget(self, waiter: Waiter) -> None:
        self._waiters.discard(waiter)
        for key in (waiter.customer_order_id, waiter.order_id):
            if key is not None and self._by_key.get(key) is waiter:
                del self._by_key[key]

    def _buffer(self, notification: Notification, keys: tuple[str, ...]) -> None:
        self._expire()
        while len(self._unclaimed) >= self.unclaimed_limit:
            entry_id, oldest = self._unclaimed.popitem(last=False)
            self._unlink(entry_id, oldest)
        entry_id = self._next_entry
        self._next_entry += 1
        self._unclaimed[entry_id] = _Unclaimed(
            notification, self._clock() + self.unclaimed_ttl, keys
        )
        for key in keys:
            self._unclaimed_keys.setdefault(key, []).append(entry_id)

    def _claim(self, waiter: Waiter, key: str) -> None:
        self._expire()
        for entry_id in self._unclaimed_keys.pop(key, []):
            entry = self._unclaimed.pop(entry_id, None)
            if entry is None:
                continue
            self._unlink(entry_id, entry)
            waiter._feed(entry.notification)

    def _unlink(self, entry_id: int, entry: _Unclaimed) -> None:
        for key in entry.keys:
            ids = self._unclaimed_keys.get(key)
            if ids is None:
                continue
            if entry_id in ids:
                ids.remove(entry_id)
            if not ids:
                del self._unclaimed_keys[key]

    def _expire(self) -> None:
        now = self._clock()
        while self._unclaimed:
            entry_id, oldest = next(iter(self._unclaimed.items()))
            if oldest.expires_at > now:
                break
            del self._unclaimed[entry_id]
            self._unlink(entry_id, oldest)
