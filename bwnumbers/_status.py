"""How ``order_and_wait`` tells its caller about the statuses an order passes through."""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ._disconnect_models import DisconnectDetails
from ._models import Notification, OrderDetails, OrderStatus

__all__ = ["ResultSource", "StatusHook", "StatusReporter", "StatusUpdate"]

log = logging.getLogger("bwnumbers.ordering")


class ResultSource(enum.StrEnum):
    """How bwnumbers learned an order's outcome."""

    CALLBACK = "callback"
    POLL = "poll"
    RESPONSE = "response"  # the answer to POST /orders (only ever RECEIVED or similar)
    STORE = "store"  # the outcome recorded in the order store: a re-call made no request


@attrs.frozen(kw_only=True)
class StatusUpdate:
    """A non-final status an order (or a disconnect) went through (RECEIVED, BACKORDERED, ...).

    *details* is the ``GET /orders/{id}`` (or ``GET /disconnects/{id}``) that saw it.
    """

    order_id: str
    customer_order_id: str
    status: OrderStatus
    source: ResultSource
    notification: Notification | None = None
    details: OrderDetails | DisconnectDetails | None = None


StatusHook = Callable[[StatusUpdate], Awaitable[None] | None]


class StatusReporter:
    """Calls the user's *on_status* once per status change; its failures are only logged."""

    def __init__(
        self, hook: StatusHook | None, order_id: str, customer_order_id: str, noun: str = "order"
    ) -> None:
        self._hook = hook
        self._noun = noun
        self._order_id = order_id
        self._customer_order_id = customer_order_id
        self._last: OrderStatus | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def last(self) -> OrderStatus | None:
        return self._last

    def report(
        self,
        status: OrderStatus | None,
        source: ResultSource,
        *,
        notification: Notification | None = None,
        details: Any = None,
    ) -> None:
        if status is None or status == self._last or status.is_final:
            return
        self._last = status
        log.info("%s %s is %s (%s)", self._noun.capitalize(), self._order_id, status, source)
        if self._hook is None:
            return
        update = StatusUpdate(
            order_id=self._order_id,
            customer_order_id=self._customer_order_id,
            status=status,
            source=source,
            notification=notification,
            details=details,
        )
        try:
            result = self._hook(update)
        except Exception:
            log.exception("on_status hook failed for %s %s", self._noun, self._order_id)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(self._guard(result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _guard(self, awaitable: Awaitable[None]) -> None:
        try:
            await awaitable
        except Exception:
            log.exception("on_status hook failed for %s %s", self._noun, self._order_id)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
