"""Subscriptions: where and how the emulator sends an order type's notifications.

The routes and their errors follow Bandwidth's subscriptions API,
https://dev.bandwidth.com/docs/account/subscriptions-2 .
"""

from __future__ import annotations

import asyncio
import re

import attrs
from aiohttp import web

from bwnumbers.testing import _wire as wire

from ._context import Context
from ._http import Refusal, location, read_xml, xml_response

__all__ = ["Subscription", "SubscriptionRoutes"]

_ORDER_TYPES = frozenset({
    "portins", "orders", "portouts", "disconnects", "dldas", "lsrorders", "e911s", "tnoptions",
    "externalTns", "lidb", "bulkPortins", "importtnorders", "removeImportedTnOrders", "csrs",
    "emergencyNotificationGroup", "emergencyEndpointGroup", "tollfreePortingValidations",
})  # fmt: skip


@attrs.define(kw_only=True)
class Subscription:
    """One subscription; *status* is the outcome of its latest notification."""

    id: str
    order_type: str
    order_id: str | None
    url: str
    expires_at: float
    username: str | None
    password: str | None = attrs.field(repr=False)
    status: str = "READY"


def _error(status: int, code: int, description: str) -> Refusal:
    return Refusal(status, wire.response_status("SubscriptionsResponse", code, description))


def _refusal(message: str) -> Refusal:
    return _error(400, 14501, f"Subscription object is invalid: {message}")


def _fields(node: wire.Node) -> dict[str, object]:
    order_type = wire.text(node, "OrderType")
    if order_type is None:
        raise _error(400, 14508, "OrderType or EventType should be specified.")
    if order_type not in _ORDER_TYPES:
        raise _error(400, 14500, "Incorrect order type.")
    callback = node.find("CallbackSubscription")
    if callback is None:
        raise _error(400, 14501, "Subscription object is invalid")
    url = wire.text(callback, "URL")
    if url is None:
        raise _error(400, 14503, "Callback URL is empty")
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        raise _error(400, 14506, "Callback URL is invalid")
    expiry_text = wire.text(callback, "Expiry") or "86400"
    if not expiry_text.isdigit() or int(expiry_text) <= 0:
        raise _error(404, 14501, "Subscription expiry is invalid")
    auth = callback.find("CallbackCredentials/BasicAuthentication")
    username = password = None
    if auth is not None:
        username = wire.text(auth, "Username")
        password = wire.text(auth, "Password")
        if not username or not password:
            raise _error(
                400,
                14505,
                "Basic authentication must contain both a non-blank username and password",
            )
    return {
        "order_type": order_type,
        "order_id": wire.text(node, "OrderId"),
        "url": url,
        "expires_at": asyncio.get_running_loop().time() + int(expiry_text),
        "username": username,
        "password": password,
    }


def _node(s: Subscription) -> wire.Node:
    remaining = max(0, int(s.expires_at - asyncio.get_running_loop().time()))
    credentials = None
    if s.username:
        credentials = wire.element(
            "CallbackCredentials",
            wire.element("BasicAuthentication", wire.element("Username", text=s.username)),
        )
    return wire.element(
        "Subscription",
        wire.element("SubscriptionId", text=s.id),
        wire.element("OrderType", text=s.order_type),
        wire.optional("OrderId", s.order_id),
        wire.element(
            "CallbackSubscription",
            wire.element("URL", text=s.url),
            wire.element("Expiry", text=remaining),
            wire.element("Status", text=s.status),
            credentials,
        ),
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
        """The unexpired subscriptions that want notifications about this order."""
        return [
            s
            for s in self.subscriptions.values()
            if s.order_type == order_type and s.order_id in (None, order_id) and s.expires_at > now
        ]

    async def _create(self, request: web.Request) -> web.Response:
        fields = _fields(await read_xml(request, "Subscription", _refusal))
        for existing in self.subscriptions.values():
            if (existing.order_type, existing.order_id, existing.url) == (
                fields["order_type"], fields["order_id"], fields["url"],
            ):  # fmt: skip
                raise _error(409, 16008, "Duplicate subscription already exists")
        subscription = Subscription(id=self._context.new_id(), **fields)  # type: ignore[arg-type]
        self.subscriptions[subscription.id] = subscription
        where = location(request, self._context.account_id, "subscriptions", subscription.id)
        return web.Response(status=201, headers={"Location": where})

    def _find(self, request: web.Request) -> Subscription:
        subscription = self.subscriptions.get(request.match_info["id"])
        if subscription is None:
            raise _error(
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
        node = await read_xml(request, "Subscription", _refusal)
        for name, value in _fields(node).items():
            setattr(subscription, name, value)
        return web.Response(status=200)

    async def _delete(self, request: web.Request) -> web.Response:
        del self.subscriptions[self._find(request).id]
        return web.Response(status=200)
