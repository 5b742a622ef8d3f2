"""``/orders``: placing, reading, updating orders and their history, on the wire.

The request checks and their error codes are :mod:`._order_requests`' (after Bandwidth's
ordering guide, https://dev.bandwidth.com/docs/numbers/guides/orderingNumbers/ , and API
reference, https://dev.bandwidth.com/apis/numbers/ ); what happens to an order afterwards is
:mod:`._orders`' business, and listing orders :mod:`._order_listing`'s.
"""

from __future__ import annotations

from aiohttp import web

from bwnumbers.testing import _wire as wire

from . import _order_requests as bodies
from . import _orders as orders
from ._book import OrderBook, now
from ._context import Context
from ._http import Refusal, location, order_error, read_xml, xml_response

__all__ = ["OrderRoutes"]


def _refusal(message: str) -> Refusal:
    return order_error(400, 5002, f"Validation error: {message}")


class OrderRoutes:
    """The orders routes of one account, on top of its :class:`OrderBook`.

    *sites* maps each site id to its SIP peers, shared with ``BandwidthEmulator.add_site``.
    """

    def __init__(self, context: Context, book: OrderBook, sites: dict[str, set[str]]) -> None:
        self._context = context
        self._book = book
        self._sites = sites

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        router.add_post(f"{prefix}/orders", self._create)
        router.add_get(f"{prefix}/orders/{{id}}", self._get)
        router.add_put(f"{prefix}/orders/{{id}}", self._update)
        router.add_get(f"{prefix}/orders/{{id}}/history", self._history)

    # ------------------------------------------------------------------ create

    async def _create(self, request: web.Request) -> web.StreamResponse:
        node = await read_xml(request, "Order", _refusal)
        try:
            order = bodies.parse_order(node, self._sites, new_id=self._context.new_id, now=now())
        except bodies.Invalid as invalid:
            raise bodies.refusal(invalid, node) from None
        self._book.add(order)
        body = wire.document(
            wire.element(
                "OrderResponse",
                bodies.order_node(order, with_id=True),
                wire.element("OrderStatus", text="RECEIVED"),
            )
        )
        if self._context.faults.callback_before_response:
            await self._book.process(order, delay=0.0)
        else:
            self._book.schedule(order, self._context.order_delay)
        faults = self._context.faults  # read after processing: a test may have replaced them
        headers = {"Location": location(request, self._context.account_id, "orders", order.id)}
        failure, faults.fail_next_order = faults.fail_next_order, None
        if failure == "500":
            return xml_response(
                wire.error_response("Internal Server Error. Please try again.", 1000), 500
            )
        if failure == "disconnect":
            assert request.transport is not None
            request.transport.abort()
            return xml_response(body, 201, headers)
        if failure == "truncate":
            return xml_response(body[: len(body) // 2], 201, headers)
        return xml_response(body, 201, headers)

    # ------------------------------------------------------------------ read and update

    def _find(self, request: web.Request) -> orders.Order:
        order = self._book.orders.get(request.match_info["id"])
        if order is None:
            raise Refusal(404, wire.error_response("The resource does not exist"))
        return order

    async def _get(self, request: web.Request) -> web.Response:
        order = self._find(request)
        summary = {
            "COMPLETE": f"{len(order.completed)} number(s) ordered",
            "PARTIAL": f"{len(order.completed)} out of {order.quantity} numbers ordered",
        }.get(order.status, f"{order.quantity} number(s) requested")
        root = wire.element(
            "OrderResponse",
            wire.element("CompletedQuantity", text=len(order.completed)),
            wire.element("CreatedByUser", text=self._context.username),
            # ErrorList, FailedNumbers and Summary are not in the specification's example or
            # schema; Bandwidth's ordering guide shows them and its SDKs read them: kept.
            wire.error_list(order.errors),
            wire.listing("FailedNumbers", "FullNumber", order.failed),
            wire.element("LastModifiedDate", text=wire.timestamp(order.modified or order.created)),
            wire.optional("OrderCompleteDate", wire.timestamp(order.completed_at)),
            bodies.order_node(order, with_id=False),
            wire.element("OrderStatus", text=order.status),
            wire.element(
                "CompletedNumbers",
                *(
                    wire.element("TelephoneNumber", wire.element("FullNumber", text=n))
                    for n in order.completed
                ),
            ),
            wire.element("Summary", text=summary),
            wire.element("FailedQuantity", text=len(order.failed)),
        )
        return xml_response(wire.document(root))

    async def _update(self, request: web.Request) -> web.Response:
        """``PUT /orders/{id}``: a new name and/or customer order id, closing on request.

        Nothing changes when any part is refused, closing an order that is not BACKORDERED
        (5060) included.
        """
        order = self._find(request)
        try:
            update = bodies.parse_update(await read_xml(request, "Order", _refusal))
        except bodies.Invalid as invalid:
            raise bodies.refusal(invalid) from None
        if update.close and order.status != "BACKORDERED":
            raise order_error(400, 5060, "Only Backordered order can be closed.")
        if update.name is not None or update.customer_order_id is not None:
            self._book.update(order, name=update.name, customer_order_id=update.customer_order_id)
        if update.close:
            await self._book.close(order)
        return xml_response(wire.document(wire.element("OrderResponse")))

    async def _history(self, request: web.Request) -> web.Response:
        order = self._find(request)
        if len(order.history) <= 1:
            return web.Response(status=200)  # "no events other than creation": empty payload
        root = wire.element(
            "OrderHistoryWrapper",
            *(
                wire.element(
                    "OrderHistory",
                    wire.element("OrderDate", text=wire.timestamp(entry.at)),
                    wire.element("Note", text=entry.note),
                    wire.element("Author", text="System"),
                    wire.element("Status", text=entry.status),
                    *(wire.element("Difference", text=change) for change in entry.differences),
                )
                for entry in order.history
            ),
        )
        return xml_response(wire.document(root))
