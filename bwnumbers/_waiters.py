"""``OrderWaiters``: the in-process waiter registry and notification sink.

A notification goes in (:meth:`OrderWaiters.deliver` or :meth:`~OrderWaiters.adeliver`); an
order waits for it in ``async with waiters.register(("orders", customer_order_id))``.
Notifications can arrive before anyone waits for them (the callback often beats the
``POST /orders`` response), so those go to an :class:`~bwnumbers.UnclaimedBuffer` that a later
registration checks first. Nothing here does HTTP.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final

from ._exceptions import WaitersClosedError
from ._models import Notification
from ._seam import OrderKey, UnclaimedBuffer, notification_keys
from ._shared import shared
from ._store import MemoryStore, OrderStore, journal_key
from ._unclaimed import DEFAULT_UNCLAIMED_LIMIT, DEFAULT_UNCLAIMED_TTL, MemoryUnclaimedBuffer

__all__ = ["LocalWaiter", "OrderWaiters"]

log = logging.getLogger("bwnumbers.receiver")

#: Non-final updates kept for a waiter whose update hook is not set yet (the latest ones).
HELD_UPDATES: Final = 8


class LocalWaiter:
    """One order's wait in an :class:`OrderWaiters`; a :class:`~bwnumbers.Waiter`.

    It is its own context manager: entering registers it, leaving releases it.
    """

    # The key is kept as its two strings, not as tuples: a waiter costs about 520 bytes, and
    # a tuple of two would add 64 to it, twice.
    __slots__ = ("_held", "_hook", "_registry", "customer_order_id", "future", "kind", "order_id")

    def __init__(self, registry: OrderWaiters, key: OrderKey) -> None:
        self._registry = registry
        self.kind, self.customer_order_id = key  # the id it waits under, the kind's namespace
        self.order_id: str | None = None  # Bandwidth's order id, once bound
        self.future: asyncio.Future[Notification] = asyncio.get_running_loop().create_future()
        self._hook: Callable[[Notification], None] | None = None
        self._held: collections.deque[Notification] | None = None

    def __repr__(self) -> str:
        state = "done" if self.future.done() else "pending"
        return f"<LocalWaiter {self.key} order_id={self.order_id} {state}>"

    @property
    def key(self) -> OrderKey:
        """What this waiter was registered under: ``(order type, id)``."""
        return (self.kind, self.customer_order_id)

    async def __aenter__(self) -> LocalWaiter:
        self._registry._add(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    async def bind(self, order_id: str) -> None:
        self._registry._bind(self, order_id)

    def final(self) -> asyncio.Future[Notification]:
        return self.future

    def on_update(self, hook: Callable[[Notification], None]) -> None:
        if self._hook is not None:
            raise RuntimeError("This waiter's update hook is set already.")
        self._hook = hook
        held, self._held = self._held, None
        for notification in held or ():
            self._call_hook(notification)

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
        elif self._hook is not None:
            self._call_hook(notification)
        else:
            if self._held is None:
                self._held = collections.deque(maxlen=HELD_UPDATES)
            self._held.append(notification)

    def _call_hook(self, notification: Notification) -> None:
        assert self._hook is not None
        try:
            self._hook(notification)
        except Exception:  # a user's hook must not cost us the order
            log.exception("on_update hook failed for order %s", self.order_id)


class OrderWaiters:
    """Waiters by order key, plus the unclaimed buffer: a :class:`~bwnumbers.WaiterRegistry`
    and a :class:`~bwnumbers.NotificationSink` in one process.

    Args:
        unclaimed: where notifications nobody waits for are kept (default: a
            :class:`MemoryUnclaimedBuffer` bounded by the two arguments below).
        unclaimed_limit: how many notifications nobody waits for are kept (oldest dropped).
        unclaimed_ttl: seconds an unclaimed notification is kept.
        clock: a monotonic clock in seconds (tests pass a fake).
        store: the journal of the orders that wait here, :attr:`store` (default: a new
            :class:`~bwnumbers.MemoryStore`); ``order_and_wait`` and ``recover`` use it. A
            store shared by several instances (``bwnumbers.redis.RedisStore``) also gets the
            notifications no waiter here claims, and routes them to the instance whose order
            they are, instead of this process's unclaimed buffer.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       :meth:`register` is an async context manager keyed by ``(order type, id)``;
       *store*.
    """

    def __init__(
        self,
        *,
        unclaimed: UnclaimedBuffer | None = None,
        unclaimed_limit: int = DEFAULT_UNCLAIMED_LIMIT,
        unclaimed_ttl: float = DEFAULT_UNCLAIMED_TTL,
        clock: Callable[[], float] = time.monotonic,
        store: OrderStore | None = None,
    ) -> None:
        self.store: OrderStore = store if store is not None else MemoryStore()
        self.unclaimed: UnclaimedBuffer = (
            unclaimed
            if unclaimed is not None
            else MemoryUnclaimedBuffer(limit=unclaimed_limit, ttl=unclaimed_ttl, clock=clock)
        )
        # By order type, then id: the ids are strings the waiters hold already.
        self._by_key: dict[str, dict[str, LocalWaiter]] = {}
        self._waiters: set[LocalWaiter] = set()
        self._closed = False
        self._shared = shared(store)
        if self._shared is not None:
            self._shared.attach(self)

    def __len__(self) -> int:
        """How many orders are waiting."""
        return len(self._waiters)

    def __repr__(self) -> str:
        return f"<OrderWaiters waiting={len(self)} unclaimed={len(self.unclaimed)}>"

    @property
    def unclaimed_count(self) -> int:
        """How many notifications wait in the unclaimed buffer."""
        return len(self.unclaimed)

    def register(self, key: OrderKey) -> LocalWaiter:
        """Wait for the order under *key*: ``async with waiters.register(("orders", id))``.

        Enter it *before* ``POST /orders``; a notification that already arrived under *key* is
        claimed on entry.

        Raises (on entry):
            ValueError: an order is already awaited under *key*.
            WaitersClosedError: the registry was closed.
        """
        if not (isinstance(key, tuple) and len(key) == 2):
            raise TypeError(f"key={key!r} must be (order type, id), such as ('orders', id).")
        return LocalWaiter(self, key)

    def deliver(self, notification: Notification) -> bool:
        """Hand a notification to its waiter; returns ``False`` if no waiter here took it.

        Then it goes to the unclaimed buffer, or with a shared store, to the store, which
        routes it to the instance waiting for it (soon: this method does not wait for that).
        """
        if self._shared is None:
            return self._deliver_or_buffer(notification)
        if self._feed_waiter(notification):
            return True
        self._shared.route_soon(notification)
        return False

    async def adeliver(self, notification: Notification) -> None:
        """:meth:`deliver`, as a :class:`~bwnumbers.NotificationSink`: resolved locally,
        buffered, or (with a shared store) stored and routed by the time it returns."""
        if self._shared is None:
            self._deliver_or_buffer(notification)
        elif not self._feed_waiter(notification):
            await self._shared.route(notification)

    def deliver_here(self, notification: Notification) -> bool:
        """Feed a waiter of this process; ``False`` if none waits for it (it is dropped).

        What a shared store calls with the notifications it routed here, each carrying the
        customer order id its waiter listens under. One no waiter takes (a late duplicate,
        an order whose call ended) is already recorded in the store, so it is not kept here.
        """
        return self._feed_waiter(notification)

    def _deliver_or_buffer(self, notification: Notification) -> bool:
        if self._feed_waiter(notification):
            return True
        self.unclaimed.add(notification, notification_keys(notification))
        return False

    def waiting_ids(self) -> list[str]:
        """The journal keys (:func:`~bwnumbers._store.journal_key`) of the orders waiting
        here: their customer order ids, ``disconnects:``-prefixed for disconnects."""
        return [journal_key(waiter.kind, waiter.customer_order_id) for waiter in self._waiters]

    def _feed_waiter(self, notification: Notification) -> bool:
        keys = notification_keys(notification)
        for kind, key in keys:
            waiter = self._by_key.get(kind, {}).get(key)
            if waiter is not None:
                waiter._feed(notification)
                return True
        return False

    def close(self) -> None:
        """Fail every pending waiter with :class:`WaitersClosedError`; no future stays pending."""
        self._closed = True
        if self._shared is not None:
            self._shared.detach(self)
        for waiter in list(self._waiters):
            if not waiter.future.done():
                waiter.future.set_exception(
                    WaitersClosedError("The callback receiver was closed while the order waited.")
                )
            self._forget(waiter)
        self.unclaimed.clear()

    # ------------------------------------------------------------------ internals

    def _add(self, waiter: LocalWaiter) -> None:
        if self._closed:
            raise WaitersClosedError(
                "These order waiters are closed (their receiver stopped); wait with a receiver "
                "that is running, or with waiters=None to wait by polling alone."
            )
        table = self._by_key.setdefault(waiter.kind, {})
        if waiter.customer_order_id in table:
            raise ValueError(f"An order with key {waiter.key} is already awaited.")
        self._waiters.add(waiter)
        table[waiter.customer_order_id] = waiter
        self._claim(waiter, waiter.customer_order_id)

    def _bind(self, waiter: LocalWaiter, order_id: str) -> None:
        waiter.order_id = order_id
        table = self._by_key.setdefault(waiter.kind, {})
        if table.get(order_id) not in (None, waiter):
            log.warning("Order %s is awaited twice; the later wait takes over", order_id)
        table[order_id] = waiter
        self._claim(waiter, order_id)

    def _forget(self, waiter: LocalWaiter) -> None:
        self._waiters.discard(waiter)
        table = self._by_key.get(waiter.kind, {})
        for key in (waiter.customer_order_id, waiter.order_id):
            if key is not None and table.get(key) is waiter:
                del table[key]

    def _claim(self, waiter: LocalWaiter, key: str) -> None:
        for notification in self.unclaimed.claim((waiter.kind, key)):
            waiter._feed(notification)
