"""Search criteria: one vocabulary for ``GET /availableNumbers`` and search-and-order orders.

:class:`Search` checks the combination rules of Bandwidth's table of search types (required and
combinable parameters, https://dev.bandwidth.com/docs/numbers/guides/searchingForNumbers) when
it is built, so that a bad combination fails in the caller's code with a sentence, not later as
a 4010 from Bandwidth.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping
from typing import Final, TypedDict

import attrs

from ._exceptions import ValidationError

__all__ = ["MAX_QUANTITY", "QUERY_PARAMETERS", "Search", "SearchCriteria", "SearchKind"]

MAX_QUANTITY: Final = 5000


class SearchCriteria(TypedDict, total=False):
    """The keyword criteria of a search: the fields of :class:`Search`, as a ``TypedDict``.

    ``search_available_numbers(**criteria: Unpack[SearchCriteria])`` takes them, so a type
    checker flags a misspelt criterion (``areacode=``) or a value of the wrong type. A test
    keeps these keys and the fields of :class:`Search` the same. Digits may be given as ``int``
    (``area_code=540``), except *zip*, whose leading zero an ``int`` would drop.

    .. versionadded:: 0.2
    """

    area_code: str | int | None
    npa_nxx: str | int | None
    npa_nxxx: str | int | None
    rate_center: str | None
    city: str | None
    state: str | None
    zip: str | None
    lata: str | int | None
    local_vanity: str | None
    ends_in: bool | None
    toll_free_vanity: str | None
    toll_free_wildcard_pattern: str | None
    quantity: int | None
    enable_tn_detail: bool | None
    lca: bool | None
    order_by: str | None
    protected: str | None


# snake_case keyword -> REST query parameter of GET /availableNumbers.
QUERY_PARAMETERS: Final[Mapping[str, str]] = {
    "area_code": "areaCode",
    "npa_nxx": "npaNxx",
    "npa_nxxx": "npaNxxx",
    "rate_center": "rateCenter",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "lata": "lata",
    "local_vanity": "localVanity",
    "ends_in": "endsIn",
    "toll_free_vanity": "tollFreeVanity",
    "toll_free_wildcard_pattern": "tollFreeWildCardPattern",
    "quantity": "quantity",
    "enable_tn_detail": "enableTNDetail",
    "lca": "LCA",
    "order_by": "orderBy",
    "protected": "protected",
}

_FORMATS: Final[Mapping[str, tuple[re.Pattern[str], str]]] = {
    "area_code": (re.compile(r"[2-9]\d{2}"), "3 digits, the first 2-9"),
    "npa_nxx": (re.compile(r"[2-9]\d{2}[2-9]\d{2}"), "6 digits (NPA and NXX, each starting 2-9)"),
    "npa_nxxx": (re.compile(r"[2-9]\d{2}[2-9]\d{3}"), "7 digits (NPA, NXX and one more digit)"),
    "rate_center": (re.compile(r"[A-Za-z0-9 .'\-]{1,50}"), "a rate center abbreviation"),
    "city": (re.compile(r"[A-Za-z0-9 .'\-]{1,50}"), "a city name"),
    "state": (re.compile(r"[A-Za-z]{2}"), "a two-letter state code such as 'NC'"),
    "zip": (re.compile(r"\d{5}(-?\d{4})?"), "5 or 9 digits such as '27606' or '27606-0007'"),
    "lata": (re.compile(r"\d{1,5}"), "up to 5 digits"),
    "local_vanity": (re.compile(r"[A-Za-z0-9*_]{3,7}"), "3 to 7 letters, digits, '*' or '_'"),
    "toll_free_vanity": (re.compile(r"[A-Za-z0-9]{4,10}"), "4 to 10 letters or digits"),
    "toll_free_wildcard_pattern": (
        re.compile(r"8[0-9*]\*"),
        "3 characters such as '8**', '80*' or '83*' (for 833 numbers)",
    ),
}

_ORDER_BY: Final = frozenset({"fullNumber", "npaNxx", "npaNxxx", "areaCode"})
_PROTECTED: Final = frozenset({"NONE", "ONLY", "MIXED"})

# The location criteria; at least one criterion of a search must be among these or toll-free.
_LOCAL: Final = (
    "area_code", "npa_nxx", "npa_nxxx", "rate_center", "city", "state", "zip", "lata",
    "local_vanity",
)  # fmt: skip
_TOLL_FREE: Final = ("toll_free_vanity", "toll_free_wildcard_pattern")
_NPA_FAMILY: Final = ("area_code", "npa_nxx", "npa_nxxx")
_LCA_CAPABLE: Final = ("npa_nxx", "npa_nxxx", "rate_center", "state")
_ORDER_BY_CAPABLE: Final = ("npa_nxx", "npa_nxxx", "rate_center", "city", "zip", *_TOLL_FREE)


class SearchKind(enum.Enum):
    """Which search-and-order type a :class:`Search` becomes in ``POST /orders``.

    :attr:`Search.kind` returns one. See the order types of Bandwidth's Numbers API:
    https://dev.bandwidth.com/apis/numbers/

    .. versionadded:: 0.2 exported as ``bwnumbers.SearchKind``.
    """

    AREA_CODE = "area_code"
    NPA_NXX = "npa_nxx"
    RATE_CENTER = "rate_center"
    CITY = "city"
    STATE = "state"
    ZIP = "zip"
    LATA = "lata"
    TOLL_FREE_VANITY = "toll_free_vanity"
    TOLL_FREE_WILDCARD = "toll_free_wildcard"
    COMBINED = "combined"


# A search made of exactly these criteria has a dedicated order type; anything else is Combined.
_SINGLE_KINDS: Final[Mapping[frozenset[str], SearchKind]] = {
    frozenset({"area_code"}): SearchKind.AREA_CODE,
    frozenset({"npa_nxx"}): SearchKind.NPA_NXX,
    frozenset({"rate_center", "state"}): SearchKind.RATE_CENTER,
    frozenset({"city", "state"}): SearchKind.CITY,
    frozenset({"state"}): SearchKind.STATE,
    frozenset({"zip"}): SearchKind.ZIP,
    frozenset({"lata"}): SearchKind.LATA,
    frozenset({"toll_free_vanity"}): SearchKind.TOLL_FREE_VANITY,
    frozenset({"toll_free_wildcard_pattern"}): SearchKind.TOLL_FREE_WILDCARD,
}


def _to_text(value: object) -> str | None:
    # Digits are often held as ints (area_code=540); accept them, but not bools or floats.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"Search criteria are strings, not {type(value).__name__}.")
    return str(value).strip()


# Two names for one check, so that type checkers see the types SearchCriteria declares:
# digits may be ints, text may not (an int zip code would have lost its leading zero).
def _digits(value: str | int | None) -> str | None:
    return _to_text(value)


def _text(value: str | None) -> str | None:
    return _to_text(value)


@attrs.frozen(kw_only=True)
class Search:
    """Criteria for finding numbers, usable both to search and to order.

    Keywords are Bandwidth's REST query parameters in snake_case. ``Search(area_code="540",
    quantity=2)`` searches with ``GET /availableNumbers?areaCode=540&quantity=2`` and, given to
    ``create_order(search=...)``, orders two numbers with an ``AreaCodeSearchAndOrderType``.

    Args:
        quantity: how many numbers, 1 to 5,000. Searches default to Bandwidth's own default;
            orders default to 1.
        lca: search the local calling area too (Bandwidth's default is true); only with
            *npa_nxx*, *npa_nxxx*, *rate_center* or *state*.
        ends_in: with *local_vanity* only: the vanity must end the number.
        enable_tn_detail: searches only: return city, rate center, LATA... per number.
        order_by, protected: searches only, passed through as Bandwidth spells them.

    Raises:
        ValidationError: a value has the wrong format, or the combination is one Bandwidth
            does not support (``rate_center`` without ``state``, ``area_code`` with
            ``npa_nxx``, toll-free with a location, ...).

    .. versionadded:: 0.1
    """

    area_code: str | None = attrs.field(default=None, converter=_digits)
    npa_nxx: str | None = attrs.field(default=None, converter=_digits)
    npa_nxxx: str | None = attrs.field(default=None, converter=_digits)
    rate_center: str | None = attrs.field(default=None, converter=_text)
    city: str | None = attrs.field(default=None, converter=_text)
    state: str | None = attrs.field(default=None, converter=_text)
    zip: str | None = attrs.field(default=None, converter=_text)
    lata: str | None = attrs.field(default=None, converter=_digits)
    local_vanity: str | None = attrs.field(default=None, converter=_text)
    ends_in: bool | None = None
    toll_free_vanity: str | None = attrs.field(default=None, converter=_text)
    toll_free_wildcard_pattern: str | None = attrs.field(default=None, converter=_text)
    quantity: int | None = None
    enable_tn_detail: bool | None = None
    lca: bool | None = None
    order_by: str | None = None
    protected: str | None = None

    def __attrs_post_init__(self) -> None:
        self._check_formats()
        self._check_combination()

    @classmethod
    def from_criteria(cls, criteria: Mapping[str, object]) -> Search:
        """Build a Search from keyword criteria, naming any unknown keyword in the error.

        Type checkers catch a misspelt keyword (see :class:`SearchCriteria`); this catches it
        for untyped callers, and suggests the criterion that was probably meant.
        """
        known = list(SearchCriteria.__annotations__)
        unknown = sorted(set(criteria) - set(known))
        if unknown:
            close = difflib.get_close_matches(unknown[0], known, n=1)
            meant = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(
                f"Unknown search criterion {unknown[0]!r}{meant}; the known criteria are "
                f"{', '.join(known)}."
            )
        return cls(**criteria)  # type: ignore[arg-type]

    @property
    def present(self) -> frozenset[str]:
        """The location and toll-free criteria this search uses."""
        return frozenset(n for n in (*_LOCAL, *_TOLL_FREE) if getattr(self, n) is not None)

    @property
    def kind(self) -> SearchKind:
        """The search-and-order type this search becomes in ``POST /orders``."""
        kind = _SINGLE_KINDS.get(self.present, SearchKind.COMBINED)
        # Only the NPA-NXX type and the combined type carry EnableLCA.
        if self.lca is not None and kind is not SearchKind.NPA_NXX:
            return SearchKind.COMBINED
        return kind

    def to_query(self) -> dict[str, str]:
        """The query parameters of ``GET /availableNumbers`` for this search."""
        query: dict[str, str] = {}
        for name, param in QUERY_PARAMETERS.items():
            value = getattr(self, name)
            if value is None:
                continue
            query[param] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return query

    def check_orderable(self) -> None:
        """Raise ValidationError if this search cannot become a search-and-order type."""
        for name in ("order_by", "protected"):
            if getattr(self, name) is not None:
                raise ValidationError(
                    f"{name}= applies to searches only; remove it from the Search used to order."
                )
        if self.enable_tn_detail is not None and self.kind is not SearchKind.NPA_NXX:
            raise ValidationError(
                "enable_tn_detail= can only be ordered with an npa_nxx-only search; remove it."
            )

    def _check_formats(self) -> None:
        for name, (pattern, expected) in _FORMATS.items():
            value = getattr(self, name)
            if value is not None and not pattern.fullmatch(value):
                raise ValidationError(f"{name}={value!r} is invalid: expected {expected}.")
        for name in ("ends_in", "enable_tn_detail", "lca"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ValidationError(f"{name}= must be True or False, not {value!r}.")
        if self.quantity is not None and (
            isinstance(self.quantity, bool)
            or not isinstance(self.quantity, int)
            or not 1 <= self.quantity <= MAX_QUANTITY
        ):
            raise ValidationError(
                f"quantity={self.quantity!r} is out of range: expected a whole number "
                f"from 1 to {MAX_QUANTITY}."
            )
        if self.order_by is not None and self.order_by not in _ORDER_BY:
            raise ValidationError(
                f"order_by={self.order_by!r} is invalid: expected one of {sorted(_ORDER_BY)}."
            )
        if self.protected is not None and self.protected not in _PROTECTED:
            raise ValidationError(
                f"protected={self.protected!r} is invalid: expected one of {sorted(_PROTECTED)}."
            )

    def _check_combination(self) -> None:
        present = self.present
        if not present:
            raise ValidationError(
                "A search needs at least one criterion such as area_code, npa_nxx, state, zip "
                "or toll_free_wildcard_pattern."
            )
        npas = [n for n in _NPA_FAMILY if n in present]
        if len(npas) > 1:
            raise ValidationError(f"{' and '.join(npas)} cannot be combined: give only one.")
        for needs_state in ("rate_center", "city"):
            if needs_state in present and "state" not in present:
                raise ValidationError(f"{needs_state}= requires state= as well.")
        toll_free = [n for n in _TOLL_FREE if n in present]
        if toll_free:
            others = sorted(present - {toll_free[0]})
            if others:
                raise ValidationError(
                    f"{toll_free[0]} is a toll-free search and cannot be combined with "
                    f"{', '.join(others)}."
                )
            for local_only in ("lca", "ends_in", "enable_tn_detail", "protected"):
                if getattr(self, local_only) is not None:
                    raise ValidationError(f"{local_only}= does not apply to toll-free searches.")
        if "local_vanity" in present:
            extra = sorted(present - {"local_vanity", "state", "area_code"})
            if extra:
                raise ValidationError(
                    f"local_vanity can only be combined with state and area_code, not "
                    f"{', '.join(extra)}."
                )
            if self.lca is not None:
                raise ValidationError("lca= does not apply to local_vanity searches.")
        elif self.ends_in is not None:
            raise ValidationError("ends_in= only applies together with local_vanity=.")
        if self.lca is not None and not any(n in present for n in _LCA_CAPABLE):
            raise ValidationError(
                "lca= needs one of npa_nxx, npa_nxxx, rate_center or state in the search."
            )
        if self.order_by is not None and not any(n in present for n in _ORDER_BY_CAPABLE):
            raise ValidationError(
                "order_by= is only supported for npa_nxx, npa_nxxx, rate_center, city, zip "
                "and toll-free searches."
            )
