"""STUB of helper D1's disconnect models, only so that ``disconnect_and_wait`` can be written
and tested before D1's branch lands; the merge replaces this file with D1's (keep theirs)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence

import attrs

from ._models import OrderError, OrderStatus
from ._numbers import normalize_numbers

__all__ = ["DisconnectDetails", "DisconnectMode", "DisconnectOrder", "DisconnectRequest"]


class DisconnectMode(enum.StrEnum):
    NORMAL = "normal"
    PURGE = "purge"
    SOFT_REMOVE = "soft-remove"


@attrs.frozen(kw_only=True)
class DisconnectRequest:
    numbers: tuple[str, ...]
    customer_order_id: str
    name: str | None = None
    disconnect_mode: DisconnectMode | None = None

    @classmethod
    def build(
        cls,
        numbers: Sequence[str],
        *,
        name: str | None = None,
        customer_order_id: str | None = None,
        disconnect_mode: DisconnectMode | str | None = None,
    ) -> DisconnectRequest:
        return cls(
            numbers=normalize_numbers(numbers),
            customer_order_id=customer_order_id or str(uuid.uuid4()),
            name=name,
            disconnect_mode=None if disconnect_mode is None else DisconnectMode(disconnect_mode),
        )


@attrs.frozen(kw_only=True)
class DisconnectOrder:
    id: str | None
    customer_order_id: str | None = None
    numbers: tuple[str, ...] = ()
    status: OrderStatus | None = None
    created_at: dt.datetime | None = None
    created_at_raw: str | None = None
    disconnect_mode: str | None = None
    name: str | None = None


@attrs.frozen(kw_only=True)
class DisconnectDetails:
    id: str
    order: DisconnectOrder
    status: OrderStatus
    disconnected_numbers: tuple[str, ...] = ()
    failed_numbers: tuple[str, ...] = ()
    errors: tuple[OrderError, ...] = ()
