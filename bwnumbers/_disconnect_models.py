"""Value objects of disconnects: what ``POST /disconnects`` sends and what the API answers.

Like :mod:`bwnumbers._models`, frozen keyword-only attrs classes with tuples for lists, no I/O
and no XML (the codec is :mod:`bwnumbers._xml._disconnects`). The wire facts, with their
sources and disagreements, are in Bandwidth's ``DisconnectTelephoneNumberOrder`` reference
(https://dev.bandwidth.com/apis/numbers/).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from ._exceptions import ValidationError
from ._models import OrderError, OrderStatus, new_customer_order_id
from ._numbers import normalize_numbers

__all__ = [
    "DisconnectDetails",
    "DisconnectMode",
    "DisconnectOrder",
    "DisconnectRequest",
    "DisconnectSummary",
]

#: Bandwidth's limits for a disconnect's ``CustomerOrderId`` ("Only alphanumeric values,
#: dashes and spaces", at most 40) and its deprecated ``Name`` (at most 50).
MAX_DISCONNECT_CUSTOMER_ORDER_ID_LENGTH: Final = 40
MAX_DISCONNECT_NAME_LENGTH: Final = 50
_CUSTOMER_ORDER_ID: Final = re.compile(r"[A-Za-z0-9\- ]+")


class DisconnectMode(enum.StrEnum):
    """How Bandwidth disconnects the numbers (``DisconnectMode``).

    Bandwidth documents two vocabularies: its API specification's enum ``NORMAL``/``PURGE``
    (default ``NORMAL``), and the error 5084 text "Valid values are: normal, soft-remove,
    purge". Both are accepted here, in any case (``DisconnectMode("PURGE")``,
    ``DisconnectMode("soft_remove")``). :attr:`wire` is what is sent: the specification's
    spelling for the two it knows; ``soft-remove``, which only the error text names, is sent
    as that text spells it (assumed).
    """

    NORMAL = "normal"
    PURGE = "purge"
    SOFT_REMOVE = "soft-remove"

    @property
    def wire(self) -> str:
        """The ``DisconnectMode`` text sent to Bandwidth."""
        return "soft-remove" if self is DisconnectMode.SOFT_REMOVE else self.value.upper()

    @classmethod
    def _missing_(cls, value: object) -> DisconnectMode | None:
        if not isinstance(value, str):
            return None
        normalized = value.strip().lower().replace("_", "-")
        known = cls._value2member_map_.get(normalized)
        return known if isinstance(known, DisconnectMode) else None


def _check_numbers(value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("numbers= takes a list of phone numbers, such as ['5402278098'].")
    numbers = tuple(value)
    if not numbers:
        raise ValidationError("numbers= is empty: give at least one phone number to disconnect.")
    return normalize_numbers(numbers)


def _check_customer_order_id(_: object, __: object, value: str) -> None:
    if (
        not isinstance(value, str)
        or len(value) > MAX_DISCONNECT_CUSTOMER_ORDER_ID_LENGTH
        or not _CUSTOMER_ORDER_ID.fullmatch(value)
    ):
        raise ValidationError(
            f"customer_order_id={value!r} is invalid for a disconnect: Bandwidth accepts "
            f"letters, digits, dashes and spaces, at most "
            f"{MAX_DISCONNECT_CUSTOMER_ORDER_ID_LENGTH} characters."
        )


def _check_name(_: object, __: object, value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("name= must be a non-empty string, or None to send no name.")
    if len(value) > MAX_DISCONNECT_NAME_LENGTH:
        raise ValidationError(
            f"name= has {len(value)} characters; Bandwidth allows at most "
            f"{MAX_DISCONNECT_NAME_LENGTH} for a disconnect."
        )


def _check_mode(_: object, __: object, value: DisconnectMode | None) -> None:
    if value is not None and not isinstance(value, DisconnectMode):
        raise ValidationError("disconnect_mode= takes a bwnumbers.DisconnectMode.")


def to_disconnect_mode(value: DisconnectMode | str | None) -> DisconnectMode | None:
    """*value* as a :class:`DisconnectMode` (either vocabulary, any case), or ``None``.

    Raises:
        ValidationError: *value* is not one of Bandwidth's disconnect modes.
    """
    if value is None or isinstance(value, DisconnectMode):
        return value
    try:
        return DisconnectMode(value)
    except ValueError:
        raise ValidationError(
            f"disconnect_mode={value!r} is not a disconnect mode: use normal, purge or "
            "soft-remove (NORMAL and PURGE in Bandwidth's specification's spelling)."
        ) from None


@attrs.frozen(kw_only=True)
class DisconnectRequest:
    """A validated ``POST /disconnects`` body.

    *numbers* are normalized to ten digits (at least one, no duplicates). *customer_order_id*
    is the only key a disconnect can be correlated by before Bandwidth gives it an id: a
    UUID4 when not given. *name* (deprecated by Bandwidth) and *disconnect_mode* are sent only
    when given; Bandwidth's default mode is ``NORMAL``.
    """

    numbers: tuple[str, ...] = attrs.field(converter=_check_numbers)
    customer_order_id: str = attrs.field(
        factory=new_customer_order_id, validator=_check_customer_order_id
    )
    name: str | None = attrs.field(default=None, validator=_check_name)
    disconnect_mode: DisconnectMode | None = attrs.field(default=None, validator=_check_mode)

    @classmethod
    def build(
        cls,
        numbers: Sequence[str],
        *,
        name: str | None = None,
        customer_order_id: str | None = None,
        disconnect_mode: DisconnectMode | str | None = None,
    ) -> DisconnectRequest:
        """A DisconnectRequest from arguments where ``None`` means "the default".

        Raises:
            ValidationError: a number, the name, the customer order id or the mode is invalid.
        """
        optional: dict[str, str] = {}
        if customer_order_id is not None:
            optional["customer_order_id"] = customer_order_id
        return cls(
            numbers=numbers,  # the converter normalizes and checks it
            name=name,
            disconnect_mode=to_disconnect_mode(disconnect_mode),
            **optional,
        )


def _strings(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class DisconnectOrder:
    """A disconnect as Bandwidth echoes it: the answer to ``POST /disconnects``, or the
    ``orderRequest`` of ``GET /disconnects/{id}``.

    *status* is ``RECEIVED`` after the POST, when Bandwidth sends one (its specification's
    schema has none). *created_at* is ``None`` when Bandwidth's timestamp could not be read;
    *created_at_raw* keeps its text (samples have ``2022-05-25T14-12-57.840Z``).
    *disconnect_mode* is the echoed text, as Bandwidth spells it (``normal``).
    """

    id: str | None
    customer_order_id: str | None = None
    numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
    status: OrderStatus | None = None
    created_at: dt.datetime | None = None
    created_at_raw: str | None = None
    disconnect_mode: str | None = None
    name: str | None = None


@attrs.frozen(kw_only=True)
class DisconnectDetails:
    """A disconnect's state from ``GET /disconnects/{id}``, the source of truth.

    COMPLETE lists every number in *disconnected_numbers*; FAILED lists the reasons in
    *errors*, each naming its number (:attr:`OrderError.number`), and those numbers in
    *failed_numbers*; PARTIAL has both.
    """

    id: str
    order: DisconnectOrder
    status: OrderStatus
    disconnected_numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
    failed_numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
    errors: tuple[OrderError, ...] = attrs.field(converter=tuple[OrderError, ...], factory=tuple)

    @property
    def customer_order_id(self) -> str | None:
        """The customer order id the disconnect was placed with, when Bandwidth echoes it."""
        return self.order.customer_order_id


@attrs.frozen(kw_only=True)
class DisconnectSummary:
    """One row of ``GET /disconnects``.

    Bandwidth's rows carry no customer order id. *numbers* is filled only when the row has
    ``TelephoneNumberDetails`` naming them; use :meth:`NumbersClient.get_disconnect` otherwise.
    """

    id: str
    status: OrderStatus | None = None
    count_of_numbers: int | None = None
    user_id: str | None = None
    ordered_at: dt.datetime | None = None
    last_modified: dt.datetime | None = None
    numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
