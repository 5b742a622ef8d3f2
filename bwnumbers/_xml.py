"""The XML codec: every Bandwidth element name lives here, and only here.

Decoding follows ``shared/reference/wire-format.md``: elements are matched by name, unknown ones
are ignored, element order never matters, and one child decodes like many (every element is
parsed as a list). Documents with a DOCTYPE, entity declarations, absurd nesting or too many
elements are refused before they can cost memory or time; anything that is not a well-formed
document of the expected root raises :class:`DecodeError` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, NoReturn
from xml.parsers import expat
from xml.sax.saxutils import escape

import xmltodict

from ._exceptions import DecodeError, ValidationError
from ._models import (
    Notification,
    NumberDetail,
    Order,
    OrderDetails,
    OrderError,
    OrderHistoryEntry,
    OrderRequest,
    OrderStatus,
    OrderSummary,
    SearchResult,
    Subscription,
)
from ._search import Search, SearchKind

MAX_DEPTH: Final = 32
MAX_ELEMENTS: Final = 200_000

# A parsed element: text, nothing (an empty element), or its children by name.
_Node = dict[str, list[Any]]

_ORDER_TYPE_ELEMENTS: Final[Mapping[SearchKind, str]] = {
    SearchKind.AREA_CODE: "AreaCodeSearchAndOrderType",
    SearchKind.NPA_NXX: "NPANXXSearchAndOrderType",
    SearchKind.RATE_CENTER: "RateCenterSearchAndOrderType",
    SearchKind.CITY: "CitySearchAndOrderType",
    SearchKind.STATE: "StateSearchAndOrderType",
    SearchKind.ZIP: "ZIPSearchAndOrderType",
    SearchKind.LATA: "LATASearchAndOrderType",
    SearchKind.TOLL_FREE_VANITY: "TollFreeVanitySearchAndOrderType",
    SearchKind.TOLL_FREE_WILDCARD: "TollFreeWildCharSearchAndOrderType",
    SearchKind.COMBINED: "CombinedSearchAndOrderType",
}
# Search field -> element inside a search-and-order type. The SDKs and the SPEC example send
# <Lata> although the schema says LATA; decoding accepts both.
_SEARCH_ELEMENTS: Final[Mapping[str, str]] = {
    "area_code": "AreaCode",
    "npa_nxx": "NpaNxx",
    "npa_nxxx": "NpaNxxX",
    "rate_center": "RateCenter",
    "city": "City",
    "state": "State",
    "zip": "Zip",
    "lata": "Lata",
    "local_vanity": "LocalVanity",
    "ends_in": "EndsIn",
    "toll_free_vanity": "TollFreeVanity",
    "toll_free_wildcard_pattern": "TollFreeWildCardPattern",
    "enable_tn_detail": "EnableTNDetail",
    "lca": "EnableLCA",
}
_BOOLEAN_FIELDS: Final = frozenset({"ends_in", "enable_tn_detail", "lca"})
_SECRET_ELEMENTS: Final = re.compile(rb"(<Password>)(.*?)(</Password>)", re.DOTALL | re.IGNORECASE)


# --------------------------------------------------------------------------- parsing, safely


class _Refused(Exception):
    """Raised inside expat callbacks to stop a document we will not parse."""


class _GuardedParser:
    """An expat parser that refuses DTDs and bounds depth and element count.

    xmltodict assigns its handlers after creating the parser, so the guard wraps them as they
    are assigned rather than subclassing anything. The wrapper is on the hot path of every
    callback, so it keeps its counters in closure cells and reads the depth from xmltodict's
    own element path when it can.
    """

    def __init__(self, parser: Any) -> None:
        object.__setattr__(self, "_parser", parser)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "StartElementHandler":
            self._guard(value)
            return
        if name == "EndElementHandler" and self._parser.EndElementHandler is not None:
            value = _chain(self._parser.EndElementHandler, value)
        elif name in ("EntityDeclHandler", "StartDoctypeDeclHandler"):
            return  # keep our refusal
        setattr(self._parser, name, value)

    def _guard(self, handler: Callable[..., Any]) -> None:
        path = getattr(getattr(handler, "__self__", None), "path", None)
        count = 0
        depth = 0

        def start(name: str, attrs: Any) -> Any:
            nonlocal count, depth
            count += 1
            if count > MAX_ELEMENTS:
                raise _Refused(f"the document has more than {MAX_ELEMENTS} elements")
            # xmltodict's path holds the open ancestors of the element being started.
            if (len(path) if path is not None else depth) >= MAX_DEPTH:
                raise _Refused(f"elements are nested deeper than {MAX_DEPTH} levels")
            if path is None:
                depth += 1
            return handler(name, attrs)

        def end(_: str) -> None:
            nonlocal depth
            depth -= 1

        self._parser.StartElementHandler = start
        if path is None:  # not xmltodict's handler: count depth ourselves
            self._parser.EndElementHandler = end


def _chain(first: Callable[..., Any], second: Callable[..., Any]) -> Callable[..., Any]:
    def both(*args: Any) -> Any:
        first(*args)
        return second(*args)

    return both


def _refuse_doctype(*_: Any) -> NoReturn:
    raise _Refused("a DOCTYPE is not allowed")


def _refuse_entity(*_: Any) -> NoReturn:
    raise _Refused("entity declarations and references are not allowed")


def _refusing_parser(encoding: str | None = None, namespace_separator: str | None = None) -> Any:
    """An expat parser that refuses any DTD and never resolves an external entity."""
    parser = expat.ParserCreate(encoding, namespace_separator)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    # External entities are never fetched: expat only calls this handler, which refuses.
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


class _GuardedExpat:
    """The ``expat`` module interface xmltodict asks for, handing out guarded parsers."""

    ExpatError = expat.ExpatError

    @staticmethod
    def ParserCreate(
        encoding: str | None = None, namespace_separator: str | None = None
    ) -> _GuardedParser:
        return _GuardedParser(_refusing_parser(encoding, namespace_separator))


def _checked_bytes(body: bytes) -> bytes:
    if not isinstance(body, bytes | bytearray | memoryview):
        raise DecodeError("Expected the XML body as bytes.")
    data = body if isinstance(body, bytes) else bytes(body)
    if not data or data.isspace():
        raise DecodeError("Expected an XML document but the body is empty.", body=data)
    return data


@contextlib.contextmanager
def _decoding(data: bytes) -> Iterator[None]:
    """Turn every way a parse can fail into a one-line DecodeError."""
    try:
        yield
    except _Refused as exc:
        raise DecodeError(f"Refused the XML document: {exc}.", body=data[:512]) from None
    except (expat.ExpatError, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DecodeError(f"The body is not well-formed XML ({reason}).", body=data[:512]) from None


def _check_root(root: str, expected: tuple[str, ...] | None, data: bytes) -> str:
    root_name = root.rpartition(":")[2]  # ignore a namespace prefix
    if expected is not None and root_name not in expected:
        wanted = " or ".join(f"<{r}>" for r in expected)
        raise DecodeError(f"Expected {wanted} but the document is <{root}>.", body=data[:512])
    return root_name


def _parse(body: bytes, expected: tuple[str, ...] | None) -> tuple[str, _Node]:
    """Parse *body* and return its root name and element, which must be one of *expected*.

    *expected* ``None`` accepts any root.
    """
    data = _checked_bytes(body)
    with _decoding(data):
        document = xmltodict.parse(
            data, expat=_GuardedExpat, force_list=True, xml_attribs=False, disable_entities=True
        )
    if not isinstance(document, dict) or len(document) != 1:
        raise DecodeError("The body is not a single XML document.", body=data[:512])
    ((root, values),) = document.items()
    root_name = _check_root(root, expected, data)
    value = values[0] if isinstance(values, list) and values else values
    return root_name, _as_node(value)


def _as_node(value: Any) -> _Node:
    return value if isinstance(value, dict) else {}


def _all(node: _Node, name: str) -> list[Any]:
    values = node.get(name)
    if values is None:
        return []
    return values if isinstance(values, list) else [values]


def _nested(node: _Node, wrapper: str, name: str) -> list[Any]:
    """Every *name* element inside every *wrapper* child of *node* (``<List><Item/>...``)."""
    return [value for w in _all(node, wrapper) for value in _all(_as_node(w), name)]


def _nested_texts(node: _Node, wrapper: str, name: str) -> tuple[str, ...]:
    texts = (_text_of(value) for value in _nested(node, wrapper, name))
    return tuple(t for t in texts if t is not None)


def _child(node: _Node, *path: str) -> _Node:
    """The first element at *path* below *node*, or an empty node."""
    for name in path:
        values = _all(node, name)
        node = _as_node(values[0]) if values else {}
    return node


def _has(node: _Node, name: str) -> bool:
    return name in node


def _text_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("#text")
        if isinstance(value, list):
            value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _text(node: _Node, *names: str) -> str | None:
    """The text of the first of *names* present in *node* (an alias list for disputed names)."""
    for name in names:
        values = _all(node, name)
        if values:
            return _text_of(values[0])
    return None


def _texts(node: _Node, name: str) -> tuple[str, ...]:
    return tuple(t for t in (_text_of(v) for v in _all(node, name)) if t is not None)


def _int(node: _Node, *names: str) -> int | None:
    text = _text(node, *names)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _bool(node: _Node, name: str) -> bool | None:
    text = _text(node, name)
    if text is None:
        return None
    return text.lower() == "true"


def _datetime(node: _Node, name: str) -> dt.datetime | None:
    return _parse_datetime(_text(node, name))


def _parse_datetime(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # dates are informational; a new format must not break decoding
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _status(text: str | None) -> OrderStatus | None:
    return OrderStatus(text) if text else None


# --------------------------------------------------------------------------- encoding


# Characters XML 1.0 cannot carry at all, escaped or not.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


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
    url: str,
    expiry: int,
    username: str | None = None,
    password: str | None = None,
    order_type: str = "orders",
    order_id: str | None = None,
) -> bytes:
    """The ``<Subscription>`` body of ``POST``/``PUT /subscriptions``."""
    callback: dict[str, Any] = {"URL": url, "Expiry": str(expiry)}
    if username is not None and password is not None:
        callback["CallbackCredentials"] = {
            "BasicAuthentication": {"Username": username, "Password": password}
        }
    content: dict[str, Any] = {"OrderType": order_type}
    if order_id is not None:
        content["OrderId"] = order_id
    content["CallbackSubscription"] = callback
    return _document("Subscription", content)


def _encode_search(search: Search) -> tuple[str, dict[str, Any]]:
    kind = search.kind
    fields: dict[str, Any] = {}
    for name, element in _SEARCH_ELEMENTS.items():
        value = getattr(search, name)
        if value is not None:
            fields[element] = _xml_bool(value) if isinstance(value, bool) else value
    fields["Quantity"] = str(search.quantity or 1)
    return _ORDER_TYPE_ELEMENTS[kind], fields


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
        content["ExistingTelephoneNumberOrderType"] = {
            "TelephoneNumberList": {"TelephoneNumber": list(request.numbers)}
        }
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


def redact(body: bytes) -> str:
    """*body* as text for a DEBUG log, with every ``<Password>`` masked."""
    masked = _SECRET_ELEMENTS.sub(rb"\1***\3", body)
    return masked.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- decoding


def _decode_subscription(node: _Node) -> Subscription | None:
    subscription_id = _text(node, "SubscriptionId")
    if subscription_id is None:
        return None
    callback = _child(node, "CallbackSubscription")
    email = _child(node, "EmailSubscription")
    return Subscription(
        id=subscription_id,
        order_type=_text(node, "OrderType"),
        order_id=_text(node, "OrderId"),
        event_type=_text(node, "EventType"),
        url=_text(callback, "URL"),
        expiry=_int(callback, "Expiry"),
        status=_text(callback, "Status"),
        username=_text(_child(callback, "CallbackCredentials", "BasicAuthentication"), "Username"),
        number_format=_text(callback, "NumberFormat"),
        email=_text(email, "Email"),
        digest=_text(email, "DigestRequested"),
    )


def decode_subscriptions(body: bytes) -> tuple[Subscription, ...]:
    """Subscriptions of ``GET /subscriptions`` or ``GET /subscriptions/{id}``.

    Both documented shapes are accepted: ``<Subscriptions>`` wrapping the ``<Subscription>``
    elements, and ``<Subscription>`` directly under the root.
    """
    _, root = _parse(body, ("SubscriptionsResponse",))
    elements = [*_nested(root, "Subscriptions", "Subscription"), *_all(root, "Subscription")]
    found = (_decode_subscription(_as_node(e)) for e in elements)
    return tuple(s for s in found if s is not None)


def _decode_number_detail(node: _Node) -> NumberDetail | None:
    # The SPEC says FullNumber; the Node SDK's fixture says TelephoneNumber. Take either.
    number = _text(node, "FullNumber", "TelephoneNumber")
    if number is None:
        return None
    return NumberDetail(
        number=number,
        city=_text(node, "City"),
        state=_text(node, "State"),
        rate_center=_text(node, "RateCenter"),
        lata=_text(node, "LATA", "Lata"),
        tier=_text(node, "Tier"),
        vendor_id=_text(node, "VendorId"),
        vendor_name=_text(node, "VendorName"),
    )


def decode_search_result(body: bytes) -> SearchResult:
    """The ``<SearchResult>`` of ``GET /availableNumbers`` (an empty one means no numbers)."""
    _, root = _parse(body, ("SearchResult",))
    decoded = (
        _decode_number_detail(_as_node(value))
        for value in _nested(root, "TelephoneNumberDetailList", "TelephoneNumberDetail")
    )
    details = tuple(d for d in decoded if d is not None)
    numbers = _nested_texts(root, "TelephoneNumberList", "TelephoneNumber") or tuple(
        d.number for d in details
    )
    count = _int(root, "ResultCount")
    return SearchResult(
        numbers=numbers, details=details, result_count=len(numbers) if count is None else count
    )


def _decode_search(node: _Node) -> Search | None:
    values: dict[str, Any] = {}
    for name, child in _SEARCH_ELEMENTS.items():
        text = _text(node, child, "LATA") if name == "lata" else _text(node, child)
        if text is not None:
            values[name] = text.lower() == "true" if name in _BOOLEAN_FIELDS else text
    quantity = _int(node, "Quantity")
    if quantity is not None:
        values["quantity"] = quantity
    try:
        return Search(**values)
    except ValidationError:
        return None  # an echo we would not have sent ourselves; keep the rest of the order


def _decode_order(node: _Node, *, status: OrderStatus | None, order_id: str | None) -> Order:
    existing = _child(node, "ExistingTelephoneNumberOrderType")
    numbers = _nested_texts(existing, "TelephoneNumberList", "TelephoneNumber")
    search = None
    for element in _ORDER_TYPE_ELEMENTS.values():
        if _has(node, element):
            search = _decode_search(_child(node, element))
            break
    return Order(
        id=_text(node, "id", "OrderId") or order_id,
        customer_order_id=_text(node, "CustomerOrderId"),
        name=_text(node, "Name"),
        site_id=_text(node, "SiteId"),
        peer_id=_text(node, "PeerId"),
        status=status,
        numbers=numbers,
        search=search,
        partial_allowed=_bool(node, "PartialAllowed"),
        back_order_requested=_bool(node, "BackOrderRequested"),
        tn_attributes=_texts(_child(node, "TnAttributes"), "TnAttribute"),
        created_at=_datetime(node, "OrderCreateDate"),
    )


def decode_order_response(body: bytes, *, location_id: str | None = None) -> Order:
    """The ``<OrderResponse>`` of ``POST /orders``: the echoed order with its id and status.

    The id is the lower-case ``<id>`` of the echoed order, else *location_id* (read from the
    ``Location`` header by the caller).

    Raises:
        DecodeError: the body has no ``<Order>`` or no id could be found.
    """
    _, root = _parse(body, ("OrderResponse",))
    if not _has(root, "Order"):
        raise DecodeError("The order response has no <Order> element.", body=body[:512])
    order = _decode_order(
        _child(root, "Order"), status=_status(_text(root, "OrderStatus")), order_id=location_id
    )
    if not order.id:
        raise DecodeError(
            "The order response carries no order id (no <id> and no Location header).",
            body=body[:512],
        )
    return order


def _decode_errors(node: _Node) -> tuple[OrderError, ...]:
    errors = []
    for value in _all(node, "Error"):
        error = _as_node(value)
        description = _text(error, "Description")
        code = _int(error, "Code", "ErrorCode")
        if code is None and description is None:
            continue
        errors.append(
            OrderError(
                code=code,
                description=description or "",
                number=_text(error, "TelephoneNumber"),
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
    _, root = _parse(body, ("OrderResponse",))
    status = _status(_text(root, "OrderStatus"))
    if status is None:
        raise DecodeError("The order response has no <OrderStatus>.", body=body[:512])
    # In a GET, completed numbers are <TelephoneNumber><FullNumber>; tolerate plain text too.
    completed = (
        _text(_as_node(number), "FullNumber") or _text_of(number)
        for number in _nested(root, "CompletedNumbers", "TelephoneNumber")
    )
    order = _decode_order(_child(root, "Order"), status=status, order_id=order_id)
    return OrderDetails(
        id=order.id or order_id,
        status=status,
        order=order,
        completed_numbers=tuple(n for n in completed if n is not None),
        failed_numbers=_nested_texts(root, "FailedNumbers", "FullNumber"),
        errors=_decode_errors(_child(root, "ErrorList")),
        completed_quantity=_int(root, "CompletedQuantity"),
        failed_quantity=_int(root, "FailedQuantity"),
        summary=_text(root, "Summary"),
        created_by_user=_text(root, "CreatedByUser"),
        last_modified=_datetime(root, "LastModifiedDate"),
        completed_at=_datetime(root, "OrderCompleteDate"),
    )


def decode_order_list(body: bytes) -> tuple[OrderSummary, ...]:
    """The rows of ``GET /orders`` (``ResponseSelectWrapper/ListOrderIdUserIdDate``)."""
    _, root = _parse(body, ("ResponseSelectWrapper",))
    rows = []
    for value in _all(_child(root, "ListOrderIdUserIdDate"), "OrderIdUserIdDate"):
        row = _as_node(value)
        order_id = _text(row, "orderId", "OrderId")
        if order_id is None:
            continue
        rows.append(
            OrderSummary(
                id=order_id,
                status=_status(_text(row, "OrderStatus")),
                customer_order_id=_text(row, "CustomerOrderId"),
                order_type=_text(row, "OrderType"),
                count_of_numbers=_int(row, "CountOfTNs"),
                user_id=_text(row, "userId", "UserId"),
                ordered_at=_datetime(row, "OrderDate"),
                last_modified=_datetime(row, "lastModifiedDate")
                or _datetime(row, "LastModifiedDate"),
            )
        )
    return tuple(rows)


def decode_order_history(body: bytes) -> tuple[OrderHistoryEntry, ...]:
    """The events of ``GET /orders/{id}/history`` (an empty body means none)."""
    if not body.strip():
        return ()
    _, root = _parse(body, ("OrderHistoryWrapper",))
    return tuple(
        OrderHistoryEntry(
            status=_status(_text(entry, "Status")),
            note=_text(entry, "Note"),
            author=_text(entry, "Author"),
            difference=_text(entry, "Difference"),
            at=_datetime(entry, "OrderDate"),
        )
        for entry in map(_as_node, _all(root, "OrderHistory"))
    )


_NOTIFICATION_FIELDS: Final = frozenset({
    "SubscriptionId", "OrderType", "OrderId", "CustomerOrderId", "Status", "Message", "Note",
    "LastModifiedDate", "ActualFocDate", "EventType",
})  # fmt: skip
_NOTIFICATION_LISTS: Final = frozenset({"CompletedTelephoneNumbers", "ImpactedTelephoneNumbers"})


def decode_notification(body: bytes) -> Notification:
    """A ``<Notification>`` callback body.

    Notifications are the receiver's hot path, so they are read straight from expat events
    instead of through the generic dict building. The rules are the generic decoders' (the
    first element of a name wins, text is an element's own stripped text, lists come from the
    first container), and a differential test holds the two to the same results.

    Raises:
        DecodeError: *body* is not a well-formed, DTD-free ``<Notification>`` document.
    """
    data = _checked_bytes(body)
    fields: dict[str, str | None] = {}
    lists: dict[str, list[str]] = {}
    buffers: list[list[str]] = []  # the text of each open element, innermost last
    roots: list[str] = []
    open_list: list[str] | None = None
    count = 0

    def start(name: str, _: Any) -> None:
        nonlocal open_list, count
        depth = len(buffers)
        count += 1
        if depth >= MAX_DEPTH:
            raise _Refused(f"elements are nested deeper than {MAX_DEPTH} levels")
        if count > MAX_ELEMENTS:
            raise _Refused(f"the document has more than {MAX_ELEMENTS} elements")
        if depth == 0:
            roots.append(name)
        elif depth == 1 and name in _NOTIFICATION_LISTS and name not in lists:
            open_list = lists[name] = []
        buffers.append([])

    def end(name: str) -> None:
        nonlocal open_list
        depth = len(buffers)
        parts = buffers.pop()
        text = (parts[0] if len(parts) == 1 else "".join(parts)).strip() or None
        if depth == 2:
            if name in _NOTIFICATION_FIELDS and name not in fields:
                fields[name] = text
            open_list = None
        elif depth == 3 and open_list is not None and name == "TelephoneNumber" and text:
            open_list.append(text)

    def characters(text: str) -> None:
        if buffers:
            buffers[-1].append(text)

    with _decoding(data):
        parser = _refusing_parser()  # start() enforces the depth and element bounds itself
        parser.buffer_text = True
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = characters
        parser.Parse(data, True)
    _check_root(roots[0], ("Notification",), data)  # expat refuses a document with no root
    return Notification(
        subscription_id=fields.get("SubscriptionId"),
        order_type=fields.get("OrderType"),
        order_id=fields.get("OrderId"),
        customer_order_id=fields.get("CustomerOrderId"),
        status=_status(fields.get("Status")),
        message=fields.get("Message"),
        note=fields.get("Note"),
        completed_numbers=lists.get("CompletedTelephoneNumbers", ()),
        last_modified=_parse_datetime(fields.get("LastModifiedDate")),
        actual_foc_date=_parse_datetime(fields.get("ActualFocDate")),
        event_type=fields.get("EventType"),
        impacted_numbers=lists.get("ImpactedTelephoneNumbers", ()),
    )


def parse_notification(body: bytes) -> Notification:
    """Decode the body of a Bandwidth order notification callback.

    For users who receive callbacks in their own web framework: pass the raw request body,
    then hand the result to ``CallbackReceiver.deliver()``.

    Raises:
        DecodeError: *body* is not a well-formed, DTD-free ``<Notification>`` document.

    .. versionadded:: 0.1
    """
    return decode_notification(body)


def decode_error(body: bytes) -> tuple[int | None, str | None, tuple[OrderError, ...]]:
    """Bandwidth's error code, description and error entries, from any of its error shapes.

    Understands ``SearchResult/Error``, ``OrderResponse/ErrorList/Error``,
    ``*/ResponseStatus`` (with or without ``ErrorCode``), ``Errors/Error`` and
    ``resultCode``/``resultMessage``. Never raises: a body that is not XML (an HTML error page
    from a proxy, say) gives ``(None, None, ())``.
    """
    try:
        _, root = _parse(body, None)  # error bodies come in many envelopes
    except DecodeError:
        return None, None, ()
    errors = (
        _decode_errors(_child(root, "ErrorList"))
        + _decode_errors(root)
        + _decode_errors(_child(root, "Errors"))
    )
    status = _child(root, "ResponseStatus")
    if _has(root, "ResponseStatus"):
        code = _int(status, "ErrorCode")
        description = _text(status, "Description")
        if code is not None or description is not None:
            errors = (OrderError(code=code, description=description or ""), *errors)
    if _has(root, "resultCode") or _has(root, "resultMessage"):
        errors = (
            OrderError(
                code=_int(root, "resultCode"), description=_text(root, "resultMessage") or ""
            ),
            *errors,
        )
    if not errors:
        return None, None, ()
    first = errors[0]
    return first.code, first.description or None, errors
