"""Reading one of Bandwidth's paged listings to its end, the same way for every listing.

Each page is asked of the client's own base URL with the caller's filters; of a page's
``<Links><next>`` only ``page`` and ``size`` are read (:mod:`._xml._links` says why), and a
``next`` that names a page already read ends the listing with :class:`DecodeError` instead
of reading it forever.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from ._exceptions import DecodeError, ValidationError
from ._xml._links import PageCursor

__all__ = ["PageReader", "date_param", "every_row"]

Row = TypeVar("Row")

PageReader = Callable[[dict[str, str]], Awaitable[tuple[Sequence[Row], PageCursor | None]]]
"""Reads the page its query parameters name: the page's rows, and where the next one starts
(``None`` on the last page)."""


async def every_row(
    read_page: PageReader[Row],
    filters: Mapping[str, str],
    *,
    page_size: int,
    listing: str,
    first_page: str | None = "1",
) -> AsyncGenerator[Row, None]:
    """Every row of a listing, page after page, from *first_page* (``None``: the listing's
    first page is asked for without ``page``).

    Raises:
        DecodeError: a ``next`` link names a page already read (*listing* names the listing
            in the message, as in "Bandwidth's order list").
    """
    size = str(page_size)
    params = {**filters, "size": size}
    seen = set()
    if first_page is not None:
        params["page"] = first_page
        seen.add(first_page)
    while True:
        rows, cursor = await read_page(params)
        for row in rows:
            yield row
        if cursor is None:
            return
        if cursor.page in seen:
            raise DecodeError(
                f"{listing} pointed back to page {cursor.page!r}, already read; the listing "
                "stopped there instead of reading it forever."
            )
        seen.add(cursor.page)
        params = {**filters, "page": cursor.page, "size": cursor.size or size}


def date_param(name: str, value: dt.date | str | None) -> str | None:
    """A date filter as Bandwidth's listings take it: a ``datetime.date`` as ``YYYY-MM-DD``
    (a timezone-aware datetime as its UTC day), a string as it is.

    Raises:
        ValidationError: *value* is neither, or an empty string.
    """
    if value is None:
        return None
    if isinstance(value, dt.date):  # a datetime is a date too
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%d")
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name}= takes a datetime.date or a date string like '2024-01-31'.")
    return value.strip()
