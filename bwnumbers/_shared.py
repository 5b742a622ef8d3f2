"""The seam between the waiting flow and an order store shared by several instances.

A service that runs several replicas behind a load balancer gets each of Bandwidth's callbacks
on whichever replica the balancer picks, while the call that waits for the order lives on one.
A :class:`SharedStore` (``bwnumbers.redis.RedisStore``) is an :class:`~bwnumbers.OrderStore`
that also carries notifications between instances: the :class:`~bwnumbers.OrderWaiters` it is
given to hand it every notification no local waiter claims (:meth:`SharedStore.route`), and it
hands back (:meth:`LocalSink.deliver_here`) those meant for orders waited for here.

Nothing here imports Redis: the stores of one process (``MemoryStore``, ``SQLiteStore``) do not
implement this Protocol, and their receivers keep unclaimed notifications in memory.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from ._models import Notification
from ._ratelimit import RateGate
from ._seam import OrderClient

__all__ = ["LocalSink", "SharedStore", "attach_account", "replay_recorded", "shared"]

log = logging.getLogger("bwnumbers.ordering")


class LocalSink(Protocol):
    """What a shared store hands notifications to: the :class:`~bwnumbers.OrderWaiters` of
    its instance.

    .. versionadded:: 0.3
    """

    def deliver_here(self, notification: Notification) -> bool:
        """Feed a waiter of this instance, else keep the notification in the local buffer
        (bounded) for a waiter about to listen under its order id; ``True`` if a waiter took it.
        """
        ...

    def waiting_ids(self) -> list[str]:
        """The customer order ids of the orders waiting in this instance."""
        ...


@runtime_checkable
class SharedStore(Protocol):
    """An :class:`~bwnumbers.OrderStore` shared by instances that also routes notifications.

    .. versionadded:: 0.3
    """

    def attach(self, sink: LocalSink) -> None:
        """Hand notifications for this instance's orders to *sink* from now on."""

    def detach(self, sink: LocalSink) -> None:
        """Stop handing notifications to *sink* (its receiver stopped)."""

    async def route(self, notification: Notification) -> None:
        """Store *notification* and hand it to the instance that waits for its order, or
        keep it once for an order not known yet. Returns once it is stored, handed over or
        queued locally for later (the store is unreachable); never raises."""

    def route_soon(self, notification: Notification) -> None:
        """:meth:`route` without waiting, for callers that cannot await."""

    def use_client(self, client: OrderClient) -> None:
        """The client of the account whose orders this store keeps (its account id names the
        keys; one store keeps one account's orders). The store may use it to finish orders an
        instance that died left behind."""

    def share_rate_limits(self, gate: RateGate) -> None:
        """Share *gate*'s 429 closings with the other instances of the account."""

    def unshare_rate_limits(self, gate: RateGate) -> None:
        """Stop sharing *gate*."""

    async def replay(self, customer_order_id: str) -> None:
        """Hand the sink the last notification recorded for the order, if any (one that was
        routed while nobody here waited for it)."""


def shared(store: object) -> SharedStore | None:
    """*store* if it is a :class:`SharedStore`, else ``None``."""
    return store if isinstance(store, SharedStore) else None


def attach_account(store: object, client: OrderClient) -> None:
    """Tell a shared *store* the client, and so the account, its orders are placed with."""
    if isinstance(store, SharedStore):
        store.use_client(client)


async def replay_recorded(store: object, customer_order_id: str) -> None:
    """:meth:`SharedStore.replay` for a shared *store*; a failure only costs speed (polling
    finishes the order), so it is logged, not raised."""
    if not isinstance(store, SharedStore):
        return
    try:
        await store.replay(customer_order_id)
    except Exception as error:  # the poller is the guarantee
        log.debug("No recorded notification replayed for %s: %s", customer_order_id, error)
