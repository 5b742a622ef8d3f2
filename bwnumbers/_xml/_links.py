"""Bandwidth's paging ``<Links>``: where the next page starts, and nothing else from them.

Each listing endpoint pages differently (an order id, a telephone number, ``"1"``, an offset or
a GUID as ``page``), and its links name whatever host and prefix served it
(``dashboard.bandwidth.com:443/v1.0``, ``api.test.inetwork.com``, ``localhost:8080/api``...):
see ``reference/lifecycle.md`` §5. So a link is never followed. Only its ``page`` (an opaque
string) and ``size`` are read, and the caller asks its own configured base URL for them, with
its own filters, never sending credentials to a host it did not choose.

A link element holds an XML-escaped HTTP ``Link`` fragment,
``Link=<https://host/v1.0/tns?page=2&size=500>;rel="next";``, or a bare URL; an empty or absent
``<next>`` means the last page.
"""

from __future__ import annotations

import re
import urllib.parse

import attrs

from ._tree import Node, child_at, text_in

__all__ = ["PageCursor", "link_cursor", "next_page"]

# The URL between < and > of a Link fragment; else the whole text is taken as the URL.
_BRACKETED = re.compile(r"<\s*([^<>]*?)\s*>")


@attrs.frozen
class PageCursor:
    """The ``page`` (opaque) and ``size`` query values of a paging link."""

    page: str
    size: str | None = None


def link_cursor(text: str | None) -> PageCursor | None:
    """The cursor in one link element's text, or ``None`` if it names no ``page``."""
    if text is None or not text.strip():
        return None
    match = _BRACKETED.search(text)
    url = match.group(1) if match else text.strip()
    query = urllib.parse.urlsplit(url).query
    values = urllib.parse.parse_qs(query, keep_blank_values=False)
    pages = values.get("page")
    if not pages or not pages[0].strip():
        return None
    sizes = values.get("size")
    return PageCursor(page=pages[0].strip(), size=sizes[0].strip() if sizes else None)


def next_page(root: Node) -> PageCursor | None:
    """The cursor of the ``<Links><next>`` of a listing's *root* element (the element that holds
    ``Links``), or ``None`` on the last page."""
    return link_cursor(text_in(child_at(root, "Links"), "next"))
