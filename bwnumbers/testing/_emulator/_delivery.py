"""Sending notifications: Bandwidth's Basic-auth challenge flow, no retries, and the
callback faults (drop, duplicate, delay, deliver before the POST answer, no customer order id).

How Bandwidth delivers them: https://dev.bandwidth.com/docs/numbers/webhooks ; its challenge
flow for callback credentials: https://dev.bandwidth.com/docs/account/subscriptions-2 .
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Coroutine
from typing import Any

import aiohttp
import attrs

from bwnumbers.testing import _wire as wire

from ._context import Context
from ._orders import Notice
from ._subscriptions import Subscription, SubscriptionRoutes

__all__ = ["Delivery", "Notifier"]

log = logging.getLogger("bwnumbers.emulator")


@attrs.frozen(kw_only=True)
class Delivery:
    """One notification the emulator tried to deliver (or dropped on purpose)."""

    subscription_id: str
    order_id: str
    status: str
    http_status: int | None
    authenticated: bool
    dropped: bool = False
    order_type: str = "orders"
    """``orders`` or ``disconnects``: the subscription type it went to."""


def render(notice: Notice, subscription: Subscription, *, customer_order_id: bool) -> bytes:
    """The ``<Notification>`` body for *subscription*; without ``CustomerOrderId`` if asked."""
    return wire.document(
        wire.element(
            "Notification",
            wire.element("Status", text=notice.status),
            wire.element("SubscriptionId", text=subscription.id),
            wire.element("Message", text=notice.message),
            wire.element("OrderId", text=notice.order_id),
            wire.element("OrderType", text=notice.order_type),
            wire.optional(
                "CustomerOrderId", notice.customer_order_id if customer_order_id else None
            ),
            wire.listing("CompletedTelephoneNumbers", "TelephoneNumber", notice.numbers),
            # Not in the specification's callback schema, but in Bandwidth's webhook guide and
            # read by clients: kept (tests/test_emulator_spec.py lists such contradictions).
            wire.element("LastModifiedDate", text=wire.timestamp(notice.modified)),
        )
    )


class Notifier:
    """Sends each notice to every subscription that wants it, and records each attempt.

    *session* is set while the emulator runs.
    """

    def __init__(self, context: Context, subscriptions: SubscriptionRoutes) -> None:
        self._context = context
        self._subscriptions = subscriptions
        self.deliveries: list[Delivery] = []
        self.session: aiohttp.ClientSession | None = None

    async def notify(self, notices: tuple[Notice, ...]) -> None:
        """Send *notices*: in the background, or at once with ``callback_before_response``."""
        faults = self._context.faults
        now = asyncio.get_running_loop().time()
        sends: list[Coroutine[Any, Any, None]] = []
        for notice in notices:
            for subscription in self._subscriptions.targets(
                notice.order_type, notice.order_id, now
            ):
                body = render(
                    notice, subscription, customer_order_id=not faults.omit_customer_order_id
                )
                # The draws happen in this order for every notice, so a seed repeats a run.
                if self._context.rng.random() < faults.drop_callbacks:
                    self._record(subscription, notice, None, authenticated=False, dropped=True)
                    continue
                copies = 2 if self._context.rng.random() < faults.duplicate_callbacks else 1
                for _ in range(copies):
                    sends.append(self._deliver(subscription, notice, body))
        if faults.callback_before_response:
            await asyncio.gather(*sends)
        else:
            for send in sends:
                self._context.spawn(send)

    async def _deliver(self, subscription: Subscription, notice: Notice, body: bytes) -> None:
        """One notification, with Bandwidth's challenge flow and no retries."""
        if self._context.faults.callback_delay:
            await asyncio.sleep(self._context.faults.callback_delay)
        session = self.session
        assert session is not None
        url = subscription.url
        assert url is not None  # targets() chooses callback subscriptions only
        headers = {"Content-Type": "application/xml; charset=utf-8"}

        async def post(authorization: str | None = None) -> tuple[int, str, str]:
            # A header, not aiohttp.BasicAuth, which aiohttp 3.14 deprecates (a warning per call).
            sent = headers if authorization is None else {**headers, "Authorization": authorization}
            async with session.post(
                url,
                data=body,
                headers=sent,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                challenge = response.headers.get("WWW-Authenticate", "")
                return response.status, response.reason or "", challenge

        status: int | None = None
        authenticated = False
        try:
            status, reason, challenge = await post()
            if status == 401 and subscription.username and challenge.lower().startswith("basic"):
                authenticated = True
                pair = f"{subscription.username}:{subscription.password or ''}".encode("latin-1")
                status, reason, _ = await post("Basic " + base64.b64encode(pair).decode("ascii"))
            subscription.status = f"{status} {reason}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            subscription.status = f"Callback failed: {type(exc).__name__}"
        log.info(
            "Notification %s for %s %s to %s: %s",
            notice.status,
            notice.order_type,
            notice.order_id,
            subscription.url,
            subscription.status,
        )
        self._record(subscription, notice, status, authenticated=authenticated)

    def _record(
        self,
        subscription: Subscription,
        notice: Notice,
        http_status: int | None,
        *,
        authenticated: bool,
        dropped: bool = False,
    ) -> None:
        self.deliveries.append(
            Delivery(
                subscription_id=subscription.id,
                order_id=notice.order_id,
                status=notice.status,
                http_status=http_status,
                authenticated=authenticated,
                dropped=dropped,
                order_type=notice.order_type,
            )
        )
