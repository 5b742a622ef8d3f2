"""Value objects of the Phone Number API: what bwnumbers sends and what it decodes.

Everything here is a frozen, keyword-only attrs class with tuples for lists. No I/O and no XML:
decoding lives in ``_xml``, which builds these through their constructors.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Final, TypeAlias

import attrs

from ._checks import check_id
from ._exceptions import ValidationError
from ._numbers import normalize_numbers
from ._search import Search

__all__ = [
    "Notification",
    "NumberDetail",
    "Order",
    "OrderDetails",
    "OrderError",
    "OrderHistoryEntry",
    "OrderRequest",
    "OrderStatus",
    "OrderSummary",
    "SearchResult",
    "Subscription",
]

MAX_NAME_LENGTH: Final = 50


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


MAX_CUSTOMER_ORDER_ID_LENGTH: Final = 40
_CUSTOMER_ORDER_ID: Final = re.compile(r"[A-Za-z0-9\- ]+")
_MESSAGE_CODE: Final = re.compile(r"\s*(\d{3,5})\s*:\s*(.*)", re.DOTALL)


class OrderStatus(enum.StrEnum):
    """The status of an order, as ``OrderStatus`` in ``GET /orders/{id}`` or ``Status`` in a
    notification.

    A value Bandwidth adds later (or ``PROCESSING``, seen for other order types) does not
    crash decoding: ``OrderStatus("PROCESSING")`` is a pseudo-member that keeps the raw value,
    compares equal to it and is not final.
    """

    RECEIVED = "RECEIVED"
    BACKORDERED = "BACKORDERED"
    COMPLETE = "COMPLETE"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"

    @property
    def is_final(self) -> bool:
        """True for COMPLETE, PARTIAL and FAILED: nothing about the order changes after."""
        return self in _FINAL

    @property
    def is_known(self) -> bool:
        """False for a value this version of bwnumbers does not know."""
        return self._value_ in OrderStatus._value2member_map_

    @classmethod
    def _missing_(cls, value: object) -> OrderStatus | None:
        if not isinstance(value, str):
            return None
        normalized = value.strip().upper()
        known = cls._value2member_map_.get(normalized)
        if known is not None:
            return known  # type: ignore[return-value]
        pseudo = str.__new__(cls, normalized)
        pseudo._name_ = normalized
        pseudo._value_ = normalized
        return pseudo


_FINAL: Final = frozenset({OrderStatus.COMPLETE, OrderStatus.PARTIAL, OrderStatus.FAILED})


@attrs.frozen(kw_only=True)
class Subscription:
    """A subscription that tells Bandwidth where to send order notifications.

    *expiry* is in seconds: requested lifetime when creating, remaining lifetime when read
    back. *status* is the result of Bandwidth's latest delivery attempt (``READY``,
    ``200 OK``, or an error). The callback password is never returned by Bandwidth and never
    kept here.
    """

    id: str
    order_type: str | None = None
    order_id: str | None = None
    event_type: str | None = None
    url: str | None = None
    expiry: int | None = None
    status: str | None = None
    username: str | None = None
    number_format: str | None = None
    email: str | None = None
    digest: str | None = None


@attrs.frozen(kw_only=True)
class NumberDetail:
    """One available number with its location, as returned with ``enable_tn_detail=True``."""

    number: str
    city: str | None = None
    state: str | None = None
    rate_center: str | None = None
    lata: str | None = None
    tier: str | None = None
    vendor_id: str | None = None
    vendor_name: str | None = None


@attrs.frozen(kw_only=True)
class SearchResult:
    """What ``GET /availableNumbers`` found.

    *numbers* is always filled, also when details were asked for; *details* only then.
    """

    numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
    details: tuple[NumberDetail, ...] = attrs.field(
        converter=tuple[NumberDetail, ...], factory=tuple
    )
    result_count: int = 0


@attrs.frozen(kw_only=True)
class OrderError:
    """One entry of an order's ``ErrorList``: a code, its description and the number concerned.

    *code* is ``None`` when the entry had no numeric code.
    """

    code: int | None
    description: str
    number: str | None = None


def check_order_name(value: object) -> str:
    """Refuse an order name Bandwidth would refuse: empty, or over 50 characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("name= is empty: Bandwidth requires an order name.")
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"name= has {len(value)} characters; Bandwidth allows at most {MAX_NAME_LENGTH}."
        )
    return value


def check_customer_order_id(value: object) -> str:
    """Refuse a customer order id Bandwidth would refuse (5052)."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_CUSTOMER_ORDER_ID_LENGTH
        or not _CUSTOMER_ORDER_ID.fullmatch(value)
    ):
        raise ValidationError(
            f"customer_order_id={value!r} is invalid: Bandwidth accepts letters, digits, dashes "
            f"and spaces, at most {MAX_CUSTOMER_ORDER_ID_LENGTH} characters."
        )
    return value


def _check_name(_: object, __: object, value: str) -> None:
    check_order_name(value)


def _check_customer_order_id(_: object, __: object, value: str) -> None:
    check_customer_order_id(value)


def _check_id(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    check_id(attribute.name, value)


def new_customer_order_id() -> str:
    """A fresh id for correlating an order before Bandwidth has given it an id."""
    return str(uuid.uuid4())


def _default_name(request: OrderRequest) -> str:
    return f"bwnumbers {request.customer_order_id}"[:MAX_NAME_LENGTH]


def _to_numbers(value: object) -> tuple[str, ...] | None:
    return None if value is None else normalize_numbers(value)  # type: ignore[arg-type]


def _to_reservation_ids(value: Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes):  # a str is iterable: "r-1" is not ("r", "-", "1")
        raise ValidationError(
            "reservation_ids= takes a list of reservation ids, not a single string."
        )
    ids = tuple(check_id("reservation_ids", v) for v in value)
    if len(set(ids)) != len(ids):
        raise ValidationError("reservation_ids= names a reservation more than once.")
    return ids


#: The *numbers=* of an order, in any accepted form; normalized to ten digits when built.
OrderNumbers: TypeAlias = Sequence[str]
#: *partial_allowed=* and *back_order_requested=*: always sent, ``None`` meaning ``False``.
OrderFlag: TypeAlias = bool | None


@attrs.frozen(kw_only=True)
class OrderRequest:
    """A validated ``POST /orders`` body: specific numbers *or* a search, never both.

    Building one checks everything Bandwidth would reject for form: the name, the customer
    order id, the numbers (normalized to ten digits, no duplicates) and the search.
    *reservation_ids* names the reservations of reserved *numbers* (sent as Bandwidth's
    ``ReservationIdList``; the order consumes them); they are not paired with numbers.
    *partial_allowed* and *back_order_requested* default to ``False`` and are always sent,
    because Bandwidth's documents disagree on their defaults.
    """

    site_id: str = attrs.field(validator=_check_id)
    numbers: tuple[str, ...] | None = attrs.field(default=None, converter=_to_numbers)
    search: Search | None = None
    customer_order_id: str = attrs.field(
        factory=new_customer_order_id, validator=_check_customer_order_id
    )
    name: str = attrs.field(
        default=attrs.Factory(_default_name, takes_self=True), validator=_check_name
    )
    peer_id: str | None = attrs.field(default=None, validator=attrs.validators.optional(_check_id))
    partial_allowed: bool = False
    back_order_requested: bool = False
    reservation_ids: tuple[str, ...] = attrs.field(default=(), converter=_to_reservation_ids)

    @classmethod
    def build(
        cls,
        *,
        site_id: str,
        numbers: OrderNumbers | None = None,
        search: Search | None = None,
        name: str | None = None,
        customer_order_id: str | None = None,
        peer_id: str | None = None,
        partial_allowed: OrderFlag = None,
        back_order_requested: OrderFlag = None,
        reservation_ids: Sequence[str] | None = None,
    ) -> OrderRequest:
        """An OrderRequest from keyword arguments where ``None`` means "the default"."""
        optional: dict[str, str] = {}
        if name is not None:
            optional["name"] = name
        if customer_order_id is not None:
            optional["customer_order_id"] = customer_order_id
        return cls(
            site_id=site_id,
            numbers=numbers,  # the converter normalizes and checks it
            search=search,
            peer_id=peer_id,
            partial_allowed=False if partial_allowed is None else partial_allowed,
            back_order_requested=False if back_order_requested is None else back_order_requested,
            reservation_ids=reservation_ids,
            **optional,
        )

    def __attrs_post_init__(self) -> None:
        if (self.numbers is None) == (self.search is None):
            raise ValidationError(
                "Give either numbers=[...] to order specific numbers or search=Search(...) "
                "to order by criteria, not both and not neither."
            )
        if self.reservation_ids and self.search is not None:
            raise ValidationError(
                "reservation_ids= applies to an order of specific numbers=[...]: a search "
                "order picks its own numbers, which nobody reserved; order the reserved "
                "numbers with numbers=."
            )
        if self.search is not None:
            if not isinstance(self.search, Search):
                raise ValidationError("search= takes a bwnumbers.Search(...).")
            self.search.check_orderable()
        for name in ("partial_allowed", "back_order_requested"):
            if not isinstance(getattr(self, name), bool):
                raise ValidationError(f"{name}= must be True or False.")


@attrs.frozen(kw_only=True)
class Order:
    """An order as Bandwidth echoes it: what was asked for, and its id and status.

    ``create_order`` returns one with *status* ``RECEIVED``. *numbers* are the specific numbers
    ordered (empty for a search-and-order); *search* the criteria of a search-and-order.
    """

    id: str | None
    customer_order_id: str | None = None
    name: str | None = None
    site_id: str | None = None
    peer_id: str | None = None
    status: OrderStatus | None = None
    numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
    search: Search | None = None
    partial_allowed: bool | None = None
    back_order_requested: bool | None = None
    tn_attributes: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
    created_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class OrderDetails:
    """An order's state from ``GET /orders/{id}``, the source of truth about its outcome.

    *errors* is Bandwidth's ``ErrorList``: FAILED and PARTIAL orders come back with HTTP 200
    and their reasons here. *order* is the order as submitted.
    """

    id: str
    status: OrderStatus
    order: Order
    completed_numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
    failed_numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
    errors: tuple[OrderError, ...] = attrs.field(converter=tuple[OrderError, ...], factory=tuple)
    completed_quantity: int | None = None
    failed_quantity: int | None = None
    summary: str | None = None
    created_by_user: str | None = None
    last_modified: dt.datetime | None = None
    completed_at: dt.datetime | None = None

    @property
    def customer_order_id(self) -> str | None:
        """The customer order id the order was placed with."""
        return self.order.customer_order_id


@attrs.frozen(kw_only=True)
class OrderSummary:
    """One row of ``GET /orders``."""

    id: str
    status: OrderStatus | None = None
    customer_order_id: str | None = None
    order_type: str | None = None
    count_of_numbers: int | None = None
    user_id: str | None = None
    ordered_at: dt.datetime | None = None
    last_modified: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class OrderHistoryEntry:
    """One event of ``GET /orders/{id}/history``."""

    status: OrderStatus | None = None
    note: str | None = None
    author: str | None = None
    difference: str | None = None
    at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class Notification:
    """A ``<Notification>`` callback: Bandwidth's summary of an order's change.

    For ``orders`` it announces COMPLETE, PARTIAL, BACKORDERED or FAILED, or a note. On
    FAILED, *completed_numbers* lists the numbers that were *attempted* (Bandwidth's
    documented quirk), so ``GET /orders/{id}`` stays the source of truth.

    A notification may carry *order_id*, *customer_order_id*, or both.
    """

    subscription_id: str | None = None
    order_type: str | None = None
    order_id: str | None = None
    customer_order_id: str | None = None
    status: OrderStatus | None = None
    message: str | None = None
    note: str | None = None
    completed_numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)
    last_modified: dt.datetime | None = None
    actual_foc_date: dt.datetime | None = None
    event_type: str | None = None
    impacted_numbers: tuple[str, ...] = attrs.field(converter=_strings, factory=tuple)

    @property
    def error_code(self) -> int | None:
        """The code at the start of *message* (``"5005: The telephone number..."``), if any."""
        error = self.error
        return error.code if error else None

    @property
    def error(self) -> OrderError | None:
        """*message* as an :class:`OrderError` when it has the ``"code: description"`` form."""
        match = _MESSAGE_CODE.fullmatch(self.message or "")
        if not match:
            return None
        return OrderError(code=int(match.group(1)), description=match.group(2).strip())
