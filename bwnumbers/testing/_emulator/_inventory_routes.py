"""What the account owns: ``/inserviceNumbers``, ``/tns/{tn}`` and ``/orders/{id}/tns``.

Shapes and parameters from Bandwidth's API reference, https://dev.bandwidth.com/apis/numbers/ .
The in-service list takes the SPEC's lower-case filters and the older camelCase ones
(``areaCode``, ``npaNxx``, ``rateCenter``...), pages by page number (1 first) and answers 204
when nothing matches. Assumed: numbers listed in numeric order, 404 with an ``ErrorResponse``
for a bad parameter ("invalid parameters" are documented as 404, with no body), and the 15610
answer of ``/tns/{tn}`` (the error the SPEC's ``POST /tns`` gives) for a number that is neither
Bandwidth's stock nor this account's.
"""

from __future__ import annotations

import datetime as dt
import re

from aiohttp import web

from bwnumbers.testing import _wire as wire
from bwnumbers.testing._inventory import Inventory

from ._book import OrderBook, now
from ._context import Context
from ._http import Refusal, links, query_day, xml_response
from ._numbers import DISCONNECT_ORDER, NEW_NUMBER_ORDER, NumberStates

__all__ = ["InventoryRoutes"]

# Query parameter, in either spelling -> (NumberInfo attribute or number slice, format).
_FILTERS: dict[str, tuple[str, str]] = {
    "areacode": ("area_code", r"\d{3}"),
    "npanxx": ("npa_nxx", r"\d{6}"),
    "npanxxx": ("npa_nxxx", r"\d{7}"),
    "lata": ("lata", r"\d{1,5}"),
    "state": ("state", r"[A-Za-z]{2}"),
    "ratecenter": ("rate_center", r".{1,50}"),
    "city": ("city", r".{1,50}"),
    "tier": ("tier", r"\d{1,2}"),
}
_PREFIXES = {"area_code": 3, "npa_nxx": 6, "npa_nxxx": 7}
_TN = re.compile(r"\d{10}")


def _bad(message: str) -> Refusal:
    return Refusal(404, wire.error_response(message))


def _day(text: str, name: str) -> dt.date:
    try:
        return query_day(text)
    except ValueError:
        raise _bad(f"The {name} {text} is invalid; use yy-mm-dd") from None


def _whole(text: str, name: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise _bad(f"The {name} {text} is invalid; give a whole number from 1")
    return int(text)


def _tns_date(moment: dt.datetime) -> str:
    """``LastModifiedDate`` as ``/tns/{tn}`` writes it: ``2014-03-25 12:55:11.0`` (not ISO)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + str(moment.microsecond // 100_000)


class InventoryRoutes:
    """The routes that read the account's numbers."""

    def __init__(
        self, context: Context, numbers: NumberStates, inventory: Inventory, book: OrderBook
    ) -> None:
        self._context = context
        self._numbers = numbers
        self._inventory = inventory
        self._book = book

    def add_routes(self, router: web.UrlDispatcher, prefix: str, *, api_root: str) -> None:
        router.add_get(f"{prefix}/inserviceNumbers", self._list)
        router.add_get(f"{prefix}/inserviceNumbers/totals", self._totals)
        router.add_get(f"{prefix}/inserviceNumbers/{{tn}}", self._one)
        router.add_get(f"{prefix}/orders/{{id}}/tns", self._order_numbers)
        router.add_get(f"{api_root}/tns/{{tn}}", self._details)

    # ------------------------------------------------------------------ in service

    def _matching(self, request: web.Request) -> list[str]:
        wanted: dict[str, str] = {}
        start = end = None
        for key, value in request.query.items():
            lowered = key.lower()
            if lowered in _FILTERS:
                attribute, pattern = _FILTERS[lowered]
                if not re.fullmatch(pattern, value):
                    raise _bad(f"The {key} {value} is invalid")
                wanted[attribute] = value.upper()
            elif lowered == "startdate":
                start = _day(value, key)
            elif lowered == "enddate":
                end = _day(value, key)
        if "rate_center" in wanted and "state" not in wanted:
            raise _bad("A ratecenter search needs its state")
        self._numbers.sweep(now())
        found = []
        for number, owned in sorted(self._numbers.in_service.items()):
            info = self._inventory.known(number)
            day = owned.modified.date()
            if (start is not None and day < start) or (end is not None and day > end):
                continue
            if all(
                number[: _PREFIXES[a]] == v
                if a in _PREFIXES
                else (str(getattr(info, a, "") or "")).upper() == v
                for a, v in wanted.items()
            ):
                found.append(number)
        return found

    async def _list(self, request: web.Request) -> web.Response:
        found = self._matching(request)
        page = _whole(request.query.get("page", "1"), "page")
        size = _whole(request.query.get("size", "300"), "size")
        rows = found[(page - 1) * size : page * size]
        if not rows:
            return web.Response(status=204)
        following = str(page + 1) if page * size < len(found) else None
        root = wire.element(
            "TNs",
            wire.element("TotalCount", text=len(found)),
            links(request, size=size, first="1", next_page=following),
            wire.element(
                "TelephoneNumbers",
                wire.element("Count", text=len(rows)),
                *(wire.element("TelephoneNumber", text=n) for n in rows),
            ),
        )
        return xml_response(wire.document(root))

    async def _totals(self, request: web.Request) -> web.Response:
        self._numbers.sweep(now())
        count = wire.element("Count", text=len(self._numbers.in_service))
        return xml_response(wire.document(wire.element("Quantity", count)))

    async def _one(self, request: web.Request) -> web.Response:
        self._numbers.sweep(now())
        if request.match_info["tn"] not in self._numbers.in_service:
            return web.Response(status=404)
        return web.Response(status=200)  # in service here: 200 with no body

    async def _order_numbers(self, request: web.Request) -> web.Response:
        order = self._book.orders.get(request.match_info["id"])
        if order is None:
            raise Refusal(404, wire.error_response("The resource does not exist"))
        root = wire.element(
            "TelephoneNumbers",
            wire.element("Count", text=len(order.completed)),
            *(wire.element("TelephoneNumber", text=n) for n in order.completed),
        )
        return xml_response(wire.document(root))

    # ------------------------------------------------------------------ /tns/{tn}

    async def _details(self, request: web.Request) -> web.Response:
        number = request.match_info["tn"]
        if not _TN.fullmatch(number):
            body = wire.response_status(
                "TelephoneNumberResponse", 12512, f"Telephone number '{number}' is not valid"
            )
            raise Refusal(400, body)
        status = self._numbers.status(number, now=now())
        account = self._context.account_id
        fields: list[wire.Node | None] = []
        owned = self._numbers.in_service.get(number)
        aging = self._numbers.aging.get(number)
        reservation = self._numbers.reserved(number)
        if owned is not None:
            fields = [
                wire.element("LastModifiedDate", text=_tns_date(owned.modified)),
                wire.element("OrderCreateDate", text=wire.timestamp(owned.ordered_at)),
                wire.element("OrderId", text=owned.order_id),
                wire.element("OrderType", text=NEW_NUMBER_ORDER),
                wire.element("InServiceDate", text=wire.timestamp(owned.since)),
                wire.element("SiteId", text=owned.site_id),
                wire.element("AccountId", text=account),
            ]
        elif aging is not None:
            fields = [
                wire.element("LastModifiedDate", text=_tns_date(aging.since)),
                wire.element("OrderId", text=aging.disconnect_id),
                wire.element("OrderType", text=DISCONNECT_ORDER),
                wire.element("SiteId", text=aging.site_id),
                wire.element("AccountId", text=account),
            ]
        elif reservation is not None and reservation.account_id == account:
            fields = [wire.element("AccountId", text=account)]
        elif status is None:
            error = wire.element(
                "Error",
                wire.element("Code", text=15610),
                wire.element("Description", text="Telephone Numbers cannot be found on accounts"),
                wire.listing("TelephoneNumbers", "TelephoneNumber", [number]),
            )
            root = wire.element("TelephoneNumberResponse", wire.element("ErrorList", error))
            raise Refusal(404, wire.document(root))
        root = wire.element(
            "TelephoneNumberResponse",
            wire.element("TelephoneNumber", text=number),
            wire.element("Status", text=status),
            *fields,
        )
        return xml_response(wire.document(root))
