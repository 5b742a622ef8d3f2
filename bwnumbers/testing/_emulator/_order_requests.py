"""Reading the bodies of ``POST /orders`` and ``PUT /orders/{id}``: the checks and their codes.

The checks and codes follow Bandwidth's ordering guide,
https://dev.bandwidth.com/docs/numbers/guides/orderingNumbers/ , and its Numbers specification
(``Bandwidth/api-docs``, ``site/specs/numbers.yml``): the ``<Order>`` of "Create Telephone Number
orders", its 400 answer (the error list, then the order as it was sent), and the
``OrderUpdate`` of "Update Telephone Number order".
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Mapping

import attrs

from bwnumbers.testing import _wire as wire
from bwnumbers.testing._criteria import (
    NO_BACKORDER_TYPES,
    ORDER_TYPES,
    Criteria,
    SearchFault,
    from_order_type,
)

from . import _orders as orders
from ._http import Refusal

__all__ = [
    "TN_ATTRIBUTES",
    "Invalid",
    "OrderUpdate",
    "order_node",
    "parse_order",
    "parse_update",
    "refusal",
]

_CUSTOMER_ORDER_ID = re.compile(r"[A-Za-z0-9\- ]{1,40}")
_TN = re.compile(r"\d{10}")
_MAX_NAME = 50
_EXISTING = "ExistingTelephoneNumberOrderType"

TN_ATTRIBUTES = frozenset({"protected", "external", "imported"})
"""The ``TnAttribute`` values an order takes, compared without case. The schema's enum lists
only ``Protected``, but every order example of the specification sends ``Protected``,
``External`` and ``Imported``; the examples win, so a client written from them works."""

# The elements of an <Order> in the specification's order (its 201, 400 and GET examples);
# the order type goes after BackOrderRequested.
_BEFORE_TYPE = ("CustomerOrderId", "Name", "OrderCreateDate", "PeerId", "BackOrderRequested")
_AFTER_TYPE = ("TnAttributes", "PartialAllowed", "SiteId")


class Invalid(Exception):
    """A refused order request: Bandwidth's error code and description (HTTP 400)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(code, description)
        self.code = code
        self.description = description


def refusal(error: Invalid, sent: wire.Node | None = None) -> Refusal:
    """The 400 answer to *error*: ``<OrderResponse><ErrorList>``, then the ``<Order>`` that was
    *sent* echoed as the specification's 400 example shows it (without an ``id``)."""
    errors = wire.error_list([(error.code, error.description, None)])
    echo = None if sent is None else _echo(sent)
    return Refusal(400, wire.document(wire.element("OrderResponse", errors, echo)))


def _echo(sent: wire.Node) -> wire.Node:
    """The known elements of *sent* as they were sent, in the specification's order, with the
    server's ``OrderCreateDate``; elements Bandwidth's model does not know are not echoed."""

    def copied(tag: str) -> wire.Node | None:
        if tag == "OrderCreateDate":
            return wire.element(tag, text=wire.timestamp(dt.datetime.now(dt.UTC)))
        found = sent.find(tag)
        return None if found is None else copy.deepcopy(found)

    types = [copy.deepcopy(c) for c in sent if c.tag in ORDER_TYPES or c.tag == _EXISTING]
    return wire.element(
        "Order",
        *(copied(tag) for tag in _BEFORE_TYPE),
        *types,
        *(copied(tag) for tag in _AFTER_TYPE),
    )


def order_node(order: orders.Order, *, with_id: bool) -> wire.Node:
    """The ``<Order>`` of the 201 answer (*with_id*, right after ``CustomerOrderId`` as in the
    specification's example) and of ``GET /orders/{id}`` (without)."""
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
    attributes = order.tn_attributes
    return wire.element(
        "Order",
        wire.optional("CustomerOrderId", order.customer_order_id),
        wire.optional("id", order.id if with_id else None),
        wire.element("Name", text=order.name),
        wire.element("OrderCreateDate", text=wire.timestamp(order.created)),
        # The 201 answer echoes a PeerId only when one was sent (the specification's example
        # and Bandwidth's ordering guide); GET shows the peer the order went to, default or not.
        wire.element("PeerId", text=order.peer_id) if order.peer_id_sent or not with_id else None,
        wire.boolean("BackOrderRequested", order.back_order_requested),
        order_type,
        None if attributes is None else wire.listing("TnAttributes", "TnAttribute", attributes),
        wire.boolean("PartialAllowed", order.partial_allowed),
        wire.element("SiteId", text=order.site_id),
    )


# ------------------------------------------------------------------ POST /orders


def _customer_order_id(node: wire.Node, *, empty_is_none: bool) -> str | None:
    """The ``CustomerOrderId`` sent (``None`` without one); 5052 when it is not one. An empty
    element is none in an order (as before), and refused in an update, which cannot clear it."""
    value = wire.text(node, "CustomerOrderId")
    if value is None and (empty_is_none or node.find("CustomerOrderId") is None):
        return None
    if value is None or not _CUSTOMER_ORDER_ID.fullmatch(value):
        raise Invalid(5052, "Customer order ID is invalid.")
    return value


def _name(node: wire.Node, *, required: bool) -> str | None:
    if node.find("Name") is None and not required:
        return None
    name = wire.text(node, "Name")
    if name is None or len(name) > _MAX_NAME:
        raise Invalid(5002, f"Validation error: Name is required, at most {_MAX_NAME} characters")
    return name


def _tn_attributes(node: wire.Node) -> tuple[str, ...] | None:
    """The ``TnAttributes`` sent (``None`` when the element is absent, ``()`` when empty)."""
    container = node.find("TnAttributes")
    if container is None:
        return None
    values = tuple((a.text or "").strip() for a in container.findall("TnAttribute"))
    for value in values:
        if value.lower() not in TN_ATTRIBUTES:
            # 5002 is assumed: Bandwidth documents no code for an unknown attribute.
            raise Invalid(
                5002,
                f"Validation error: TnAttribute {value!r} is not supported; "
                "use Protected, External or Imported",
            )
    return values


def _site_and_peer(node: wire.Node, sites: Mapping[str, set[str]]) -> tuple[str, str]:
    site_id = wire.text(node, "SiteId")
    if site_id is None:
        raise Invalid(5022, "SiteId is a required field")
    if site_id not in sites:
        raise Invalid(5016, "The SiteId submitted is invalid.")
    peer_id = wire.text(node, "PeerId")
    if peer_id is None:
        if not sites[site_id]:
            raise Invalid(5020, "No default SIP peer is set for the site")
        peer_id = sorted(sites[site_id])[0]
    elif peer_id not in sites[site_id]:
        raise Invalid(5023, "SIP peer submitted is invalid.")
    return site_id, peer_id


def _flags(node: wire.Node) -> dict[str, bool]:
    flags = {}
    for element, code in (("PartialAllowed", 5217), ("BackOrderRequested", 5002)):
        value = (wire.text(node, element) or "false").lower()
        if value not in ("true", "false"):
            raise Invalid(code, f"The {element} value submitted is invalid.")
        flags[element] = value == "true"
    return flags


def _existing_numbers(existing: wire.Node, *, back_order: bool) -> tuple[tuple[str, ...], ...]:
    """The numbers and reservation ids of an ``ExistingTelephoneNumberOrderType``."""
    numbers = tuple(
        (n.text or "").strip() for n in existing.findall("TelephoneNumberList/TelephoneNumber")
    )
    if not numbers:
        raise Invalid(5074, "Telephone number is required.")
    # "If the numbers have previously been reserved, a reservation id must be included";
    # nothing pairs an id with a number, so they are kept as a set.
    reservation_ids = tuple(
        (n.text or "").strip() for n in existing.findall("ReservationIdList/ReservationId")
    )
    if any(not _TN.fullmatch(n) for n in numbers):
        raise Invalid(5070, "Telephone number is invalid.")
    if len(set(numbers)) != len(numbers):
        raise Invalid(5093, "Order cannot contain duplicate telephone numbers.")
    if back_order:
        raise Invalid(5522, "Backorders are not compatible with Specific TN orders")
    return numbers, reservation_ids


def _search(type_node: wire.Node, *, back_order: bool) -> tuple[Criteria, dict[str, str]]:
    """The criteria of a search-and-order type, and its fields as sent."""
    order_type = type_node.tag
    fields = {c.tag: (c.text or "").strip() for c in type_node}
    try:
        criteria = from_order_type(order_type, fields)
    except SearchFault as fault:
        raise Invalid(fault.code, fault.description) from None
    if back_order and (
        order_type in NO_BACKORDER_TYPES
        or criteria.present & {"npa_nxxx", "local_vanity", "toll_free_vanity"}
    ):
        raise Invalid(
            5522,
            "Backorders are not compatible with Specific TN, NPANXX, NPANXXX, "
            "TollFree Vanity or Local Vanity orders",
        )
    return criteria, fields


def parse_order(
    node: wire.Node,
    sites: Mapping[str, set[str]],
    *,
    new_id: Callable[[], str],
    now: dt.datetime,
) -> orders.Order:
    """The order a ``POST /orders`` body asks for; *sites* maps site ids to their SIP peers.

    Raises:
        Invalid: the order is refused (answer it with :func:`refusal`).
    """
    customer_order_id = _customer_order_id(node, empty_is_none=True)
    name = _name(node, required=True)
    assert name is not None
    site_id, peer_id = _site_and_peer(node, sites)
    flags = _flags(node)
    back_order = flags["BackOrderRequested"]
    tn_attributes = _tn_attributes(node)
    numbers: tuple[str, ...] = ()
    reservation_ids: tuple[str, ...] = ()
    criteria: Criteria | None = None
    search_fields: dict[str, str] = {}
    types = [child for child in node if child.tag in ORDER_TYPES]
    existing = node.find(_EXISTING)
    if existing is not None and not types:
        order_type = _EXISTING
        numbers, reservation_ids = _existing_numbers(existing, back_order=back_order)
    elif len(types) == 1 and existing is None:
        order_type = types[0].tag
        criteria, search_fields = _search(types[0], back_order=back_order)
    else:
        raise Invalid(5087, "The input order type is not a valid entry.")
    return orders.Order(
        id=new_id(),
        customer_order_id=customer_order_id,
        name=name,
        site_id=site_id,
        peer_id=peer_id,
        partial_allowed=flags["PartialAllowed"],
        back_order_requested=back_order,
        numbers=numbers,
        order_type=order_type,
        search_fields=search_fields,
        criteria=criteria,
        created=now,
        reservation_ids=reservation_ids,
        tn_attributes=tn_attributes,
        peer_id_sent=wire.text(node, "PeerId") is not None,
    )


# ------------------------------------------------------------------ PUT /orders/{id}


@attrs.frozen(kw_only=True)
class OrderUpdate:
    """What a ``PUT /orders/{id}`` asks: a new name and/or customer order id, and closing."""

    name: str | None
    customer_order_id: str | None
    close: bool


def parse_update(node: wire.Node) -> OrderUpdate:
    """The ``OrderUpdate`` of a ``PUT /orders/{id}`` body, checked like ``POST /orders``.

    Raises:
        Invalid: a bad value, or nothing to do (no ``Name``, no ``CustomerOrderId`` and no
            ``CloseOrder`` true).
    """
    close = (wire.text(node, "CloseOrder") or "false").lower()
    if close not in ("true", "false"):
        raise Invalid(5002, "Validation error: CloseOrder must be true or false")
    update = OrderUpdate(
        name=_name(node, required=False),
        customer_order_id=_customer_order_id(node, empty_is_none=False),
        close=close == "true",
    )
    if update == OrderUpdate(name=None, customer_order_id=None, close=False):
        raise Invalid(
            5002,
            "Validation error: nothing to update; send Name, CustomerOrderId or CloseOrder true",
        )
    return update
