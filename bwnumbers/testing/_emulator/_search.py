"""``GET /availableNumbers``: searching the inventory, as
https://dev.bandwidth.com/docs/numbers/guides/searchingForNumbers describes it."""

from __future__ import annotations

from aiohttp import web

from bwnumbers.testing import _wire as wire
from bwnumbers.testing._criteria import DryStock, SearchFault, from_query, match
from bwnumbers.testing._inventory import Inventory, NumberInfo

from ._http import Refusal, xml_response

__all__ = ["SearchRoutes"]


def _detail(info: NumberInfo) -> wire.Node:
    return wire.element(
        "TelephoneNumberDetail",
        wire.optional("City", info.city),
        wire.optional("LATA", info.lata),
        wire.optional("RateCenter", info.rate_center),
        wire.optional("State", info.state),
        wire.element("FullNumber", text=info.number),
        wire.element("Tier", text=info.tier),
        wire.element("VendorId", text=info.vendor_id),
        wire.element("VendorName", text=info.vendor_name),
    )


class SearchRoutes:
    """The search route; searches never take numbers out of the inventory."""

    def __init__(self, inventory: Inventory, dry_stock: DryStock) -> None:
        self._inventory = inventory
        self._dry_stock = dry_stock

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        router.add_get(f"{prefix}/availableNumbers", self._search)

    async def _search(self, request: web.Request) -> web.Response:
        try:
            criteria = from_query(request.query)
        except SearchFault as fault:
            raise Refusal(400, wire.search_error(fault.code, fault.description)) from None
        found = match(self._inventory, criteria)
        # Without a quantity the caller asked for "what you have", which is short only if none.
        wanted = criteria.quantity if "quantity" in request.query else 1
        self._dry_stock.check("A search", criteria, wanted=wanted, found=len(found))
        if not found:
            return xml_response(wire.document(wire.element("SearchResult")))
        if criteria.enable_tn_detail:
            listing = wire.element("TelephoneNumberDetailList", *(_detail(i) for i in found))
        else:
            listing = wire.listing(
                "TelephoneNumberList", "TelephoneNumber", (i.number for i in found)
            )
        root = wire.element("SearchResult", wire.element("ResultCount", text=len(found)), listing)
        return xml_response(wire.document(root))
