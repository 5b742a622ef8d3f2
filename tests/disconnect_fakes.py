"""A disconnect client in memory, for the flow's tests before and beside the emulator.

It keeps what ``POST /disconnects`` made, answers ``GET /disconnects/{id}`` and
``find_disconnect`` from it, and counts each call; a test finishes a disconnect when it
chooses (:meth:`FakeDisconnects.finish`) and delivers its notification or not.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import itertools
import time
from typing import Any

import attrs

from bwnumbers import Notification, OrderError, OrderStatus, OrderWaiters
from bwnumbers._disconnect_models import DisconnectDetails, DisconnectOrder, DisconnectRequest
from bwnumbers._kinds import disconnect_digest, disconnect_fields
from bwnumbers._store import OrderIntent


def dead_intent(
    request: DisconnectRequest, *, created_at: float | None = None, metadata: Any = None
) -> OrderIntent:
    """A disconnect's intent as a process that died right after journaling it left it."""
    return OrderIntent(
        kind="disconnects",
        customer_order_id=request.customer_order_id,
        request_digest=disconnect_digest(request),
        request=disconnect_fields(request),
        request_xml="",
        metadata=metadata or {},
        created_at=time.time() if created_at is None else created_at,
    )


@attrs.define
class Made:
    """One disconnect the fake holds."""

    id: str
    request: DisconnectRequest
    created_at: dt.datetime
    status: OrderStatus = OrderStatus.RECEIVED
    failed: tuple[str, ...] = ()
    errors: tuple[OrderError, ...] = ()


class FakeDisconnects:
    """The disconnect half of a client, in memory (a :class:`~bwnumbers.DisconnectClient`)."""

    account_id = "9900001"

    def __init__(self) -> None:
        self.made: dict[str, Made] = {}
        self.calls: collections.Counter[str] = collections.Counter()
        self.placed = asyncio.Event()
        self.finds: list[dt.datetime] = []
        self._ids = itertools.count(1)
        #: Finish each disconnect COMPLETE and notify these waiters before the POST answers
        #: (Bandwidth's callback can beat its response).
        self.complete_during_post: OrderWaiters | None = None

    async def place_disconnect(self, request: DisconnectRequest) -> DisconnectOrder:
        self.calls["place"] += 1
        made = Made(f"d-{next(self._ids)}", request, dt.datetime.now(dt.UTC))
        self.made[made.id] = made
        self.placed.set()
        answer = self._order(made)
        if self.complete_during_post is not None:
            self.finish(made, OrderStatus.COMPLETE, notify=self.complete_during_post)
        return answer

    async def get_disconnect(self, disconnect_id: str) -> DisconnectDetails:
        self.calls["get"] += 1
        made = self.made[disconnect_id]
        done = tuple(n for n in made.request.numbers if n not in made.failed)
        final = made.status.is_final
        return DisconnectDetails(
            id=made.id,
            order=self._order(made),
            status=made.status,
            disconnected_numbers=done if final and made.status is not OrderStatus.FAILED else (),
            failed_numbers=made.failed,
            errors=made.errors,
        )

    async def find_disconnect(
        self, request: DisconnectRequest, *, since: dt.datetime, limit: int = 50
    ) -> DisconnectOrder | None:
        self.calls["find"] += 1
        self.finds.append(since)
        for made in reversed(self.made.values()):
            same = sorted(made.request.numbers) == sorted(request.numbers)
            if same and made.created_at >= since:
                return self._order(made)
        return None

    def only(self) -> Made:
        """The one disconnect made (fails the test if there are others)."""
        (made,) = self.made.values()
        return made

    def finish(
        self,
        made: Made,
        status: OrderStatus,
        *,
        failed: dict[str, OrderError] | None = None,
        notify: OrderWaiters | None = None,
        order_type: str = "disconnects",
    ) -> Notification:
        """End *made* with *status*; deliver its notification to *notify* if given."""
        made.status = status
        made.failed = tuple(failed or ())
        made.errors = tuple((failed or {}).values())
        note = Notification(
            order_type=order_type,
            order_id=made.id,
            customer_order_id=made.request.customer_order_id,
            status=status,
            completed_numbers=made.request.numbers,
        )
        if notify is not None:
            notify.deliver(note)
        return note

    @staticmethod
    def _order(made: Made) -> DisconnectOrder:
        return DisconnectOrder(
            id=made.id,
            customer_order_id=made.request.customer_order_id,
            numbers=made.request.numbers,
            status=made.status,
            created_at=made.created_at,
            created_at_raw=made.created_at.isoformat(),
            disconnect_mode=None,
            name=made.request.name,
        )
