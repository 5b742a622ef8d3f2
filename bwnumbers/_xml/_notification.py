"""The notification fast path: ``<Notification>`` callbacks read straight from expat events.

Notifications are the receiver's hot path, so they skip the generic dict building of
:mod:`._tree` but keep its rules (the first element of a name wins, text is an element's own
stripped text, lists come from the first container); a differential test holds the two to
the same results on any input.
"""

from __future__ import annotations

from typing import Any, Final

from bwnumbers._models import Notification

from ._safe import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    Refused,
    check_root,
    checked_bytes,
    decoding,
    refusing_parser,
)
from ._tree import order_status, parse_datetime

# The elements of a notification, as Bandwidth documents its order webhooks
# (https://dev.bandwidth.com/docs/numbers/webhooks).
_FIELDS: Final = frozenset({
    "SubscriptionId", "OrderType", "OrderId", "CustomerOrderId", "Status", "Message", "Note",
    "LastModifiedDate", "ActualFocDate", "EventType",
})  # fmt: skip
_LISTS: Final = frozenset({"CompletedTelephoneNumbers", "ImpactedTelephoneNumbers"})


def parse_notification(body: bytes) -> Notification:
    """Decode the body of a Bandwidth order notification callback.

    This is what :class:`~bwnumbers.CallbackReceiver` runs on every callback. For users who
    receive callbacks in their own web framework: pass the raw request body, then hand the
    result to ``CallbackReceiver.deliver()``. The notification's elements are those of
    Bandwidth's order webhooks (https://dev.bandwidth.com/docs/numbers/webhooks); unknown
    elements are ignored and element order does not matter.

    Args:
        body: the raw request body, as bytes.

    Returns:
        The decoded :class:`~bwnumbers.Notification`.

    Raises:
        DecodeError: *body* is not a well-formed, DTD-free ``<Notification>`` document.

    .. versionadded:: 0.1
    """
    data = checked_bytes(body)
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
            raise Refused(f"elements are nested deeper than {MAX_DEPTH} levels")
        if count > MAX_ELEMENTS:
            raise Refused(f"the document has more than {MAX_ELEMENTS} elements")
        if depth == 0:
            roots.append(name)
        elif depth == 1 and name in _LISTS and name not in lists:
            open_list = lists[name] = []
        buffers.append([])

    def end(name: str) -> None:
        nonlocal open_list
        depth = len(buffers)
        parts = buffers.pop()
        text = (parts[0] if len(parts) == 1 else "".join(parts)).strip() or None
        if depth == 2:
            if name in _FIELDS and name not in fields:
                fields[name] = text
            open_list = None
        elif depth == 3 and open_list is not None and name == "TelephoneNumber" and text:
            open_list.append(text)

    def characters(text: str) -> None:
        if buffers:
            buffers[-1].append(text)

    with decoding(data):
        parser = refusing_parser()  # start() enforces the depth and element bounds itself
        parser.buffer_text = True
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = characters
        parser.Parse(data, True)
    check_root(roots[0], ("Notification",), data)  # expat refuses a document with no root
    return Notification(
        subscription_id=fields.get("SubscriptionId"),
        order_type=fields.get("OrderType"),
        order_id=fields.get("OrderId"),
        customer_order_id=fields.get("CustomerOrderId"),
        status=order_status(fields.get("Status")),
        message=fields.get("Message"),
        note=fields.get("Note"),
        completed_numbers=lists.get("CompletedTelephoneNumbers", ()),
        last_modified=parse_datetime(fields.get("LastModifiedDate")),
        actual_foc_date=parse_datetime(fields.get("ActualFocDate")),
        event_type=fields.get("EventType"),
        impacted_numbers=lists.get("ImpactedTelephoneNumbers", ()),
    )
