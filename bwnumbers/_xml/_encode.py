"""Encoding: the request bodies bwnumbers sends, and a redacted view of them for logs.

Shapes follow Bandwidth's API reference (https://dev.bandwidth.com/apis/numbers/): the
``<Order>`` of "Create an order" and the ``<Subscription>`` of "Create a subscription".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from xml.sax.saxutils import escape

from bwnumbers._exceptions import ValidationError
from bwnumbers._models import OrderRequest
from bwnumbers._search import Search

from ._names import ORDER_TYPE_ELEMENTS, SEARCH_ELEMENTS

# Characters XML 1.0 cannot carry at all, escaped or not.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_SECRET_ELEMENTS: Final = re.compile(rb"(<Password>)(.*?)(</Password>)", re.DOTALL | re.IGNORECASE)


def _element(tag: str, content: Any) -> str:
    """*content* under *tag*: a mapping gives children in order, a list repeats the tag."""
    if isinstance(content, list):
        return "".join(_element(tag, item) for item in content)
    if isinstance(content, Mapping):
        inner = "".join(_element(child, value) for child, value in content.items())
    else:
        text = str(content)
        if _NOT_XML.search(text):
            raise ValidationError(f"The value for <{tag}> contains characters XML cannot carry.")
        inner = escape(text)
    return f"<{tag}>{inner}</{tag}>"


def _document(root: str, content: Mapping[str, Any]) -> bytes:
    # Requests are small and built from our own element names, so a direct writer does the
    # job; a SAX writer per request cost more than everything else in a burst of orders.
    return (_DECLARATION + _element(root, content)).encode("utf-8")


def _xml_bool(value: bool) -> str:
    return "true" if value else "false"


def encode_subscription(
    *,
    url: str | None = None,
    expiry: int | None = None,
    username: str | None = None,
    password: str | None = None,
    order_type: str | None = "orders",
    order_id: str | None = None,
    event_type: str | None = None,
    email: str | None = None,
    digest: str | None = None,
    number_format: str | None = None,
) -> bytes:
    """The ``<Subscription>`` body of ``POST``/``PUT /subscriptions``.

    In the element order of Bandwidth's examples: ``OrderType`` (with ``OrderId``) or
    ``EventType``, then ``CallbackSubscription`` (``URL``, ``Expiry``, ``CallbackCredentials``,
    ``NumberFormat``) for a *url*, or ``EmailSubscription`` (``Email``, ``DigestRequested``)
    for an *email*. Arguments are sent as given: the client checks them first.
    """
    content: dict[str, Any] = {}
    if event_type is not None:
        content["EventType"] = event_type
    elif order_type is not None:
        content["OrderType"] = order_type
    if order_id is not None:
        content["OrderId"] = order_id
    if email is not None:
        content["EmailSubscription"] = {"Email": email, "DigestRequested": digest or "NONE"}
        return _document("Subscription", content)
    callback: dict[str, Any] = {"URL": url}
    if expiry is not None:
        callback["Expiry"] = str(expiry)
    if username is not None and password is not None:
        callback["CallbackCredentials"] = {
            "BasicAuthentication": {"Username": username, "Password": password}
        }
    if number_format is not None:
        callback["NumberFormat"] = number_format
    content["CallbackSubscription"] = callback
    return _document("Subscription", content)


def _encode_search(search: Search) -> tuple[str, dict[str, Any]]:
    kind = search.kind
    fields: dict[str, Any] = {}
    for name, element in SEARCH_ELEMENTS.items():
        value = getattr(search, name)
        if value is not None:
            fields[element] = _xml_bool(value) if isinstance(value, bool) else value
    fields["Quantity"] = str(search.quantity or 1)
    return ORDER_TYPE_ELEMENTS[kind], fields


def encode_order(request: OrderRequest) -> bytes:
    """The ``<Order>`` body of ``POST /orders``.

    ``PartialAllowed`` and ``BackOrderRequested`` are always sent because Bandwidth documents
    both defaults both ways.
    """
    content: dict[str, Any] = {
        "CustomerOrderId": request.customer_order_id,
        "Name": request.name,
    }
    if request.numbers is not None:
        existing: dict[str, Any] = {
            "TelephoneNumberList": {"TelephoneNumber": list(request.numbers)}
        }
        if request.reservation_ids:
            existing["ReservationIdList"] = {"ReservationId": list(request.reservation_ids)}
        content["ExistingTelephoneNumberOrderType"] = existing
    elif request.search is not None:
        element, fields = _encode_search(request.search)
        content[element] = fields
    content["SiteId"] = request.site_id
    if request.peer_id is not None:
        content["PeerId"] = request.peer_id
    content["PartialAllowed"] = _xml_bool(request.partial_allowed)
    content["BackOrderRequested"] = _xml_bool(request.back_order_requested)
    return _document("Order", content)


def encode_close_order() -> bytes:
    """The body of ``PUT /orders/{id}`` that closes a backordered order."""
    return _document("Order", {"CloseOrder": "true"})


def encode_order_update(*, name: str | None, customer_order_id: str | None) -> bytes:
    """The body of ``PUT /orders/{id}`` that renames an order or changes its customer order id
    (``None``: not sent, so unchanged), in the order of Bandwidth's ``OrderUpdate`` example."""
    content: dict[str, Any] = {}
    if name is not None:
        content["Name"] = name
    if customer_order_id is not None:
        content["CustomerOrderId"] = customer_order_id
    return _document("Order", content)


def redact(body: bytes) -> str:
    """*body* as text for a DEBUG log, with every ``<Password>`` masked."""
    masked = _SECRET_ELEMENTS.sub(rb"\1***\3", body)
    return masked.decode("utf-8", errors="replace")
