"""The waiting seam: what ``order_and_wait`` and ``wait_for_order`` need, as typed Protocols.

The flow places an order, then waits for whichever comes first: Bandwidth's callback, or a
poll of ``GET /orders/{id}`` that finds the order final. These Protocols are the only things
the flow knows about callbacks, so a registry shared by several processes (a store both
journals and routes notifications through) can take the in-process
:class:`~bwnumbers.OrderWaiters`' place without touching the flow. Every step that such a store
must do over the network is ``async``: registering, binding, delivering.

Waiters are keyed by order type and id, ``("orders", customer_order_id)`` or
``("orders", order_id)``; the type is that of Bandwidth's subscriptions
(https://dev.bandwidth.com/docs/account/subscriptions-2): disconnects share the receiver under
``("disconnects", ...)``.

Nothing here imports the receiver, the client or aiohttp.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Final, Protocol, TypeAlias, runtime_checkable

from ._disconnect_models import DisconnectDetails, DisconnectOrder, DisconnectRequest
from ._models import Notification, Order, OrderDetails, OrderRequest

__all__ = [
    "DISCONNECTS",
    "ORDERS",
    "DisconnectClient",
    "NotificationSink",
    "OrderClient",
    "OrderKey",
    "UnclaimedBuffer",
    "Waiter",
    "WaiterRegistry",
    "WaiterSource",
    "Waiters",
    "journal_key",
    "notification_keys",
    "notification_kind",
    "split_journal_key",
]

#: The order type of new-number orders, the first half of their waiters' keys.
ORDERS: Final = "orders"
#: The order type of disconnects: their waiters' keys, and their journal's namespace.
DISCONNECTS: Final = "disconnects"

#: ``(order type, id)``: the id is a customer order id or Bandwidth's order id.
OrderKey: TypeAlias = tuple[str, str]

# A notification's <OrderType> as each view of Bandwidth's spells it (subscriptions and
# notifications say "orders"/"disconnects", order listings "new_number"/"disconnect"), by the
# waiters' order type. https://dev.bandwidth.com/docs/account/subscriptions
_ORDER_TYPES: Final = {
    "orders": ORDERS,
    "new_number": ORDERS,
    "disconnects": DISCONNECTS,
    "disconnect": DISCONNECTS,
}
# The SPEC's other order types (SubscriptionOrderType): their notifications are no waiter's.
_OTHER_TYPES: Final = frozenset(
    {
        "portins", "portouts", "dldas", "lsrorders", "e911s", "tnoptions", "externaltns",
        "lidb", "bulkportins", "importtnorders", "removeimportedtnorders", "csrs",
        "emergencynotificationgroup", "emergencyendpointgroup", "tollfreeportingvalidations",
    }
)  # fmt: skip


def notification_kind(notification: Notification) -> str | None:
    """The order type whose waiters *notification* is for: ``"disconnects"`` for
    ``disconnects``/``disconnect``; ``None`` for Bandwidth's other order types (port-ins,
    E911s, ...), which no waiter of ours takes; else ``"orders"``: ``orders``/``new_number``,
    none at all (as the first notifications had), and a value Bandwidth does not document as a
    type (its own generic sample says ``OrderId``), as before disconnects shared the receiver.
    Case does not matter."""
    order_type = (notification.order_type or "").strip().lower()
    if order_type in _OTHER_TYPES:
        return None
    return _ORDER_TYPES.get(order_type, ORDERS)


def notification_keys(notification: Notification) -> tuple[OrderKey, ...]:
    """The keys a notification can be claimed under: its order id, then its customer order id,
    both under its order type (:func:`notification_kind`); none for types no waiter takes.

    Order ids and disconnect ids are separate spaces, and an order and a disconnect may share
    a customer order id: the type keeps each notification to its own waiter.
    """
    kind = notification_kind(notification)
    if kind is None:
        return ()
    return tuple(
        (kind, key) for key in (notification.order_id, notification.customer_order_id) if key
    )


def journal_key(kind: str, customer_order_id: str) -> str:
    """The key a store keeps an intent under: the customer order id for an order (as before
    disconnects existed, so journals written then read the same), ``"<kind>:<id>"`` for
    another kind. An order and a disconnect may share a customer order id; no customer order
    id contains a colon (Bandwidth allows letters, digits, dashes and spaces), so the two
    never meet."""
    return customer_order_id if kind == ORDERS else f"{kind}:{customer_order_id}"


def split_journal_key(key: str) -> tuple[str, str]:
    """``(kind, customer order id)`` of a :func:`journal_key`."""
    kind, colon, customer_order_id = key.partition(":")
    return (kind, customer_order_id) if colon else (ORDERS, key)


class Waiter(Protocol):
    """One order's wait for its final notification, registered with a :class:`WaiterRegistry`.

    .. versionadded:: 0.2
    """

    async def bind(self, order_id: str) -> None:
        """Also listen under Bandwidth's order id, once ``POST /orders`` has returned it."""

    def final(self) -> Awaitable[Notification]:
        """The first notification of a final status (COMPLETE, PARTIAL, FAILED).

        An ``async def`` fits; a future fits too, and spares the caller a task. Raises
        :class:`~bwnumbers.WaitersClosedError` when the registry closes first.
        """
        ...

    def on_update(self, hook: Callable[[Notification], None]) -> None:
        """Set, once, what to call with each notification of a non-final status.

        Updates that arrived before the hook was set (claimed from the unclaimed buffer) are
        passed to it at once; only a few of them are kept, the latest ones.
        """


class WaiterRegistry(Protocol):
    """Where orders wait for their notifications.

    .. versionadded:: 0.2
    """

    def register(self, key: OrderKey) -> AbstractAsyncContextManager[Waiter]:
        """Wait for the order under *key*, ``("orders", customer_order_id)`` usually.

        ``async with registry.register(key) as waiter:`` registers on entry (a notification
        that already arrived is claimed there) and releases the waiter on exit.
        """
        ...


class NotificationSink(Protocol):
    """Where received notifications go.

    .. versionadded:: 0.2
    """

    async def adeliver(self, notification: Notification) -> None:
        """Return once *notification* is resolved locally, stored, or handed over."""


class UnclaimedBuffer(Protocol):
    """Notifications that arrived before anyone waited for them (the callback often beats
    the ``POST /orders`` answer), bounded in size and age.

    It lives in one process: a shared store parks early notifications behind its own
    :class:`NotificationSink` instead.

    .. versionadded:: 0.2
    """

    def add(self, notification: Notification, keys: Sequence[OrderKey]) -> None:
        """Keep *notification* until one of *keys* is claimed, or it is evicted."""

    def claim(self, key: OrderKey) -> list[Notification]:
        """Remove and return, oldest first, what was kept under *key*."""
        ...

    def clear(self) -> None:
        """Forget everything."""

    def __len__(self) -> int:
        """How many notifications are kept."""
        ...


@runtime_checkable
class WaiterSource(Protocol):
    """Something that owns a :class:`WaiterRegistry`, such as a
    :class:`~bwnumbers.CallbackReceiver`.

    .. versionadded:: 0.2
    """

    @property
    def waiters(self) -> WaiterRegistry:
        """The registry orders wait in."""
        ...

    def polling_started(self) -> None:
        """An order waiting here fell back to polling: say so if no callback can arrive."""


#: What ``order_and_wait`` and ``wait_for_order`` accept as *waiters*: a receiver, a bare
#: registry, or ``None`` to wait by polling alone.
Waiters: TypeAlias = WaiterSource | WaiterRegistry | None


class OrderClient(Protocol):
    """What ordering and waiting need from a client; :class:`~bwnumbers.NumbersClient` is one.

    .. versionadded:: 0.2
    """

    async def place_order(self, request: OrderRequest) -> Order:
        """``POST /orders``, never placing an order twice; the result carries the order id."""
        ...

    async def get_order(self, order_id: str) -> OrderDetails:
        """``GET /orders/{id}``, the source of truth about an order's outcome."""
        ...

    async def find_order(self, customer_order_id: str) -> Order | None:
        """The order placed with *customer_order_id*, or ``None``."""
        ...


class DisconnectClient(Protocol):
    """What ``disconnect_and_wait`` needs from a client; :class:`~bwnumbers.NumbersClient` is
    one.

    .. versionadded:: 0.3
    """

    async def place_disconnect(self, request: DisconnectRequest) -> DisconnectOrder:
        """``POST /disconnects``, never disconnecting twice; the result carries the id."""
        ...

    async def get_disconnect(self, disconnect_id: str) -> DisconnectDetails:
        """``GET /disconnects/{id}``, the source of truth about a disconnect's outcome."""
        ...

    async def find_disconnect(
        self, request: DisconnectRequest, *, since: datetime, limit: int = 50
    ) -> DisconnectOrder | None:
        """The disconnect of exactly *request*'s numbers made since *since*, or ``None``."""
        ...
