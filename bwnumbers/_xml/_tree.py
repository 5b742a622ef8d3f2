"""The generic tree: a document parsed into nested dicts, and the readers that walk it.

The reading rules are those of Bandwidth's documents as its OpenAPI description and SDKs show
them (https://dev.bandwidth.com/apis/numbers/): elements are matched by name, unknown ones are
ignored, element order never matters, and one child reads like many (every element is parsed
as a list). The first element of a name wins, and text is an element's own stripped text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import xmltodict

from bwnumbers._exceptions import DecodeError
from bwnumbers._models import OrderStatus

from ._safe import GuardedExpat, check_root, checked_bytes, decoding

# A parsed element: text, nothing (an empty element), or its children by name.
Node = dict[str, list[Any]]


def parse_document(body: bytes, expected: tuple[str, ...] | None) -> tuple[str, Node]:
    """Parse *body* and return its root name and element, which must be one of *expected*.

    *expected* ``None`` accepts any root.

    Raises:
        DecodeError: *body* is not a well-formed, DTD-free document of an expected root.
    """
    data = checked_bytes(body)
    with decoding(data):
        document = xmltodict.parse(
            data, expat=GuardedExpat, force_list=True, xml_attribs=False, disable_entities=True
        )
    if not isinstance(document, dict) or len(document) != 1:
        raise DecodeError("The body is not a single XML document.", body=data[:512])
    ((root, values),) = document.items()
    root_name = check_root(root, expected, data)
    value = values[0] if isinstance(values, list) and values else values
    return root_name, as_node(value)


def as_node(value: Any) -> Node:
    """*value* as an element with children, or an empty one if it holds only text."""
    return value if isinstance(value, dict) else {}


def elements(node: Node, name: str) -> list[Any]:
    """Every *name* child of *node*, in document order."""
    values = node.get(name)
    if values is None:
        return []
    return values if isinstance(values, list) else [values]


def nested(node: Node, wrapper: str, name: str) -> list[Any]:
    """Every *name* element inside every *wrapper* child of *node* (``<List><Item/>...``)."""
    return [value for w in elements(node, wrapper) for value in elements(as_node(w), name)]


def nested_texts(node: Node, wrapper: str, name: str) -> tuple[str, ...]:
    """The non-empty texts of :func:`nested` elements."""
    texts = (text_of(value) for value in nested(node, wrapper, name))
    return tuple(t for t in texts if t is not None)


def child_at(node: Node, *path: str) -> Node:
    """The first element at *path* below *node*, or an empty node."""
    for name in path:
        values = elements(node, name)
        node = as_node(values[0]) if values else {}
    return node


def has_element(node: Node, name: str) -> bool:
    """Whether *node* has a *name* child, even an empty one."""
    return name in node


def text_of(value: Any) -> str | None:
    """The stripped text of a parsed element, ``None`` when it has none."""
    if isinstance(value, dict):
        value = value.get("#text")
        if isinstance(value, list):
            value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def text_in(node: Node, *names: str) -> str | None:
    """The text of the first of *names* present in *node* (an alias list for disputed names)."""
    for name in names:
        values = elements(node, name)
        if values:
            return text_of(values[0])
    return None


def texts_in(node: Node, name: str) -> tuple[str, ...]:
    """The non-empty texts of every *name* child of *node*."""
    return tuple(t for t in (text_of(v) for v in elements(node, name)) if t is not None)


def int_in(node: Node, *names: str) -> int | None:
    """:func:`text_in` as an integer; ``None`` when absent or not a number."""
    text = text_in(node, *names)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def bool_in(node: Node, name: str) -> bool | None:
    """:func:`text_in` as a boolean: ``true`` in any case is true, any other text false."""
    text = text_in(node, name)
    if text is None:
        return None
    return text.lower() == "true"


def datetime_in(node: Node, name: str) -> dt.datetime | None:
    """:func:`text_in` as a timezone-aware UTC datetime (see :func:`parse_datetime`)."""
    return parse_datetime(text_in(node, name))


def parse_datetime(text: str | None) -> dt.datetime | None:
    """An ISO 8601 *text* as UTC; a naive one is taken as UTC, an unreadable one is ``None``."""
    if text is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # dates are informational; a new format must not break decoding
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def order_status(text: str | None) -> OrderStatus | None:
    """*text* as an :class:`~bwnumbers.OrderStatus`, which keeps values it does not know."""
    return OrderStatus(text) if text else None
