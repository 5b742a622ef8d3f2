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

import asyncio
import logging
from typing import Protocol, runtime_checkable

from ._models import Notification
from ._ratelimit import RateGate
from ._seam import OrderClient
from ._store import IntentState, OrderIntent, OrderStore

__all__ = [
    "LocalSink",
    "SharedStore",
    "attach_account",
    "placed_elsewhere",
    "replay_recorded",
    "shared",
]

log = logging.getLogger("bwnumbers.ordering")


class LocalSink(Protocol):
    """What a shared store hands notifications to: the :class:`~bwnumbers.OrderWaiters` of
    its instance.

    .. versionadded:: 0.3
    """

    def deliver_here(self, notification: Notification) -> bool:
        """Feed the waiter of this instance that *notification*'s order id or customer order
        id names; ``False`` (and the notification is dropped) if there is none."""
        ...

    def waiting_ids(self) -> list[str]:
        """The journal keys of the orders waiting in this instance (their customer order ids,
        prefixed by kind for disconnects: :func:`~bwnumbers._store.journal_key`)."""
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

    async def owner_alive(self, owner: str) -> bool:
        """Whether the instance named *owner* holds its lease (it is running)."""
        ...

    async def replay(self, customer_order_id: str) -> None:
        """Hand the sink the last notification recorded for the order (by journal key), if
        any (one that was routed while nobody here waited for it)."""


def shared(store: object) -> SharedStore | None:
    """*store* if it is a :class:`SharedStore`, else ``None``."""
    return store if isinstance(store, SharedStore) else None


def attach_account(store: object, client: OrderClient) -> None:
    """Tell a shared *store* the client, and so the account, its orders are placed with."""
    if isinstance(store, SharedStore):
        store.use_client(client)


#: How often a call polls the store for an order another instance is placing: first, cap.
PLACEMENT_POLL_FIRST, PLACEMENT_POLL_MAX = 0.05, 0.5


async def placed_elsewhere(
    store: OrderStore, intent: OrderIntent, deadline: float | None
) -> OrderIntent:
    """*intent*, once the live instance that is placing it knows its order id (or is gone).

    A re-call with a customer order id that another running instance has just recorded must
    not place the order a second time while that instance's POST is under way: it waits
    until the intent has an order id (then it waits for the order like any other), is
    finished, or its owner stopped holding its lease (then it looks the order up). Raises
    ``TimeoutError`` at *deadline* (loop time).
    """
    shared_store = shared(store)
    if shared_store is None:
        return intent
    delay = PLACEMENT_POLL_FIRST
    async with asyncio.timeout_at(deadline):
        while (
            intent.state is IntentState.INTENT
            and intent.owner != store.owner
            and await shared_store.owner_alive(intent.owner)
        ):
            await asyncio.sleep(delay)
            delay = min(delay * 2, PLACEMENT_POLL_MAX)
            intent = await store.get(intent.key) or intent
    return intent


async def replay_recorded(store: object, customer_order_id: str) -> None:
    """:meth:`SharedStore.replay` for a shared *store*; a failure only costs speed (polling
    finishes the order), so it is logged, not raised."""
    if not isinstance(store, SharedStore):
        return
    try:
        await store.replay(customer_order_id)
    except Exception as error:  # the poller is the guarantee
        log.debug("No recorded notification replayed for %s: %s", customer_order_id, error)
