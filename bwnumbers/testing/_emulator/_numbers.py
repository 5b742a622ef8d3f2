"""What each number is to the account: reserved, in service, aging, or in stock (pure).

Bandwidth's life of a number (https://dev.bandwidth.com/apis/numbers/ , ``/tns/{tn}``): it is
Available, may be reserved for about four hours (``tnreservation``), is ordered and Inservice,
is disconnected and then Aging ("typically 30 days", during which "the customer owning the TN
can order it again"), and finally Available again. Nothing here does HTTP or reads a clock:
every method takes the moment it happens, and expired reservations and finished aging are
swept lazily by :meth:`NumberStates.sweep`.

Assumed where Bandwidth documents nothing:

- a reserved number leaves the stock: searches and orders by criteria never see it, and an
  order by numbers gets it only with its reservation id (else 5005, like any unavailable
  number);
- aging numbers are orderable by numbers by this account only (the emulator's one account
  is the one that disconnected them), never found by searches;
- a reservation that expired answers 5042, one that was released or ordered 5043.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import attrs

from bwnumbers import ValidationError
from bwnumbers.testing._inventory import Inventory

__all__ = [
    "ELSEWHERE",
    "NEW_NUMBER_ORDER",
    "Aging",
    "InService",
    "NumberStates",
    "Reservation",
    "ReservationRefused",
    "check_period",
]

ELSEWHERE = "another account"
"""The account that holds the reservations of ``emulator.reserve_elsewhere()``."""

NEW_NUMBER_ORDER = "NEW_NUMBER_ORDER"
DISCONNECT_ORDER = "DISCONNECT_NUMBER_ORDER"  # assumed: no sample shows /tns after a disconnect


def check_period(name: str, seconds: object) -> None:
    """Raise a ``ValidationError`` saying why, unless *seconds* is a positive, finite number."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds < float("inf")
    ):
        raise ValidationError(
            f"{name}={seconds!r} is not allowed: give a positive, finite number of seconds."
        )


class ReservationRefused(Exception):
    """A reservation request Bandwidth would refuse: its error code and description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@attrs.define(kw_only=True)
class Reservation:
    """One number held for one account until *expires_at*."""

    id: str
    number: str
    account_id: str
    expires_at: dt.datetime

    def seconds_left(self, now: dt.datetime) -> int:
        """``ReservationExpires``: whole seconds remaining, never negative."""
        return max(0, int((self.expires_at - now).total_seconds()))


@attrs.define(kw_only=True)
class InService:
    """A number on this account, and the order that put it there."""

    number: str
    order_id: str
    site_id: str
    ordered_at: dt.datetime
    since: dt.datetime
    modified: dt.datetime


@attrs.define(kw_only=True)
class Aging:
    """A disconnected number, held for this account until *until*."""

    number: str
    disconnect_id: str
    site_id: str
    since: dt.datetime
    until: dt.datetime


class NumberStates:
    """The state of every number this account reserved, owns or disconnected.

    Numbers in none of these states are in *inventory* (Available) or were taken by another
    customer.
    """

    def __init__(
        self,
        inventory: Inventory,
        *,
        account_id: str,
        reservation_lifetime: float,
        aging_period: float,
    ) -> None:
        check_period("reservation_lifetime", reservation_lifetime)
        check_period("aging_period", aging_period)
        self._inventory = inventory
        self.account_id = account_id
        self.reservation_lifetime = reservation_lifetime
        self.aging_period = aging_period
        self.reservations: dict[str, Reservation] = {}
        self._ended: dict[str, str] = {}  # reservation id -> "expired", "released", "ordered"
        self.in_service: dict[str, InService] = {}
        self.aging: dict[str, Aging] = {}

    # ------------------------------------------------------------------ time

    def sweep(self, now: dt.datetime) -> list[str]:
        """End the reservations and aging periods that are over at *now*; the numbers that
        went back to stock."""
        back: list[str] = []
        for reservation in list(self.reservations.values()):
            if reservation.expires_at <= now:
                self._end(reservation, "expired")
                back.append(reservation.number)
        for aging in list(self.aging.values()):
            if aging.until <= now:
                del self.aging[aging.number]
                back.append(aging.number)
        for number in back:
            self._inventory.put_back(number)
        return back

    # ------------------------------------------------------------------ reservations

    def reserved(self, number: str) -> Reservation | None:
        """The live reservation of *number*, by any account."""
        return next((r for r in self.reservations.values() if r.number == number), None)

    def reserve(
        self, number: str, *, reservation_id: str, account_id: str, now: dt.datetime
    ) -> Reservation:
        """Reserve *number* for *account_id*.

        Raises:
            ReservationRefused: 5040 for a number Bandwidth does not have, 5041 for one that
                is reserved (by anyone), in service, aging or gone to another customer.
        """
        self.sweep(now)
        if number not in self._inventory:
            if self._inventory.known(number) is None:
                raise ReservationRefused(
                    5040, f"Reservation failed: telephone number {number} not found."
                )
            raise ReservationRefused(
                5041, f"Reservation failed: telephone number {number} is not available."
            )
        self._inventory.take(number)
        reservation = Reservation(
            id=reservation_id,
            number=number,
            account_id=account_id,
            expires_at=now + dt.timedelta(seconds=self.reservation_lifetime),
        )
        self.reservations[reservation.id] = reservation
        return reservation

    def reservation(self, reservation_id: str, *, now: dt.datetime) -> Reservation:
        """This account's live reservation *reservation_id*.

        Raises:
            ReservationRefused: 5042 for another account's or an expired one, 5043 for an id
                that does not exist (never did, or was released or ordered).
        """
        self.sweep(now)
        found = self.reservations.get(reservation_id)
        if found is not None and found.account_id == self.account_id:
            return found
        if found is not None or self._ended.get(reservation_id) == "expired":
            raise ReservationRefused(
                5042, f"Reservation {reservation_id} for account {self.account_id} not found."
            )
        raise ReservationRefused(5043, f"Reservation {reservation_id} not found.")

    def release(self, reservation_id: str, *, now: dt.datetime) -> Reservation:
        """Release this account's reservation: its number goes back to stock.

        Raises:
            ReservationRefused: as :meth:`reservation`.
        """
        reservation = self.reservation(reservation_id, now=now)
        self._end(reservation, "released")
        self._inventory.put_back(reservation.number)
        return reservation

    def _end(self, reservation: Reservation, why: str) -> None:
        del self.reservations[reservation.id]
        self._ended[reservation.id] = why

    # ------------------------------------------------------------------ ordering

    def orderable(self, number: str, reservation_ids: Sequence[str], *, now: dt.datetime) -> bool:
        """Whether an order of this account listing *reservation_ids* can get *number*."""
        self.sweep(now)
        if number in self._inventory or number in self.aging:
            return True
        reservation = self.reserved(number)
        return (
            reservation is not None
            and reservation.account_id == self.account_id
            and reservation.id in reservation_ids
        )

    def claim(self, number: str, reservation_ids: Sequence[str], *, now: dt.datetime) -> bool:
        """Take *number* for an order of this account, if :meth:`orderable`; a listed
        reservation is used up, an aging number stops aging."""
        if not self.orderable(number, reservation_ids, now=now):
            return False
        reservation = self.reserved(number)
        if reservation is not None:
            self._end(reservation, "ordered")
        elif self.aging.pop(number, None) is None:
            self._inventory.take(number)
        return True

    def activate(
        self,
        numbers: Iterable[str],
        *,
        order_id: str,
        site_id: str,
        ordered_at: dt.datetime,
        now: dt.datetime,
    ) -> None:
        """*numbers* went into service on this account by order *order_id*."""
        for number in numbers:
            self.in_service[number] = InService(
                number=number,
                order_id=order_id,
                site_id=site_id,
                ordered_at=ordered_at,
                since=now,
                modified=now,
            )

    def disconnect(self, number: str, *, disconnect_id: str, now: dt.datetime) -> bool:
        """Take *number* out of service into aging; ``False`` if it is not in service here."""
        owned = self.in_service.pop(number, None)
        if owned is None:
            return False
        self.aging[number] = Aging(
            number=number,
            disconnect_id=disconnect_id,
            site_id=owned.site_id,
            since=now,
            until=now + dt.timedelta(seconds=self.aging_period),
        )
        return True

    # ------------------------------------------------------------------ reading

    def status(self, number: str, *, now: dt.datetime) -> str | None:
        """``/tns/{tn}``'s Status (``Inservice``, ``Aging``, ``Reserved``, ``Available``), or
        ``None`` for a number that is not Bandwidth's or is another customer's."""
        self.sweep(now)
        if number in self.in_service:
            return "Inservice"
        if number in self.aging:
            return "Aging"
        if self.reserved(number) is not None:
            return "Reserved"
        if number in self._inventory:
            return "Available"
        return None
