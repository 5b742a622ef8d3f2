"""Decoding: the responses of Bandwidth's Numbers API, read by the rules of :mod:`._tree`.

Each decoder names the request whose response it reads; shapes follow Bandwidth's API
reference (https://dev.bandwidth.com/apis/numbers/). Anything that is not a well-formed
document of the expected root raises :class:`~bwnumbers.DecodeError` with a one-line reason.
"""

from __future__ import annotations

from typing import Any

from bwnumbers._exceptions import DecodeError, ValidationError
from bwnumbers._models import (
    NumberDetail,
    Order,
    OrderDetails,
    OrderError,
    OrderHistoryEntry,
    OrderStatus,
    OrderSummary,
    SearchResult,
    Subscription,
)
from bwnumbers._search import Search

from ._links import PageCursor, next_page
from ._names import BOOLEAN_SEARCH_FIELDS, ORDER_TYPE_ELEMENTS, SEARCH_ELEMENTS
from ._tree import (
    Node,
    as_node,
    bool_in,
    child_at,
    datetime_in,
    elements,
    has_element,
    int_in,
    nested,
    nested_texts,
    order_status,
    parse_document,
    text_in,
    text_of,
    texts_in,
)


def _decode_subscription(node: Node) -> Subscription | None:
    subscription_id = text_in(node, "SubscriptionId")
    if subscription_id is None:
        return None
    callback = child_at(node, "CallbackSubscription")
    email = child_at(node, "EmailSubscription")
    return Subscription(
        id=subscription_id,
        order_type=text_in(node, "OrderType"),
        order_id=text_in(node, "OrderId"),
        event_type=text_in(node, "EventType"),
        url=text_in(callback, "URL"),
        expiry=int_in(callback, "Expiry"),
        status=text_in(callback, "Status"),
        username=text_in(
            child_at(callback, "CallbackCredentials", "BasicAuthentication"), "Username"
        ),
        number_format=text_in(callback, "NumberFormat"),
        email=text_in(email, "Email"),
        digest=text_in(email, "DigestRequested"),
    )


def decode_subscriptions(body: bytes) -> tuple[Subscription, ...]:
    """Subscriptions of ``GET /subscriptions`` or ``GET /subscriptions/{id}``.

    Both documented shapes are accepted: ``<Subscriptions>`` wrapping the ``<Subscription>``
    elements, and ``<Subscription>`` directly under the root.
    """
    _, root = parse_document(body, ("SubscriptionsResponse",))
    found_elements = [
        *nested(root, "Subscriptions", "Subscription"),
        *elements(root, "Subscription"),
    ]
    found = (_decode_subscription(as_node(e)) for e in found_elements)
    return tuple(s for s in found if s is not None)


def _decode_number_detail(node: Node) -> NumberDetail | None:
    # Bandwidth's OpenAPI description says FullNumber; its Node SDK's test fixture says
    # TelephoneNumber. Take either.
    number = text_in(node, "FullNumber", "TelephoneNumber")
    if number is None:
        return None
    return NumberDetail(
        number=number,
        city=text_in(node, "City"),
        state=text_in(node, "State"),
        rate_center=text_in(node, "RateCenter"),
        lata=text_in(node, "LATA", "Lata"),
        tier=text_in(node, "Tier"),
        vendor_id=text_in(node, "VendorId"),
        vendor_name=text_in(node, "VendorName"),
    )


def decode_search_result(body: bytes) -> SearchResult:
    """The ``<SearchResult>`` of ``GET /availableNumbers`` (an empty one means no numbers)."""
    _, root = parse_document(body, ("SearchResult",))
    decoded = (
        _decode_number_detail(as_node(value))
        for value in nested(root, "TelephoneNumberDetailList", "TelephoneNumberDetail")
    )
    details = tuple(d for d in decoded if d is not None)
    numbers = nested_texts(root, "TelephoneNumberList", "TelephoneNumber") or tuple(
        d.number for d in details
    )
    count = int_in(root, "ResultCount")
    return SearchResult(
        numbers=numbers, details=details, result_count=len(numbers) if count is None else count
    )


def _decode_search(node: Node) -> Search | None:
    values: dict[str, Any] = {}
    for name, child in SEARCH_ELEMENTS.items():
        text = text_in(node, child, "LATA") if name == "lata" else text_in(node, child)
        if text is not None:
            values[name] = text.lower() == "true" if name in BOOLEAN_SEARCH_FIELDS else text
    quantity = int_in(node, "Quantity")
    if quantity is not None:
        values["quantity"] = quantity
    try:
        return Search(**values)
    except ValidationError:
        return None  # an echo we would not have sent ourselves; keep the rest of the order


def _decode_order(node: Node, *, status: OrderStatus | None, order_id: str | None) -> Order:
    existing = child_at(node, "ExistingTelephoneNumberOrderType")
    numbers = nested_texts(existing, "TelephoneNumberList", "TelephoneNumber")
    search = None
    for element in ORDER_TYPE_ELEMENTS.values():
        if has_element(node, element):
            search = _decode_search(child_at(node, element))
            break
    return Order(
        id=text_in(node, "id", "OrderId") or order_id,
        customer_order_id=text_in(node, "CustomerOrderId"),
        name=text_in(node, "Name"),
        site_id=text_in(node, "SiteId"),
        peer_id=text_in(node, "PeerId"),
        status=status,
        numbers=numbers,
        search=search,
        partial_allowed=bool_in(node, "PartialAllowed"),
        back_order_requested=bool_in(node, "BackOrderRequested"),
        tn_attributes=texts_in(child_at(node, "TnAttributes"), "TnAttribute"),
        created_at=datetime_in(node, "OrderCreateDate"),
    )


def decode_order_response(body: bytes, *, location_id: str | None = None) -> Order:
    """The ``<OrderResponse>`` of ``POST /orders``: the echoed order with its id and status.

    The id is the lower-case ``<id>`` of the echoed order, else *location_id* (read from the
    ``Location`` header by the caller).

    Raises:
        DecodeError: the body has no ``<Order>`` or no id could be found.
    """
    _, root = parse_document(body, ("OrderResponse",))
    if not has_element(root, "Order"):
        raise DecodeError("The order response has no <Order> element.", body=body[:512])
    order = _decode_order(
        child_at(root, "Order"),
        status=order_status(text_in(root, "OrderStatus")),
        order_id=location_id,
    )
    if not order.id:
        raise DecodeError(
            "The order response carries no order id (no <id> and no Location header).",
            body=body[:512],
        )
    return order


def _decode_errors(node: Node) -> tuple[OrderError, ...]:
    errors = []
    for value in elements(node, "Error"):
        error = as_node(value)
        description = text_in(error, "Description")
        code = int_in(error, "Code", "ErrorCode")
        if code is None and description is None:
            continue
        errors.append(
            OrderError(
                code=code,
                description=description or "",
                number=text_in(error, "TelephoneNumber"),
            )
        )
    return tuple(errors)


def decode_order_details(body: bytes, *, order_id: str) -> OrderDetails:
    """The ``<OrderResponse>`` of ``GET /orders/{id}``.

    *order_id* is the id that was asked for: Bandwidth usually leaves ``<id>`` out here.
    Completed numbers are read from ``CompletedNumbers/TelephoneNumber/FullNumber``, failed
    ones from ``FailedNumbers/FullNumber``.

    Raises:
        DecodeError: the body is not an order response or has no ``<OrderStatus>``.
    """
    _, root = parse_document(body, ("OrderResponse",))
    status = order_status(text_in(root, "OrderStatus"))
    if status is None:
        raise DecodeError("The order response has no <OrderStatus>.", body=body[:512])
    # In a GET, completed numbers are <TelephoneNumber><FullNumber>; tolerate plain text too.
    completed = (
        text_in(as_node(number), "FullNumber") or text_of(number)
        for number in nested(root, "CompletedNumbers", "TelephoneNumber")
    )
    order = _decode_order(child_at(root, "Order"), status=status, order_id=order_id)
    return OrderDetails(
        id=order.id or order_id,
        status=status,
        order=order,
        completed_numbers=tuple(n for n in completed if n is not None),
        failed_numbers=nested_texts(root, "FailedNumbers", "FullNumber"),
        errors=_decode_errors(child_at(root, "ErrorList")),
        completed_quantity=int_in(root, "CompletedQuantity"),
        failed_quantity=int_in(root, "FailedQuantity"),
        summary=text_in(root, "Summary"),
        created_by_user=text_in(root, "CreatedByUser"),
        last_modified=datetime_in(root, "LastModifiedDate"),
        completed_at=datetime_in(root, "OrderCompleteDate"),
    )


def decode_order_list(body: bytes) -> tuple[OrderSummary, ...]:
    """The rows of one page of ``GET /orders`` (``ResponseSelectWrapper/ListOrderIdUserIdDate``)."""
    return decode_order_page(body)[0]


def decode_order_page(body: bytes) -> tuple[tuple[OrderSummary, ...], PageCursor | None]:
    """The rows of one page of ``GET /orders`` and the cursor of the next page (``None`` on the
    last page: no ``<next>``, or one with no text, such as the SPEC example's, whose links are
    XML comments)."""
    _, root = parse_document(body, ("ResponseSelectWrapper",))
    listing = child_at(root, "ListOrderIdUserIdDate")
    rows = []
    for value in elements(listing, "OrderIdUserIdDate"):
        row = as_node(value)
        order_id = text_in(row, "orderId", "OrderId")
        if order_id is None:
            continue
        rows.append(
            OrderSummary(
                id=order_id,
                status=order_status(text_in(row, "OrderStatus")),
                customer_order_id=text_in(row, "CustomerOrderId"),
                order_type=text_in(row, "OrderType"),
                count_of_numbers=int_in(row, "CountOfTNs"),
                user_id=text_in(row, "userId", "UserId"),
                ordered_at=datetime_in(row, "OrderDate"),
                last_modified=datetime_in(row, "lastModifiedDate")
                or datetime_in(row, "LastModifiedDate"),
            )
        )
    # <Links> sits in ListOrderIdUserIdDate (the SPEC); beside it is read too, as for
    # the disconnect list.
    return tuple(rows), next_page(listing) or next_page(root)


def decode_order_history(body: bytes) -> tuple[OrderHistoryEntry, ...]:
    """The events of ``GET /orders/{id}/history`` (an empty body means none)."""
    if not body.strip():
        return ()
    _, root = parse_document(body, ("OrderHistoryWrapper",))
    return tuple(
        OrderHistoryEntry(
            status=order_status(text_in(entry, "Status")),
            note=text_in(entry, "Note"),
            author=text_in(entry, "Author"),
            difference=text_in(entry, "Difference"),
            at=datetime_in(entry, "OrderDate"),
        )
        for entry in map(as_node, elements(root, "OrderHistory"))
    )


def decode_error(body: bytes) -> tuple[int | None, str | None, tuple[OrderError, ...]]:
    """Bandwidth's error code, description and error entries, from any of its error shapes.

    Understands ``SearchResult/Error``, ``OrderResponse/ErrorList/Error``,
    ``*/ResponseStatus`` (with or without ``ErrorCode``), ``Errors/Error`` and
    ``resultCode``/``resultMessage``. Never raises: a body that is not XML (an HTML error page
    from a proxy, say) gives ``(None, None, ())``.
    """
    try:
        _, root = parse_document(body, None)  # error bodies come in many envelopes
    except DecodeError:
        return None, None, ()
    errors = (
        _decode_errors(child_at(root, "ErrorList"))
        + _decode_errors(root)
        + _decode_errors(child_at(root, "Errors"))
    )
    status = child_at(root, "ResponseStatus")
    if has_element(root, "ResponseStatus"):
        code = int_in(status, "ErrorCode")
        description = text_in(status, "Description")
        if code is not None or description is not None:
            errors = (OrderError(code=code, description=description or ""), *errors)
    if has_element(root, "resultCode") or has_element(root, "resultMessage"):
        errors = (
            OrderError(
                code=int_in(root, "resultCode"), description=text_in(root, "resultMessage") or ""
            ),
            *errors,
        )
    if not errors:
        return None, None, ()
    first = errors[0]
    return first.code, first.description or None, errors
