"""Value objects of a number's life after the search: reservations and the numbers owned.

Like :mod:`._models`, frozen keyword-only attrs classes with no I/O and no XML; the XML is in
:mod:`._xml._lifecycle`, the requests in :mod:`._reservations` and :mod:`._inventory` (which
re-export these). Wire facts: ``reference/lifecycle.md`` §1 and §3.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

__all__ = ["NumberInfo", "NumberStatus", "Reservation"]


@attrs.frozen(kw_only=True)
class Reservation:
    """A number held for this account (``/tnreservation``), about 4 hours by default.

    Attributes:
        id: the reservation id, for ``create_order(reservation_ids=[...])``,
            ``get_reservation`` and ``release_reservation``.
        number: the reserved number, ten digits.
        seconds_left: seconds until the reservation expires, as Bandwidth said when it was
            read (``<ReservationExpires>``); ``None`` when Bandwidth did not say.
        expires_at: when it expires (UTC), computed when it was read as that moment plus
            *seconds_left*; ``None`` with it.
        account_id: the account holding it, when Bandwidth said.

    .. versionadded:: 0.3
    """

    id: str
    number: str
    seconds_left: int | None = None
    expires_at: dt.datetime | None = None
    account_id: str | None = None


class NumberStatus(enum.StrEnum):
    """The status of a number in ``GET /tns/{tn}``.

    The SPEC's values are members; any other value Bandwidth sends (``Disconnected``,
    ``PortOut``...) becomes a pseudo-member that keeps it, as :class:`OrderStatus` does, and
    a known value in another case (``INSERVICE``) is that member.
    """

    INSERVICE = "Inservice"
    AVAILABLE = "Available"
    AGING = "Aging"
    RESERVED = "Reserved"
    PORT_IN_PENDING_FOC = "PortInPendingFoc"

    @property
    def is_known(self) -> bool:
        """False for a value this version of bwnumbers does not know."""
        return self._value_ in NumberStatus._value2member_map_

    @classmethod
    def _missing_(cls, value: object) -> NumberStatus | None:
        if not isinstance(value, str):
            return None
        text = value.strip()
        for member in cls:
            if member.value.lower() == text.lower():
                return member
        pseudo = str.__new__(cls, text)
        pseudo._name_ = text.upper()
        pseudo._value_ = text
        return pseudo


@attrs.frozen(kw_only=True)
class NumberInfo:
    """What ``GET /tns/{tn}`` says about a number: its status, site, and the last order.

    *order_id* and *order_type* name the **last** order that touched the number
    (``NEW_NUMBER_ORDER``, ``PORT_NUMBER_ORDER``...), not necessarily the one that bought it.
    Dates are UTC; *last_modified* is read from Bandwidth's non-ISO ``2014-03-25 12:55:11.0``
    too (taken as UTC).

    .. versionadded:: 0.3
    """

    number: str
    status: NumberStatus | None = None
    site_id: str | None = None
    account_id: str | None = None
    order_id: str | None = None
    order_type: str | None = None
    order_created_at: dt.datetime | None = None
    in_service_at: dt.datetime | None = None
    last_modified: dt.datetime | None = None
