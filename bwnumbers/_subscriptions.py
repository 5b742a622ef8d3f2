"""The subscription methods of :class:`NumbersClient`: where Bandwidth sends notifications.

The ``/accounts/{accountId}/subscriptions`` endpoints of Bandwidth's Numbers API:
https://dev.bandwidth.com/apis/numbers/
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Final

from . import _xml
from ._api import ApiBase, location_id
from ._checks import check_both_or_neither, check_text, id_segment
from ._exceptions import ConflictError, DecodeError, ValidationError
from ._models import Subscription
from ._subscription_body import subscription_request, with_id

__all__ = ["DEFAULT_RENEW_WITHIN", "DEFAULT_SUBSCRIPTION_EXPIRY", "SubscriptionMethods"]

log = logging.getLogger("bwnumbers.client")

# Bandwidth's guide suggests "very large" (100 years); ensure_subscription renews before the end.
DEFAULT_SUBSCRIPTION_EXPIRY: Final = 3_153_600_000
DEFAULT_RENEW_WITHIN: Final = 86_400


class SubscriptionMethods(ApiBase):
    """Create, read, renew and delete subscriptions, one per order type (for NumbersClient)."""

    _subscription_lock: asyncio.Lock

    async def create_subscription(
        self,
        url: str | None = None,
        *,
        email: str | None = None,
        digest: str | None = None,
        event_type: str | None = None,
        order_type: str | None = None,
        order_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        expiry: int = DEFAULT_SUBSCRIPTION_EXPIRY,
        number_format: str | None = None,
    ) -> Subscription:
        """Ask Bandwidth to send notifications for *order_type* orders to *url* or *email*.

        Give exactly one of *url* (a callback subscription) and *email* (an email
        subscription), and at most one of *order_type* and *event_type*.

        Args:
            url: where Bandwidth posts ``<Notification>`` callbacks (public, https advised).
            email: the address Bandwidth emails instead (no credentials, no expiry).
            digest: for *email*: ``"NONE"`` (an email per event, the default) or ``"DAILY"``,
                in any case; sent in upper case.
            event_type: an event type instead of an order type, such as ``"MESSAGING_LOST"``.
            order_type: ``orders`` (the default) for new-number orders, ``disconnects`` for
                disconnects.
            order_id: limit an order-type subscription to one order.
            username, password: the Basic credentials Bandwidth will send (both or neither).
            expiry: lifetime in seconds (default: 100 years, as Bandwidth's guide suggests).
            number_format: for *url*: how numbers are written (Bandwidth's ``LEGACY`` or
                ``E164``), sent as given; Bandwidth's default is ``LEGACY``.

        Raises:
            ValidationError: bad or conflicting arguments. ConflictError: a duplicate.

        .. versionchanged:: 0.3 *email*, *digest*, *event_type* and *number_format*; *url*
           may be left out for an email subscription.
        """
        body, wanted = subscription_request(
            url=url,
            email=email,
            digest=digest,
            event_type=event_type,
            order_type=order_type,
            order_id=order_id,
            username=username,
            password=password,
            expiry=expiry,
            default_expiry=DEFAULT_SUBSCRIPTION_EXPIRY,
            number_format=number_format,
        )
        response = await self._request("POST", "/subscriptions", body=body, idempotent=False)
        subscription_id = location_id(response.headers)
        if subscription_id is None:
            raise DecodeError(
                "Bandwidth created the subscription but sent no Location header with its id.",
                body=response.body,
            )
        return with_id(wanted, subscription_id)

    async def update_subscription(
        self,
        subscription_id: str,
        url: str | None = None,
        *,
        email: str | None = None,
        digest: str | None = None,
        event_type: str | None = None,
        order_type: str | None = None,
        order_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        expiry: int = DEFAULT_SUBSCRIPTION_EXPIRY,
        number_format: str | None = None,
    ) -> Subscription:
        """Overwrite a subscription completely (Bandwidth resets any field not sent).

        Takes the arguments of :meth:`create_subscription`.

        .. versionchanged:: 0.3 the arguments :meth:`create_subscription` gained.
        """
        path = f"/subscriptions/{id_segment('subscription_id', subscription_id)}"
        body, wanted = subscription_request(
            url=url,
            email=email,
            digest=digest,
            event_type=event_type,
            order_type=order_type,
            order_id=order_id,
            username=username,
            password=password,
            expiry=expiry,
            default_expiry=DEFAULT_SUBSCRIPTION_EXPIRY,
            number_format=number_format,
        )
        await self._request("PUT", path, body=body)
        return with_id(wanted, subscription_id)

    async def list_subscriptions(
        self, *, order_type: str | None = None
    ) -> tuple[Subscription, ...]:
        """Every subscription of the account, or those of one *order_type*."""
        params = {"orderType": order_type} if order_type else None
        response = await self._request("GET", "/subscriptions", params=params)
        found = _xml.decode_subscriptions(response.body)
        if order_type:
            found = tuple(s for s in found if s.order_type == order_type)
        return found

    async def get_subscription(self, subscription_id: str) -> Subscription:
        """One subscription, with its remaining *expiry* and last delivery *status*."""
        path = f"/subscriptions/{id_segment('subscription_id', subscription_id)}"
        response = await self._request("GET", path)
        found = _xml.decode_subscriptions(response.body)
        if not found:
            raise DecodeError(
                "The subscription response holds no subscription.", body=response.body
            )
        return found[0]

    async def delete_subscription(self, subscription_id: str) -> None:
        """Delete a subscription; Bandwidth stops sending its notifications."""
        path = f"/subscriptions/{id_segment('subscription_id', subscription_id)}"
        await self._request("DELETE", path)

    async def ensure_subscription(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        expiry: int = DEFAULT_SUBSCRIPTION_EXPIRY,
        renew_within: int = DEFAULT_RENEW_WITHIN,
        order_type: str = "orders",
    ) -> Subscription:
        """Make sure exactly one live *order_type* subscription sends notifications to *url*.

        Creates one when there is none (a 409 from a concurrent creation is resolved by
        reusing the winner); calls in one process are serialized, so concurrent tasks create
        at most one. An existing one is rewritten (a full ``PUT``):

        - whenever *username* and *password* are given: Bandwidth never returns the stored
          password, so a changed one cannot be detected, and writing them is what makes the
          subscription's credentials those of your receiver (after a password change too);
        - without credentials, only when fewer than *renew_within* seconds remain; its
          credentials are otherwise left alone (a renewal cannot keep them, since the
          password is unknown: it logs a warning when it drops them).

        *order_type* is ``orders`` (new numbers) by default; ``disconnects`` for disconnects.
        :meth:`ensure_subscriptions` ensures several types at once.

        .. versionchanged:: 0.3 *order_type*.
        """
        check_both_or_neither(
            "username", username, "password", password, purpose="for callback authentication"
        )
        check_text("order_type", order_type)
        async with self._subscription_lock:
            return await self._ensure_one(
                url, username, password, expiry, renew_within, order_type=order_type
            )

    async def ensure_subscriptions(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        expiry: int = DEFAULT_SUBSCRIPTION_EXPIRY,
        renew_within: int = DEFAULT_RENEW_WITHIN,
        order_types: Sequence[str] = ("orders", "disconnects"),
    ) -> tuple[Subscription, ...]:
        """:meth:`ensure_subscription` for each of *order_types*, one subscription per type.

        Bandwidth allows one order type per subscription, so one *url* receiving both order
        and disconnect notifications needs two; the same create, reuse, renew and 409 rules
        apply to each. Returns them in the order of *order_types*. The whole call holds the
        lock :meth:`ensure_subscription` takes, so concurrent calls create none twice.

        Raises:
            ValidationError: *order_types* is empty, repeats a type or holds a non-string.

        .. versionadded:: 0.3
        """
        check_both_or_neither(
            "username", username, "password", password, purpose="for callback authentication"
        )
        if isinstance(order_types, str):
            raise ValidationError(
                "order_types= takes a sequence of order types, such as ('orders', 'disconnects')."
            )
        types = tuple(check_text("order_types", t) for t in order_types)
        if not types:
            raise ValidationError("order_types= is empty: give at least one order type.")
        if len(set(types)) != len(types):
            raise ValidationError(f"order_types={types!r} names an order type twice.")
        async with self._subscription_lock:
            return tuple(
                [
                    await self._ensure_one(
                        url, username, password, expiry, renew_within, order_type=order_type
                    )
                    for order_type in types
                ]
            )

    async def _ensure_one(
        self,
        url: str,
        username: str | None,
        password: str | None,
        expiry: int,
        renew_within: int,
        *,
        order_type: str,
    ) -> Subscription:
        """:meth:`ensure_subscription`'s work, under the caller's lock."""
        existing = await self._find_subscription(url, order_type)
        if existing is None:
            try:
                return await self.create_subscription(
                    url,
                    username=username,
                    password=password,
                    expiry=expiry,
                    order_type=order_type,
                )
            except ConflictError:
                existing = await self._find_subscription(url, order_type)
                if existing is None:
                    raise
        stale = existing.expiry is not None and existing.expiry < renew_within
        if password is None and not stale:
            return existing
        if password is None and existing.username is not None:
            log.warning(
                "Renewing %s subscription %s for %s without callback credentials removes its "
                "username %s and password; pass username= and password= to keep them.",
                order_type,
                existing.id,
                url,
                existing.username,
            )
        log.info("Updating %s subscription %s for %s", order_type, existing.id, url)
        return await self.update_subscription(
            existing.id,
            url,
            username=username,
            password=password,
            expiry=expiry,
            order_type=order_type,
        )

    async def _find_subscription(self, url: str, order_type: str) -> Subscription | None:
        """The account-wide callback subscription of *order_type* to *url*, if any.

        Email and event subscriptions are never it, even for the same order type or URL:
        rewriting one of them would turn it into a callback subscription.
        """
        for subscription in await self.list_subscriptions(order_type=order_type):
            if (
                subscription.order_type == order_type
                and subscription.event_type is None
                and subscription.email is None
                and subscription.order_id is None
                and subscription.url == url
            ):
                return subscription
        return None
