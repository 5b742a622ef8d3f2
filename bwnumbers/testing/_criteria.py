"""Search criteria as the emulator reads them: from query strings and order types, checked
against Bandwidth's search table, and matched against the inventory.

Written independently of the SDK's own ``Search`` so that the two cannot share a mistake.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

import attrs

from ._inventory import TOLL_FREE_NPAS, Inventory, NumberInfo, vanity_pattern

log = logging.getLogger("bwnumbers.emulator")


class SearchFault(Exception):
    """A search Bandwidth would refuse: its error code and description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


# Query parameter -> (criterion, format, error code for a bad value).
_QUERY: Mapping[str, tuple[str, str, int]] = {
    "areaCode": ("area_code", r"[2-9]\d{2}", 4000),
    "npaNxx": ("npa_nxx", r"[2-9]\d{2}[2-9]\d{2}", 4002),
    "npaNxxx": ("npa_nxxx", r"[2-9]\d{2}[2-9]\d{3}", 4002),
    "rateCenter": ("rate_center", r"[A-Za-z0-9 .'\-]{1,50}", 4001),
    "city": ("city", r"[A-Za-z0-9 .'\-]{1,50}", 4005),
    "state": ("state", r"[A-Za-z]{2}", 4006),
    "zip": ("zip", r"\d{5}(-?\d{4})?", 4007),
    "lata": ("lata", r"\d{1,5}", 4008),
    "localVanity": ("local_vanity", r"[A-Za-z0-9*_]{3,7}", 4010),
    "tollFreeVanity": ("toll_free_vanity", r"[A-Za-z0-9]{4,10}", 4003),
    "tollFreeWildCardPattern": ("toll_free_wildcard", r"8[0-9*]\*", 4004),
}
_BOOLEANS = {"enableTNDetail": "enable_tn_detail", "LCA": "lca", "endsIn": "ends_in"}
_ORDER_BY = {"fullNumber", "npaNxx", "npaNxxx", "areaCode"}
_PROTECTED = {"NONE", "ONLY", "MIXED"}

# Order-type child element -> criterion. <Lata> and <LATA> are both seen.
_ORDER_ELEMENTS: Mapping[str, str] = {
    "AreaCode": "area_code", "NpaNxx": "npa_nxx", "NpaNxxX": "npa_nxxx",
    "RateCenter": "rate_center", "City": "city", "State": "state", "Zip": "zip",
    "Lata": "lata", "LATA": "lata", "LocalVanity": "local_vanity",
    "TollFreeVanity": "toll_free_vanity", "TollFreeWildCardPattern": "toll_free_wildcard",
}  # fmt: skip
ORDER_TYPES = frozenset({
    "AreaCodeSearchAndOrderType", "NPANXXSearchAndOrderType", "RateCenterSearchAndOrderType",
    "CitySearchAndOrderType", "StateSearchAndOrderType", "ZIPSearchAndOrderType",
    "LATASearchAndOrderType", "TollFreeVanitySearchAndOrderType",
    "TollFreeWildCharSearchAndOrderType", "CombinedSearchAndOrderType",
})  # fmt: skip
# Backorders are refused for these (5522).
NO_BACKORDER_TYPES = frozenset({
    "NPANXXSearchAndOrderType", "TollFreeVanitySearchAndOrderType",
})  # fmt: skip


@attrs.define(kw_only=True)
class Criteria:
    """What to look for."""

    area_code: str | None = None
    npa_nxx: str | None = None
    npa_nxxx: str | None = None
    rate_center: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    lata: str | None = None
    local_vanity: str | None = None
    ends_in: bool = False
    toll_free_vanity: str | None = None
    toll_free_wildcard: str | None = None
    lca: bool | None = None
    enable_tn_detail: bool = False
    order_by: str | None = None
    quantity: int = 5000

    def __str__(self) -> str:
        return " ".join(f"{name}={getattr(self, name)}" for name in sorted(self.present))

    @property
    def present(self) -> set[str]:
        names = ("area_code", "npa_nxx", "npa_nxxx", "rate_center", "city", "state", "zip",
                 "lata", "local_vanity", "toll_free_vanity", "toll_free_wildcard")  # fmt: skip
        return {n for n in names if getattr(self, n) is not None}


def _boolean(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise SearchFault(4010, f"{name} must be true or false")
    return lowered == "true"


def _quantity(text: str, code: int) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 5000:
        raise SearchFault(code, f"The quantity specified {text} is invalid")
    return int(text)


def from_query(params: Mapping[str, str]) -> Criteria:
    """Criteria of ``GET /availableNumbers``; raises SearchFault like Bandwidth would."""
    criteria = Criteria()
    for key, value in params.items():
        if key in _QUERY:
            name, pattern, code = _QUERY[key]
            if not re.fullmatch(pattern, value):
                raise SearchFault(code, f"{key} {value!r} is not valid")
            setattr(criteria, name, value.upper() if name in ("state",) else value)
        elif key in _BOOLEANS:
            setattr(criteria, _BOOLEANS[key], _boolean(key, value))
        elif key == "quantity":
            criteria.quantity = _quantity(value, 4010)
        elif key == "orderBy":
            if value not in _ORDER_BY:
                raise SearchFault(4020, "orderBy is invalid")
            criteria.order_by = value
        elif key == "protected":
            if value not in _PROTECTED:
                raise SearchFault(4022, "protected is invalid")
        else:
            raise SearchFault(4010, f"Provided search criteria are unsupported: {key}")
    check(criteria)
    return criteria


def from_order_type(element: str, fields: Mapping[str, str]) -> Criteria:
    """Criteria of a search-and-order type; raises SearchFault with 5xxx codes."""
    criteria = Criteria()
    for child, text in fields.items():
        if child in _ORDER_ELEMENTS:
            setattr(criteria, _ORDER_ELEMENTS[child], text)
        elif child == "Quantity":
            criteria.quantity = _quantity(text, 5009)
        elif child == "EnableLCA":
            criteria.lca = _boolean(child, text)
        elif child == "EndsIn":
            criteria.ends_in = _boolean(child, text)
        elif child == "EnableTNDetail":
            criteria.enable_tn_detail = _boolean(child, text)
    if "Quantity" not in fields:
        raise SearchFault(5009, "The quantity specified is invalid")
    try:
        check(criteria)
    except SearchFault as fault:
        raise SearchFault(5002, f"Validation error: {fault.description}") from None
    return criteria


def check(criteria: Criteria) -> None:
    """Bandwidth's rules for combining search criteria (GET /availableNumbers, in
    https://dev.bandwidth.com/apis/numbers/)."""
    present = criteria.present
    if not present:
        raise SearchFault(4010, "One of more required search parameters are null or empty")
    # The specification's CombinedSearchAndOrderType example sends all three, though its own
    # description calls them mutually exclusive: refused, as that description says.
    if len(present & {"area_code", "npa_nxx", "npa_nxxx"}) > 1:
        raise SearchFault(4010, "AreaCode, NpaNxx and NpaNxxX are mutually exclusive")
    for needs_state in ("rate_center", "city"):
        if needs_state in present and "state" not in present:
            raise SearchFault(4010, f"{needs_state} requires state")
    toll_free = present & {"toll_free_vanity", "toll_free_wildcard"}
    if toll_free and len(present) > 1:
        raise SearchFault(4010, "Toll free searches cannot be combined with other criteria")
    if "local_vanity" in present and present - {"local_vanity", "state", "area_code"}:
        raise SearchFault(4010, "localVanity can only be combined with state and areaCode")
    if criteria.lca is not None and not present & {"npa_nxx", "npa_nxxx", "rate_center", "state"}:
        raise SearchFault(4010, "LCA is only supported for NpaNxx, NpaNxxX, RateCenter and State")
    capable = {"npa_nxx", "npa_nxxx", "rate_center", "city", "zip", *toll_free}
    if criteria.order_by is not None and not present & capable:
        raise SearchFault(4021, "orderBy is not supported for this search")


def _direct(info: NumberInfo, c: Criteria) -> bool:
    number = info.number
    if c.toll_free_wildcard is not None:
        second = c.toll_free_wildcard[1]
        npa = number[:3]
        return npa in TOLL_FREE_NPAS and (second == "*" or npa == f"8{second}{second}")
    if c.toll_free_vanity is not None:
        pattern = vanity_pattern(c.toll_free_vanity, ends_in=True)
        return info.toll_free and bool(pattern.search(number[3:]))
    if info.toll_free:
        return False
    checks = (
        (c.area_code, number[:3]),
        (c.npa_nxx, number[:6]),
        (c.npa_nxxx, number[:7]),
        (c.rate_center and c.rate_center.upper(), info.rate_center),
        (c.city and c.city.upper(), info.city),
        (c.state, info.state),
        (c.zip and c.zip[:5], info.zip),
        (c.lata, info.lata),
    )
    if any(wanted is not None and wanted != actual for wanted, actual in checks):
        return False
    if c.local_vanity is not None:
        return bool(vanity_pattern(c.local_vanity, ends_in=c.ends_in).search(number[3:]))
    return True


def match(inventory: Iterable[NumberInfo], criteria: Criteria) -> list[NumberInfo]:
    """Numbers matching *criteria*, direct matches first, then the local calling area.

    LCA (on by default for NPA-NXX, NPA-NXX-X and rate center searches) widens a search to the
    rate centers of the direct matches, as Bandwidth's does.
    """
    stock = list(inventory)
    direct = [info for info in stock if _direct(info, criteria)]
    lca_default = bool(criteria.present & {"npa_nxx", "npa_nxxx", "rate_center"})
    widened: list[NumberInfo] = []
    if criteria.lca if criteria.lca is not None else lca_default:
        centers = {info.rate_center for info in direct if info.rate_center}
        seen = {info.number for info in direct}
        widened = [i for i in stock if i.rate_center in centers and i.number not in seen]
    found = direct + widened
    if criteria.order_by == "fullNumber":
        found.sort(key=lambda info: info.number)
    return found[: criteria.quantity]


def available(inventory: Iterable[NumberInfo], criteria: Criteria) -> list[NumberInfo]:
    """Direct matches only, as an order by criteria allocates them."""
    return [info for info in inventory if _direct(info, criteria)]


class DryStock:
    """Warns when a search or an order finds fewer numbers because earlier ones took them.

    Bandwidth answers with what it has, and so does the emulator; but a test that orders in a
    loop sees its searches quietly shrink to 1, then 0 numbers. One WARNING per criteria (until
    the stock is refilled) says so and what to do, without flooding a loop's log.
    """

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self._told: set[str] = set()

    def check(self, what: str, criteria: Criteria, *, wanted: int, found: int) -> None:
        """Warn if *what* found fewer than *wanted* numbers and matching ones were taken."""
        key = str(criteria)
        if found >= wanted or key in self._told:
            return
        taken = len(available(self._inventory.taken(), criteria))
        if not taken:
            return
        self._told.add(key)
        log.warning(
            "%s for %s found %d of %d numbers: the emulator's inventory ran dry there (%d "
            "matching numbers were ordered or taken); give BandwidthEmulator a larger "
            "inventory_size or call add_numbers().",
            what, key, found, wanted, taken,
        )  # fmt: skip

    def refilled(self) -> None:
        """Numbers came back: warn again the next time the stock runs dry."""
        self._told.clear()
