"""The emulator's own XML reading and writing (ElementTree, independent of the SDK's codec)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime

Node = ET.Element

DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


class BadXML(Exception):
    """A request body that is not a usable XML document."""


def element(tag: str, *children: Node | None, text: object = None) -> Node:
    """An element with *children* (``None`` ones are skipped) or *text*."""
    node = ET.Element(tag)
    if text is not None:
        node.text = str(text)
    node.extend(c for c in children if c is not None)
    return node


def optional(tag: str, text: object) -> Node | None:
    """An element with *text*, or nothing when *text* is ``None``."""
    return None if text is None else element(tag, text=text)


def boolean(tag: str, value: bool) -> Node:
    return element(tag, text="true" if value else "false")


def listing(tag: str, item: str, values: Iterable[object]) -> Node:
    return element(tag, *(element(item, text=v) for v in values))


def document(root: Node) -> bytes:
    return DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8")


def parse(body: bytes, root: str) -> Node:
    """Parse a request body whose root must be *root*; DTDs are refused."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise BadXML("DOCTYPE and entity declarations are not accepted")
    try:
        node = ET.fromstring(body)  # noqa: S314 - DTDs refused above; expat bounds the rest
    except ET.ParseError as exc:
        raise BadXML(f"malformed XML: {exc}") from None
    if node.tag != root:
        raise BadXML(f"expected <{root}> but got <{node.tag}>")
    return node


def text(node: Node, path: str) -> str | None:
    """Stripped text at *path*, ``None`` when missing or empty."""
    found = node.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def error_response(description: str, code: int | None = None) -> bytes:
    """The generic ``<ErrorResponse><ResponseStatus>`` shape."""
    return document(
        element(
            "ErrorResponse",
            element(
                "ResponseStatus",
                optional("ErrorCode", code),
                element("Description", text=description),
            ),
        )
    )


def response_status(root: str, code: int, description: str) -> bytes:
    """``<XxxResponse><ResponseStatus><ErrorCode/><Description/>`` (subscriptions, notes...)."""
    return document(
        element(
            root,
            element(
                "ResponseStatus",
                element("ErrorCode", text=code),
                element("Description", text=description),
            ),
        )
    )


def search_error(code: int, description: str) -> bytes:
    """``<SearchResult><Error><Code/><Description/>``."""
    return document(
        element(
            "SearchResult",
            element("Error", element("Code", text=code), element("Description", text=description)),
        )
    )


def error_list(errors: Iterable[tuple[int, str, str | None]]) -> Node:
    """``<ErrorList>`` of (code, description, number) entries."""
    return element(
        "ErrorList",
        *(
            element(
                "Error",
                element("Code", text=code),
                element("Description", text=description),
                optional("TelephoneNumber", number),
            )
            for code, description, number in errors
        ),
    )


def timestamp(moment: datetime | None) -> str | None:
    """*moment* as Bandwidth writes times (``2026-11-27T17:18:27.123Z``), or ``None``."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
