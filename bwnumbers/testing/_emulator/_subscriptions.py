"""Subscriptions: where and how the emulator sends an order type's notifications.

The routes and their errors follow Bandwidth's subscriptions API,
https://dev.bandwidth.com/docs/account/subscriptions-2 ; the body rules live in
``_subscription_fields``. Only callback subscriptions to an order type get ``<Notification>``
callbacks: the emulator sends no email (email subscriptions are stored and listed, nothing
more) and raises no events (``MESSAGING_LOST`` subscriptions are stored and listed too).
"""

from __future__ import annotations

import asyncio
import math

import attrs
from aiohttp import web

from bwnumbers.testing import _wire as wire

from ._context import Context
from ._http import location, read_xml, xml_response
from ._subscription_fields import SubscriptionFields, error, invalid, read_fields

__all__ = ["Subscription", "SubscriptionRoutes"]


@attrs.define(kw_only=True)
class Subscription:
    """One subscription; *status* is the outcome of its latest notification.

    *url* is where notifications go, *url_as_sent* what a GET echoes (Bandwidth's examples
    quote it); email subscriptions have *email* and *digest* instead, and never expire.
    """

    id: str
    order_type: str | None = None
    order_id: str | None = None
    url: str | None = None
    expires_at: float = math.inf
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    status: str = "READY"
    event_type: str | None = None
    url_as_sent: str | None = None
    number_format: str | None = None
    email: str | None = None
    digest: str | None = None

    @property
    def target(self) -> tuple[str | None, ...]:
        """What makes two subscriptions duplicates, as :attr:`SubscriptionFields.target`."""
        return (self.order_type, self.event_type, self.order_id, self.url, self.email)

    def assign(self, fields: SubscriptionFields) -> None:
        """Take every field of a ``POST``/``PUT`` body (a ``PUT`` overwrites them all)."""
        expires_at = math.inf
        if fields.expiry is not None:
            expires_at = asyncio.get_running_loop().time() + fields.expiry
        self.order_type = fields.order_type
        self.event_type = fields.event_type
        self.order_id = fields.order_id
        self.url = fields.url
        self.url_as_sent = fields.url_as_sent
        self.expires_at = expires_at
        self.username = fields.username
        self.password = fields.password
        self.number_format = fields.number_format
        self.email = fields.email
        self.digest = fields.digest


def _callback_node(s: Subscription) -> wire.Node:
    remaining = max(0, int(s.expires_at - asyncio.get_running_loop().time()))
    credentials = None
    if s.username:
        credentials = wire.element(
            "CallbackCredentials",
            wire.element("BasicAuthentication", wire.element("Username", text=s.username)),
        )
    # The password and any PublicKey are never echoed; NumberFormat comes after the
    # credentials, as in Bandwidth's list example.
    return wire.element(
        "CallbackSubscription",
        wire.element("URL", text=s.url_as_sent),
        wire.element("Expiry", text=remaining),
        wire.element("Status", text=s.status),
        credentials,
        wire.optional("NumberFormat", s.number_format),
    )


def _node(s: Subscription) -> wire.Node:
    if s.email is not None:
        delivery = wire.element(
            "EmailSubscription",
            wire.element("Email", text=s.email),
            wire.element("DigestRequested", text=s.digest),
        )
    else:
        delivery = _callback_node(s)
    return wire.element(
        "Subscription",
        wire.element("SubscriptionId", text=s.id),
        wire.optional("OrderType", s.order_type),
        wire.optional("EventType", s.event_type),
        wire.optional("OrderId", s.order_id),
        delivery,
    )


class SubscriptionRoutes:
    """``/subscriptions``: create, list, read, update and delete; the subscriptions live here."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self.subscriptions: dict[str, Subscription] = {}

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        router.add_get(f"{prefix}/subscriptions", self._list)
        router.add_post(f"{prefix}/subscriptions", self._create)
        router.add_get(f"{prefix}/subscriptions/{{id}}", self._get)
        router.add_put(f"{prefix}/subscriptions/{{id}}", self._update)
        router.add_delete(f"{prefix}/subscriptions/{{id}}", self._delete)

    def targets(self, order_type: str, order_id: str, now: float) -> list[Subscription]:
        """The unexpired callback subscriptions that want notifications about this order.

        Email subscriptions get none (the emulator sends no email), event subscriptions
        neither (a ``MESSAGING_LOST`` event is no order notification).
        """
        return [
            s
            for s in self.subscriptions.values()
            if s.url is not None
            and s.event_type is None
            and s.order_type == order_type
            and s.order_id in (None, order_id)
            and s.expires_at > now
        ]

    async def _create(self, request: web.Request) -> web.Response:
        fields = read_fields(await read_xml(request, "Subscription", invalid))
        if any(existing.target == fields.target for existing in self.subscriptions.values()):
            raise error(409, 16008, "Duplicate subscription already exists")
        subscription = Subscription(id=self._context.new_id())
        subscription.assign(fields)
        self.subscriptions[subscription.id] = subscription
        where = location(request, self._context.account_id, "subscriptions", subscription.id)
        return web.Response(status=201, headers={"Location": where})

    def _find(self, request: web.Request) -> Subscription:
        subscription = self.subscriptions.get(request.match_info["id"])
        if subscription is None:
            raise error(
                404,
                16000,
                f"Subscription {request.match_info['id']} not found for accountId "
                f"{self._context.account_id}",
            )
        return subscription

    async def _list(self, request: web.Request) -> web.Response:
        wanted = request.query.get("orderType")
        chosen = [s for s in self.subscriptions.values() if wanted in (None, s.order_type)]
        root = wire.element(
            "SubscriptionsResponse", wire.element("Subscriptions", *(_node(s) for s in chosen))
        )
        return xml_response(wire.document(root))

    async def _get(self, request: web.Request) -> web.Response:
        root = wire.element(
            "SubscriptionsResponse", wire.element("Subscriptions", _node(self._find(request)))
        )
        return xml_response(wire.document(root))

    async def _update(self, request: web.Request) -> web.Response:
        subscription = self._find(request)
        subscription.assign(read_fields(await read_xml(request, "Subscription", invalid)))
        return web.Response(status=200)

    async def _delete(self, request: web.Request) -> web.Response:
        del self.subscriptions[self._find(request).id]
        return web.Response(status=200)
