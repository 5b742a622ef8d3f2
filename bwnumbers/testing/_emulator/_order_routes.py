"""``/orders``: placing, reading, closing orders and their history, on the wire.

The request checks and their error codes follow Bandwidth's ordering guide,
https://dev.bandwidth.com/docs/numbers/guides/orderingNumbers/ , and API reference,
https://dev.bandwidth.com/apis/numbers/ ; what happens to an order afterwards is
:mod:`._orders`' business, and listing orders :mod:`._order_listing`'s.
"""

from __future__ import annotations

import re

from aiohttp import web

from bwnumbers.testing import _wire as wire
from bwnumbers.testing._criteria import (
    NO_BACKORDER_TYPES,
    ORDER_TYPES,
    Criteria,
    SearchFault,
    from_order_type,
)

from . import _orders as orders
from ._book import OrderBook, now
from ._context import Context
from ._http import Refusal, location, order_error, read_xml, xml_response

__all__ = ["OrderRoutes"]

_CUSTOMER_ORDER_ID = re.compile(r"[A-Za-z0-9\- ]{1,40}")
_TN = re.compile(r"\d{10}")


def _refusal(message: str) -> Refusal:
    return order_error(400, 5002, f"Validation error: {message}")


def _order_node(order: orders.Order, *, with_id: bool) -> wire.Node:
    if order.criteria is None:
        order_type = wire.element(
            order.order_type,
            wire.listing("TelephoneNumberList", "TelephoneNumber", order.numbers),
            wire.listing("ReservationIdList", "ReservationId", order.reservation_ids)
            if order.reservation_ids
            else None,
        )
    else:
        order_type = wire.element(
            order.order_type,
            *(wire.element(tag, text=value) for tag, value in order.search_fields.items()),
        )
    return wire.element(
        "Order",
        wire.optional("CustomerOrderId", order.customer_order_id),
        wire.element("Name", text=order.name),
        wire.element("OrderCreateDate", text=wire.timestamp(order.created)),
        wire.element("PeerId", text=order.peer_id),
        wire.boolean("BackOrderRequested", order.back_order_requested),
        wire.optional("id", order.id if with_id else None),
        order_type,
        wire.boolean("PartialAllowed", order.partial_allowed),
        wire.element("SiteId", text=order.site_id),
    )


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

    def _site_and_peer(self, node: wire.Node) -> tuple[str, str]:
        site_id = wire.text(node, "SiteId")
        if site_id is None:
            raise order_error(400, 5022, "SiteId is a required field")
        if site_id not in self._sites:
            raise order_error(400, 5016, "The SiteId submitted is invalid.")
        peer_id = wire.text(node, "PeerId")
        if peer_id is None:
            if not self._sites[site_id]:
                raise order_error(400, 5020, "No default SIP peer is set for the site")
            peer_id = sorted(self._sites[site_id])[0]
        elif peer_id not in self._sites[site_id]:
            raise order_error(400, 5023, "SIP peer submitted is invalid.")
        return site_id, peer_id

    def _parse(self, node: wire.Node) -> orders.Order:
        customer_order_id = wire.text(node, "CustomerOrderId")
        if customer_order_id is not None and not _CUSTOMER_ORDER_ID.fullmatch(customer_order_id):
            raise order_error(400, 5052, "Customer order ID is invalid.")
        name = wire.text(node, "Name")
        if name is None or len(name) > 50:
            raise order_error(
                400, 5002, "Validation error: Name is required, at most 50 characters"
            )
        site_id, peer_id = self._site_and_peer(node)
        flags = {}
        for element, code in (("PartialAllowed", 5217), ("BackOrderRequested", 5002)):
            value = (wire.text(node, element) or "false").lower()
            if value not in ("true", "false"):
                raise order_error(400, code, f"The {element} value submitted is invalid.")
            flags[element] = value == "true"
        numbers: tuple[str, ...] = ()
        reservation_ids: tuple[str, ...] = ()
        criteria: Criteria | None = None
        search_fields: dict[str, str] = {}
        types = [child.tag for child in node if child.tag in ORDER_TYPES]
        existing = node.find("ExistingTelephoneNumberOrderType")
        if existing is not None and not types:
            order_type = "ExistingTelephoneNumberOrderType"
            numbers = tuple(
                (n.text or "").strip()
                for n in existing.findall("TelephoneNumberList/TelephoneNumber")
            )
            if not numbers:
                raise order_error(400, 5074, "Telephone number is required.")
            # "If the numbers have previously been reserved, a reservation id must be
            # included"; nothing pairs an id with a number, so they are kept as a set.
            reservation_ids = tuple(
                (n.text or "").strip() for n in existing.findall("ReservationIdList/ReservationId")
            )
            if any(not _TN.fullmatch(n) for n in numbers):
                raise order_error(400, 5070, "Telephone number is invalid.")
            if len(set(numbers)) != len(numbers):
                raise order_error(400, 5093, "Order cannot contain duplicate telephone numbers.")
            if flags["BackOrderRequested"]:
                raise order_error(
                    400, 5522, "Backorders are not compatible with Specific TN orders"
                )
        elif len(types) == 1 and existing is None:
            order_type = types[0]
            type_node = node.find(order_type)
            assert type_node is not None
            search_fields = {c.tag: (c.text or "").strip() for c in type_node}
            try:
                criteria = from_order_type(order_type, search_fields)
            except SearchFault as fault:
                raise order_error(400, fault.code, fault.description) from None
            if flags["BackOrderRequested"] and (
                order_type in NO_BACKORDER_TYPES
                or criteria.present & {"npa_nxxx", "local_vanity", "toll_free_vanity"}
            ):
                raise order_error(
                    400,
                    5522,
                    "Backorders are not compatible with Specific TN, NPANXX, NPANXXX, "
                    "TollFree Vanity or Local Vanity orders",
                )
        else:
            raise order_error(400, 5087, "The input order type is not a valid entry.")
        return orders.Order(
            id=self._context.new_id(),
            customer_order_id=customer_order_id,
            name=name,
            site_id=site_id,
            peer_id=peer_id,
            partial_allowed=flags["PartialAllowed"],
            back_order_requested=flags["BackOrderRequested"],
            numbers=numbers,
            order_type=order_type,
            search_fields=search_fields,
            criteria=criteria,
            created=now(),
            reservation_ids=reservation_ids,
        )

    async def _create(self, request: web.Request) -> web.StreamResponse:
        order = self._parse(await read_xml(request, "Order", _refusal))
        self._book.add(order)
        body = wire.document(
            wire.element(
                "OrderResponse",
                _order_node(order, with_id=True),
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
            wire.error_list(order.errors),
            wire.listing("FailedNumbers", "FullNumber", order.failed),
            wire.element("LastModifiedDate", text=wire.timestamp(order.modified or order.created)),
            wire.optional("OrderCompleteDate", wire.timestamp(order.completed_at)),
            _order_node(order, with_id=False),
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
        order = self._find(request)
        node = await read_xml(request, "Order", _refusal)
        if (wire.text(node, "CloseOrder") or "").lower() != "true":
            raise order_error(400, 5002, "Validation error: only CloseOrder is supported")
        if order.status != "BACKORDERED":
            raise order_error(400, 5060, "Only Backordered order can be closed.")
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
                    wire.element("OrderDate", text=wire.timestamp(at)),
                    wire.element("Note", text=note),
                    wire.element("Author", text="System"),
                    wire.element("Status", text=status),
                )
                for at, status, note in order.history
            ),
        )
        return xml_response(wire.document(root))
