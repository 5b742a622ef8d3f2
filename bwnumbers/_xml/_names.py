"""Element names that encoding and decoding share: the search-and-order types and their fields.

An order by search is sent as one of Bandwidth's ``*SearchAndOrderType`` elements, and the
same element comes back in the order's echo, so both directions read these tables. Spellings
follow Bandwidth's API reference (https://dev.bandwidth.com/apis/numbers/, "Create an order").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bwnumbers._search import SearchKind

ORDER_TYPE_ELEMENTS: Final[Mapping[SearchKind, str]] = {
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

# Search field -> element inside a search-and-order type. Bandwidth's SDKs and the example in
# its OpenAPI description send <Lata> although the schema says LATA; decoding accepts both.
SEARCH_ELEMENTS: Final[Mapping[str, str]] = {
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

# Search fields sent and read as "true"/"false".
BOOLEAN_SEARCH_FIELDS: Final = frozenset({"ends_in", "enable_tn_detail", "lca"})
