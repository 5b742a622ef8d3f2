"""The XML codec: every Bandwidth element name lives here, and only here.

Pure functions from request values to bytes and from response bytes to models, following
Bandwidth's Numbers API reference (https://dev.bandwidth.com/apis/numbers/). Decoding matches
elements by name, ignores unknown ones, never depends on element order, and reads one child
like many. Documents with a DOCTYPE, entity declarations, absurd nesting or too many elements
are refused before they can cost memory or time; anything that is not a well-formed document
of the expected root raises :class:`~bwnumbers.DecodeError` with a one-line reason.

Modules, each importing only those above it:

- ``_safe``: expat parsers that refuse DTDs and bound depth and element count;
- ``_tree``: the generic parse into nested dicts and the readers that walk it;
- ``_names``: the search-and-order element names that encoding and decoding share;
- ``_links``: the ``page`` and ``size`` of a listing's next ``<Links>``, never its host;
- ``_encode``: request bodies, and :func:`redact` for logging them;
- ``_decode``: API responses and error bodies;
- ``_notification``: :func:`parse_notification`, the receiver's hot path;
- ``_lifecycle``: reservations, in-service lists and ``/tns``;
- ``_disconnects``: the disconnect documents.

This package re-exports what the rest of bwnumbers uses; tests of the internals import the
modules themselves.
"""

from __future__ import annotations

from ._decode import (
    decode_error,
    decode_order_details,
    decode_order_history,
    decode_order_list,
    decode_order_page,
    decode_order_response,
    decode_search_result,
    decode_subscriptions,
)
from ._disconnects import (
    decode_disconnect_details,
    decode_disconnect_list,
    decode_disconnect_response,
    encode_disconnect,
    is_bare_links,
)
from ._encode import (
    encode_close_order,
    encode_order,
    encode_order_update,
    encode_subscription,
    redact,
)
from ._notification import parse_notification

__all__ = [
    "decode_disconnect_details",
    "decode_disconnect_list",
    "decode_disconnect_response",
    "decode_error",
    "decode_order_details",
    "decode_order_history",
    "decode_order_list",
    "decode_order_page",
    "decode_order_response",
    "decode_search_result",
    "decode_subscriptions",
    "encode_close_order",
    "encode_disconnect",
    "encode_order",
    "encode_order_update",
    "encode_subscription",
    "is_bare_links",
    "parse_notification",
    "redact",
]
