"""``GET /orders``: the account's orders, filtered and paged as Bandwidth pages them.

From the SPEC's ``ListOrders`` (``Bandwidth/api-docs`` ``site/specs/numbers.yml``): ``page`` is
``"1"`` or the id of the order that starts the page, ``size`` the page size, at most 1,000 per
request; ``<TotalCount>`` counts every match and ``<Links>`` carries ``first`` (always) and
``next`` (when more follow) in the escaped ``Link=<url>;rel="next";`` form of the emulator's
other listings, every filter of the request kept. A malformed parameter is a 400, a page order
id the account does not have a 404 ("the order id cannot be found").

Assumed where the SPEC is silent: orders are listed oldest first (creation order); a ``size``
above 1,000 is refused (400) rather than capped, so a client learns the limit instead of
silently getting fewer rows; without ``page``/``size`` (the SPEC requires them, but older
clients and Bandwidth's own SDKs' ``list`` calls send neither) the first page of 1,000 rows is
answered, the most one request can ever return; the error codes are those of
``/disconnects`` (15501 date, 15502 size, 15503 page). ``startdate``/``enddate`` filter by the
order's creation day (UTC), written ``YYYY-MM-DD``; the SPEC's ``YY-MM-DD`` is also accepted and
read as 20YY. The SPEC's "last two years" default window is not applied: an emulator's orders
are never that old.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from aiohttp import web

from bwnumbers.testing import _wire as wire
from bwnumbers.testing._inventory import Inventory, NumberInfo

from . import _orders as orders
from ._book import OrderBook
from ._context import Context
from ._http import Refusal, listing_response, order_error, query_day

__all__ = ["MAX_PAGE_SIZE", "OrderListing"]

MAX_PAGE_SIZE = 1000
"""The SPEC: "A maximum of 1,000 orders can be retrieved per request"."""

_STATUSES = frozenset({"COMPLETE", "PARTIAL", "FAILED", "BACKORDERED"})


def _day(text: str, name: str) -> dt.date:
    try:
        return query_day(text)
    except ValueError:
        raise order_error(400, 15501, f"The {name} {text} is invalid; use YYYY-MM-DD") from None


def _size(request: web.Request) -> int:
    text = request.query.get("size", str(MAX_PAGE_SIZE))
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise order_error(
            400, 15502, f"The size {text} is invalid; give a whole number from 1 to 1000"
        )
    return int(text)


def _with_counts(group: str, item: str, label: str, values: Iterable[str | None]) -> wire.Node:
    counts = Counter(v for v in values if v is not None)
    return wire.element(
        group,
        *(
            wire.element(item, wire.element(label, text=value), wire.element("Count", text=n))
            for value, n in sorted(counts.items())
        ),
    )


def _number_details(numbers: list[NumberInfo]) -> wire.Node | None:
    """``TelephoneNumberDetails``: how many of the order's numbers are in each state, rate
    center, city, tier and vendor (the SPEC's example); nothing for an order without numbers."""
    if not numbers:
        return None
    vendors = Counter((n.vendor_id, n.vendor_name) for n in numbers)
    return wire.element(
        "TelephoneNumberDetails",
        _with_counts("States", "StateWithCount", "State", (n.state for n in numbers)),
        _with_counts(
            "RateCenters", "RateCenterWithCount", "RateCenter", (n.rate_center for n in numbers)
        ),
        _with_counts("Cities", "CityWithCount", "City", (n.city for n in numbers)),
        _with_counts("Tiers", "TierWithCount", "Tier", (n.tier for n in numbers)),
        wire.element(
            "Vendors",
            *(
                wire.element(
                    "VendorWithCount",
                    wire.element("VendorId", text=vendor_id),
                    wire.element("VendorName", text=vendor_name),
                    wire.element("Count", text=n),
                )
                for (vendor_id, vendor_name), n in sorted(vendors.items())
            ),
        ),
    )


class OrderListing:
    """``GET /orders`` of one account, over its :class:`OrderBook`; *inventory* knows where
    each ordered number is."""

    def __init__(self, context: Context, book: OrderBook, inventory: Inventory) -> None:
        self._context = context
        self._book = book
        self._inventory = inventory

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        router.add_get(f"{prefix}/orders", self._list)

    def _chosen(self, request: web.Request) -> list[orders.Order]:
        query = request.query
        customer_order_id = query.get("customerOrderId")
        status = query.get("status")
        if status is not None and status.upper() not in _STATUSES:
            raise order_error(400, 15518, "Status is invalid")
        start = _day(query["startdate"], "startdate") if "startdate" in query else None
        end = _day(query["enddate"], "enddate") if "enddate" in query else None
        user = query.get("userid")
        # The book keeps orders in the order they were placed: the listing's stable order.
        return [
            o
            for o in self._book.orders.values()
            if customer_order_id in (None, o.customer_order_id)
            and (status is None or o.status == status.upper())
            and (start is None or o.created.date() >= start)
            and (end is None or o.created.date() <= end)
            and user in (None, self._context.username)
        ]

    def _start(self, page: str, chosen: list[orders.Order]) -> int:
        """Where in *chosen* the page that *page* names begins."""
        if page == "1":
            return 0
        placed = {order_id: i for i, order_id in enumerate(self._book.orders)}
        if page not in placed:
            if not page.strip() or page.isdigit():
                raise order_error(
                    400, 15503, f'The page {page!r} is invalid; give "1" or the order id of a link'
                )
            raise Refusal(
                404,
                wire.error_response(
                    f"The order id {page} that starts the page cannot be found; "
                    'start again from page "1"'
                ),
            )
        # An order that no longer matches (its status changed since the last page) still
        # marks the place: the page starts at the first match placed from it on.
        return next((i for i, o in enumerate(chosen) if placed[o.id] >= placed[page]), len(chosen))

    async def _list(self, request: web.Request) -> web.Response:
        chosen = self._chosen(request)
        size = _size(request)
        start = self._start(request.query.get("page", "1"), chosen)
        rows = chosen[start : start + size]
        following = chosen[start + size].id if start + size < len(chosen) else None
        return listing_response(
            request,
            total=len(chosen),
            size=size,
            next_page=following,
            rows=(self._row(o) for o in rows),
        )

    def _row(self, o: orders.Order) -> wire.Node:
        known = (self._inventory.known(n) for n in o.completed)
        return wire.element(
            "OrderIdUserIdDate",
            # The numbers the order got; before it is processed, the ones it asks for. (The
            # SPEC's FAILED example counts 0.)
            wire.element(
                "CountOfTNs", text=o.quantity if o.status == "RECEIVED" else len(o.completed)
            ),
            # Not in the SPEC, but Bandwidth sends it and its SDKs (Python's test_orders.py)
            # read it; find_order relies on it.
            wire.optional("CustomerOrderId", o.customer_order_id),
            wire.element("lastModifiedDate", text=wire.timestamp(o.modified or o.created)),
            wire.element("OrderDate", text=wire.timestamp(o.created)),
            wire.element("OrderType", text="new_number"),
            wire.element("orderId", text=o.id),
            wire.element("OrderStatus", text=o.status),
            _number_details([info for info in known if info is not None]),
            wire.element("userId", text=self._context.username),
        )
