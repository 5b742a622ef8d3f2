"""The emulator's test controls for numbers, orders and disconnects (a part of
``BandwidthEmulator``, kept apart so that each module stays small)."""

from __future__ import annotations

from collections.abc import Iterable

from bwnumbers import ValidationError
from bwnumbers.testing._criteria import DryStock
from bwnumbers.testing._inventory import Inventory

from ._book import OrderBook, now
from ._context import Context
from ._disconnect_routes import DisconnectRoutes
from ._numbers import ELSEWHERE, NumberStates, ReservationRefused

__all__ = ["NumberControls"]


class NumberControls:
    """Methods that put numbers in and out of stock and read orders' outcomes."""

    inventory: Inventory
    _book: OrderBook
    _context: Context
    _disconnects: DisconnectRoutes
    _dry_stock: DryStock
    _numbers: NumberStates

    def add_numbers(self, numbers: Iterable[str], **location: str) -> list[str]:
        """Put numbers in stock and give waiting backorders another chance."""
        added = self.inventory.add(numbers, **location)
        self._dry_stock.refilled()
        self._book.retry_backorders()
        return added

    def take(self, number: str) -> bool:
        """ "Another customer" orders *number* now; returns whether it was available.

        Raises:
            ValidationError: *number* is reserved (by this account or another): a reservation
                exists precisely so that nobody else can order it.
        """
        self._numbers.sweep(now())
        reservation = self._numbers.reserved(number)
        if reservation is not None:
            raise ValidationError(
                f"take({number!r}) is not possible: the number is reserved (reservation "
                f"{reservation.id}); release the reservation first, or take another number."
            )
        return self.inventory.take(number) is not None

    def reserve_elsewhere(self, number: str) -> str:
        """ "Another account" reserves *number* now; returns the reservation id.

        Raises:
            ValidationError: *number* cannot be reserved (not in stock: reserved, ordered,
                aging or unknown).
        """
        try:
            reservation = self._numbers.reserve(
                number, reservation_id=self._context.new_id(), account_id=ELSEWHERE, now=now()
            )
        except ReservationRefused as refused:
            raise ValidationError(
                f"reserve_elsewhere({number!r}) is not possible: {refused.description} "
                "Reserve a number that is in stock."
            ) from None
        return reservation.id

    def order_status(self, order_id: str) -> str:
        """The current status of an order (for assertions)."""
        return self._book.orders[order_id].status

    def finished_at(self, order_id: str) -> float | None:
        """When the order reached a final status (``time.time()`` seconds), else ``None``."""
        completed = self._book.orders[order_id].completed_at
        return completed.timestamp() if completed is not None else None

    @property
    def order_count(self) -> int:
        """How many orders exist."""
        return len(self._book.orders)

    def orders_with_customer_order_id(self, customer_order_id: str) -> list[str]:
        """Ids of the orders placed with *customer_order_id*."""
        return [
            o.id for o in self._book.orders.values() if o.customer_order_id == customer_order_id
        ]

    def disconnect_status(self, disconnect_id: str) -> str:
        """The current status of a disconnect order (for assertions)."""
        return self._disconnects.disconnects[disconnect_id].status

    @property
    def disconnect_count(self) -> int:
        """How many disconnect orders exist."""
        return len(self._disconnects.disconnects)

    def number_status(self, number: str) -> str | None:
        """What *number* is to this account now: ``"Inservice"``, ``"Aging"``, ``"Reserved"``
        (by anyone), ``"Available"`` (in stock), or ``None`` (another customer's, or unknown)."""
        return self._numbers.status(number, now=now())
