"""The disconnect documents: ``POST``/``GET /disconnects`` and ``GET /disconnects/{id}``.

Sent as Bandwidth's API specification shows (https://dev.bandwidth.com/apis/numbers/); read in
every documented variant: ``<id>`` or the ``Location`` header for the id, ``OrderStatus``
present or not, ``Name`` or ``name``, an empty, missing or populated ``ErrorList``, and
timestamps with hyphens in the time (``2022-05-25T14-12-57.840Z``), whose raw text is kept.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

import attrs

from bwnumbers._disconnect_models import (
    DisconnectDetails,
    DisconnectOrder,
    DisconnectRequest,
    DisconnectSummary,
)
from bwnumbers._exceptions import DecodeError
from bwnumbers._models import OrderError, OrderStatus

from ._decode import _decode_errors
from ._encode import _document
from ._links import PageCursor, next_page
from ._tree import (
    Node,
    as_node,
    child_at,
    elements,
    has_element,
    int_in,
    nested_texts,
    order_status,
    parse_datetime,
    parse_document,
    text_in,
    texts_in,
)

__all__ = [
    "decode_disconnect_details",
    "decode_disconnect_list",
    "decode_disconnect_response",
    "encode_disconnect",
    "is_bare_links",
    "lenient_datetime",
]

_RESPONSE: Final = "DisconnectTelephoneNumberOrderResponse"
_TYPE: Final = "DisconnectTelephoneNumberOrderType"
# A time written with hyphens or colons, seconds and fraction optional, as Bandwidth's samples
# show them: 2022-05-25T14-12-57.840Z, 2014-01-10T17-34-15Z.
_LENIENT: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2})(?:[-:](\d{2}))?(?:[-:](\d{2}))?(\.\d+)?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?"
)


def lenient_datetime(text: str | None) -> dt.datetime | None:
    """*text* as UTC: ISO 8601, or Bandwidth's hyphenated times; ``None`` if unreadable."""
    parsed = parse_datetime(text)
    if parsed is not None or text is None:
        return parsed
    match = _LENIENT.fullmatch(text.strip())
    if match is None:
        return None
    date, hour, minute, second, fraction, zone = match.groups()
    iso = f"{date}T{hour}:{minute or '00'}:{second or '00'}{fraction or ''}{zone or ''}"
    return parse_datetime(iso)


def encode_disconnect(request: DisconnectRequest) -> bytes:
    """The ``<DisconnectTelephoneNumberOrder>`` body of ``POST /disconnects``.

    ``Name`` (deprecated by Bandwidth) and ``DisconnectMode`` are sent only when given; the
    mode in its :attr:`~bwnumbers.DisconnectMode.wire` spelling, inside the order type as
    Bandwidth echoes it.
    """
    order_type: dict[str, Any] = {"TelephoneNumberList": {"TelephoneNumber": list(request.numbers)}}
    if request.disconnect_mode is not None:
        order_type["DisconnectMode"] = request.disconnect_mode.wire
    content: dict[str, Any] = {"CustomerOrderId": request.customer_order_id}
    if request.name is not None:
        content["Name"] = request.name
    content[_TYPE] = order_type
    return _document("DisconnectTelephoneNumberOrder", content)


def _decode_order_request(node: Node, *, status: OrderStatus | None) -> DisconnectOrder:
    order_type = child_at(node, _TYPE)
    created_raw = text_in(node, "OrderCreateDate")
    return DisconnectOrder(
        id=text_in(node, "id", "Id", "OrderId"),
        customer_order_id=text_in(node, "CustomerOrderId"),
        numbers=nested_texts(order_type, "TelephoneNumberList", "TelephoneNumber"),
        status=status,
        created_at=lenient_datetime(created_raw),
        created_at_raw=created_raw,
        disconnect_mode=text_in(order_type, "DisconnectMode") or text_in(node, "DisconnectMode"),
        name=text_in(node, "Name", "name"),
    )


def _order_request(root: Node) -> Node:
    return child_at(root, "orderRequest") or child_at(root, "OrderRequest")


def decode_disconnect_response(body: bytes, *, location_id: str | None = None) -> DisconnectOrder:
    """The answer to ``POST /disconnects`` (200 or 201): the echoed disconnect with its id.

    The id is the lower-case ``<id>`` of ``orderRequest``, else *location_id* (the last
    segment of the ``Location`` header, read by the caller). ``OrderStatus`` may be missing,
    and so may the whole body when the header names the id.

    Raises:
        DecodeError: the body is not a disconnect response, or no id could be found.
    """
    if not body.strip():
        if location_id is None:
            raise DecodeError("The disconnect response is empty and has no Location header.")
        return DisconnectOrder(id=location_id)
    _, root = parse_document(body, (_RESPONSE,))
    order = _decode_order_request(
        _order_request(root), status=order_status(text_in(root, "OrderStatus"))
    )
    if order.id is None:
        if location_id is None:
            raise DecodeError(
                "The disconnect response carries no id (no <id> and no Location header).",
                body=body[:512],
            )
        order = attrs.evolve(order, id=location_id)
    if order.customer_order_id is None:  # the SPEC sample echoes it beside orderRequest
        order = attrs.evolve(order, customer_order_id=text_in(root, "CustomerOrderId"))
    return order


def _unique(numbers: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(numbers))


def decode_disconnect_details(body: bytes, *, disconnect_id: str) -> DisconnectDetails:
    """The ``GET /disconnects/{id}`` answer: status, disconnected numbers, per-number errors.

    *disconnect_id* is the id asked for, used when the echo has no ``<id>``. Failed numbers are
    those Bandwidth's errors name (``Error/TelephoneNumber``); when no error names one, every
    number of a FAILED or PARTIAL disconnect that is not listed as disconnected. A COMPLETE
    disconnect without ``DisconnectedTelephoneNumberList`` (its specification's schema has
    none) disconnected every number it asked for (assumed).

    Raises:
        DecodeError: the body is not a disconnect response or has no ``<OrderStatus>``.
    """
    _, root = parse_document(body, (_RESPONSE,))
    status = order_status(text_in(root, "OrderStatus"))
    if status is None:
        raise DecodeError("The disconnect response has no <OrderStatus>.", body=body[:512])
    order = _decode_order_request(_order_request(root), status=status)
    errors: tuple[OrderError, ...] = _decode_errors(child_at(root, "ErrorList"))
    if has_element(root, "DisconnectedTelephoneNumberList"):
        disconnected = nested_texts(root, "DisconnectedTelephoneNumberList", "TelephoneNumber")
    else:
        disconnected = order.numbers if status is OrderStatus.COMPLETE else ()
    failed = _unique([e.number for e in errors if e.number is not None])
    if not failed and status in (OrderStatus.FAILED, OrderStatus.PARTIAL):
        failed = tuple(n for n in order.numbers if n not in disconnected)
    if order.id is None:
        order = attrs.evolve(order, id=disconnect_id)
    if order.customer_order_id is None:
        order = attrs.evolve(order, customer_order_id=text_in(root, "CustomerOrderId"))
    return DisconnectDetails(
        id=order.id or disconnect_id,
        order=order,
        status=status,
        disconnected_numbers=disconnected,
        failed_numbers=failed,
        errors=errors,
    )


def _row_numbers(row: Node) -> tuple[str, ...]:
    details = child_at(row, "TelephoneNumberDetails")
    # Bandwidth's samples leave TelephoneNumberDetails empty or snipped; read the shapes its
    # other listings use (assumed).
    return (
        nested_texts(details, "TelephoneNumbers", "TelephoneNumber")
        or nested_texts(details, "TelephoneNumberList", "TelephoneNumber")
        or texts_in(details, "TelephoneNumber")
    )


def _decode_row(row: Node) -> DisconnectSummary | None:
    disconnect_id = text_in(row, "OrderId", "orderId")
    if disconnect_id is None:
        return None
    return DisconnectSummary(
        id=disconnect_id,
        status=order_status(text_in(row, "OrderStatus")),
        count_of_numbers=int_in(row, "CountOfTNs"),
        user_id=text_in(row, "userId", "UserId"),
        ordered_at=lenient_datetime(text_in(row, "OrderDate")),
        last_modified=lenient_datetime(text_in(row, "lastModifiedDate", "LastModifiedDate")),
        numbers=_row_numbers(row),
    )


def decode_disconnect_list(
    body: bytes,
) -> tuple[tuple[DisconnectSummary, ...], PageCursor | None]:
    """The rows of one page of ``GET /disconnects`` and the cursor of the next page.

    An empty body, and the specification's 404 body (a bare ``<Links>``), are an empty page.
    """
    if not body.strip():
        return (), None
    root_name, root = parse_document(body, ("ResponseSelectWrapper", "Links"))
    if root_name == "Links":
        return (), None
    listing = child_at(root, "ListOrderIdUserIdDate")
    decoded = (_decode_row(as_node(value)) for value in elements(listing, "OrderIdUserIdDate"))
    rows = tuple(row for row in decoded if row is not None)
    cursor = next_page(listing) or next_page(root)
    return rows, cursor


def is_bare_links(body: bytes) -> bool:
    """Whether *body* is a bare ``<Links>`` document: Bandwidth's 404 for an empty listing."""
    if not body.strip():
        return False
    try:
        root_name, _ = parse_document(body, None)
    except DecodeError:
        return False
    return root_name == "Links"
