"""The emulator's orders over time: when each is processed, and announcing each step.

The rules of a step live in :mod:`._orders`; this module decides *when* steps happen (after
``order_delay``, at once before the POST answer, again when numbers arrive) and hands their
notices to the :class:`~._delivery.Notifier`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bwnumbers.testing._criteria import Criteria, DryStock
from bwnumbers.testing._inventory import Inventory

from . import _orders as orders
from ._context import Context
from ._delivery import Notifier
from ._numbers import NumberStates

__all__ = ["OrderBook", "now"]

log = logging.getLogger("bwnumbers.emulator")


def now() -> dt.datetime:
    """The current time as order dates use it (UTC)."""
    return dt.datetime.now(dt.UTC)


class OrderBook:
    """Every order, by id, and the background steps that move them on."""

    def __init__(
        self,
        context: Context,
        inventory: Inventory,
        dry_stock: DryStock,
        notifier: Notifier,
        numbers: NumberStates,
    ) -> None:
        self._context = context
        self._numbers = numbers
        self._inventory = inventory
        self._dry_stock = dry_stock
        self._notifier = notifier
        self.orders: dict[str, orders.Order] = {}
        # Orders between taking a step and announcing it: numbers added meanwhile must not
        # process them a second time.
        self._busy: set[str] = set()

    def add(self, order: orders.Order) -> None:
        """Keep *order*, and process it after ``order_delay`` (or at once, see :meth:`process`)."""
        self.orders[order.id] = order
        log.info("Order %s received (%s)", order.id, order.customer_order_id)

    def schedule(self, order: orders.Order, delay: float) -> None:
        """Process *order* in the background after *delay* seconds."""
        self._context.spawn(self.process(order, delay=delay))

    def retry_backorders(self) -> None:
        """Numbers arrived: give every BACKORDERED order another chance."""
        for order in list(self.orders.values()):
            if order.status == "BACKORDERED":
                self.schedule(order, 0.0)

    async def process(self, order: orders.Order, *, delay: float) -> None:
        """One step of *order* after *delay* seconds, announced if its status changed."""
        if delay:
            await asyncio.sleep(delay)
        if order.id in self._busy or order.status in orders.FINAL:
            return

        def searched(criteria: Criteria, wanted: int, found: int) -> None:
            self._dry_stock.check(f"Order {order.id}", criteria, wanted=wanted, found=found)

        self._busy.add(order.id)
        try:
            before = len(order.completed)
            moment = now()
            step = orders.process(
                order, self._inventory, now=moment, on_search=searched, numbers=self._numbers
            )
            self._numbers.activate(
                order.completed[before:],
                order_id=order.id,
                site_id=order.site_id,
                ordered_at=order.created,
                now=moment,
            )
            log.info("Order %s is %s", order.id, order.status)
            if step.changed:
                await self._notifier.notify(step.notices)
        finally:
            self._busy.discard(order.id)

    def update(
        self, order: orders.Order, *, name: str | None, customer_order_id: str | None
    ) -> None:
        """Rename *order* and/or change its customer order id (``None``: unchanged)."""
        orders.update(order, name=name, customer_order_id=customer_order_id, now=now())
        log.info("Order %s updated (%s)", order.id, order.customer_order_id)

    async def close(self, order: orders.Order) -> None:
        """Close a BACKORDERED *order* and announce it."""
        step = orders.close(order, now=now())
        await self._notifier.notify(step.notices)
