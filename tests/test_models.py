"""Input validation: search criteria, numbers, order requests, statuses."""

from __future__ import annotations

import pytest

from bwnumbers import OrderRequest, OrderStatus, Search, ValidationError, normalize_number
from bwnumbers._search import SearchKind


@pytest.mark.parametrize(
    "raw", ["5402278098", "+15402278098", "(540) 227-8098", "1-540-227-8098", "540.227.8098"]
)
def test_numbers_are_normalized_to_ten_digits(raw: str) -> None:
    """Every common spelling of a NANP number becomes ten digits."""
    assert normalize_number(raw) == "5402278098"


@pytest.mark.parametrize(
    "raw",
    ["", "540227809", "54022780981", "+445402278098", "1402278098", "5401278098", "abc",
     "540-227-809x", "+1 (040) 227-8098"],
)  # fmt: skip
def test_non_nanp_numbers_are_refused(raw: str) -> None:
    """Numbers that are not North American are a ValidationError naming the input."""
    with pytest.raises(ValidationError, match="not a"):
        normalize_number(raw)


def test_number_must_be_a_string() -> None:
    """An int is refused with a hint rather than silently formatted."""
    with pytest.raises(ValidationError, match="string"):
        normalize_number(5402278098)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "at least one criterion"),
        ({"quantity": 3}, "at least one criterion"),
        ({"rate_center": "CARY"}, "requires state"),
        ({"city": "RALEIGH"}, "requires state"),
        ({"area_code": "540", "npa_nxx": "540551"}, "cannot be combined"),
        ({"npa_nxx": "540551", "npa_nxxx": "5405512"}, "cannot be combined"),
        ({"toll_free_vanity": "newcars", "state": "NC"}, "toll-free"),
        ({"toll_free_vanity": "newcars", "toll_free_wildcard_pattern": "8**"}, "toll-free"),
        ({"toll_free_wildcard_pattern": "8**", "lca": True}, "toll-free"),
        ({"local_vanity": "cars", "zip": "27606"}, "local_vanity"),
        ({"local_vanity": "cars", "lca": False}, "lca"),
        ({"ends_in": True, "area_code": "540"}, "local_vanity"),
        ({"area_code": "540", "lca": True}, "lca="),
        ({"area_code": "540", "order_by": "fullNumber"}, "order_by"),
        ({"area_code": "540", "quantity": 0}, "quantity"),
        ({"area_code": "540", "quantity": 5001}, "quantity"),
        ({"area_code": "540", "quantity": True}, "quantity"),
        ({"area_code": "540", "quantity": "5"}, "quantity"),
        ({"area_code": "140"}, "area_code"),
        ({"area_code": "54"}, "area_code"),
        ({"npa_nxx": "540151"}, "npa_nxx"),
        ({"state": "North Carolina"}, "state"),
        ({"zip": "2760"}, "zip"),
        ({"lata": "123456"}, "lata"),
        ({"toll_free_wildcard_pattern": "9**"}, "toll_free_wildcard_pattern"),
        ({"npa_nxx": "540551", "order_by": "random"}, "order_by"),
        ({"state": "NC", "protected": "MAYBE"}, "protected"),
        ({"state": "NC", "lca": "yes"}, "True or False"),
        ({"state": 3.5}, "strings"),
    ],
)
def test_bad_search_criteria(kwargs: dict[str, object], message: str) -> None:
    """Unsupported formats and combinations fail at construction with a sentence."""
    with pytest.raises(ValidationError, match=message):
        Search(**kwargs)  # type: ignore[arg-type]


def test_unknown_criterion_is_named() -> None:
    """from_criteria names an unknown keyword instead of a bare TypeError."""
    with pytest.raises(ValidationError, match="'areacode'"):
        Search.from_criteria({"areacode": "540"})


def test_search_query_parameters() -> None:
    """snake_case criteria become Bandwidth's query parameters, booleans as true/false."""
    search = Search(npa_nxx="540551", quantity=7, enable_tn_detail=True, lca=False)
    assert search.to_query() == {
        "npaNxx": "540551", "quantity": "7", "enableTNDetail": "true", "LCA": "false",
    }  # fmt: skip
    assert Search(toll_free_wildcard_pattern="83*").to_query() == {"tollFreeWildCardPattern": "83*"}
    assert Search(area_code=540).area_code == "540"


@pytest.mark.parametrize(
    ("search", "kind"),
    [
        (Search(area_code="540"), SearchKind.AREA_CODE),
        (Search(npa_nxx="540551", lca=False), SearchKind.NPA_NXX),
        (Search(npa_nxxx="5405512"), SearchKind.COMBINED),
        (Search(rate_center="CARY", state="NC"), SearchKind.RATE_CENTER),
        (Search(city="CARY", state="NC"), SearchKind.CITY),
        (Search(state="NC"), SearchKind.STATE),
        (Search(state="NC", lca=True), SearchKind.COMBINED),
        (Search(zip="27606-0007"), SearchKind.ZIP),
        (Search(lata="224"), SearchKind.LATA),
        (Search(area_code="919", zip="27606"), SearchKind.COMBINED),
        (Search(toll_free_vanity="NEWCARS"), SearchKind.TOLL_FREE_VANITY),
        (Search(toll_free_wildcard_pattern="80*"), SearchKind.TOLL_FREE_WILDCARD),
    ],
)
def test_search_kinds(search: Search, kind: SearchKind) -> None:
    """Each search maps to the order type Bandwidth documents for it."""
    assert search.kind is kind


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"numbers": ["5402278098"], "search": Search(state="NC")}, "not both"),
        ({}, "not both and not neither"),
        ({"numbers": []}, "empty"),
        ({"numbers": "5402278098"}, "single string"),
        ({"numbers": ["5402278098", "+1 540 227 8098"]}, "more than once"),
        ({"numbers": ["123"]}, "not a valid"),
        ({"numbers": ["5402278098"], "name": "x" * 51}, "at most 50"),
        ({"numbers": ["5402278098"], "name": "  "}, "empty"),
        ({"numbers": ["5402278098"], "customer_order_id": "a" * 41}, "customer_order_id"),
        ({"numbers": ["5402278098"], "customer_order_id": "no_underscores"}, "customer_order_id"),
        ({"numbers": ["5402278098"], "customer_order_id": ""}, "customer_order_id"),
        ({"search": Search(state="NC", order_by=None, protected="ONLY")}, "searches only"),
        ({"search": Search(area_code="540", enable_tn_detail=True)}, "enable_tn_detail"),
        ({"search": "area_code=540"}, "bwnumbers.Search"),
        ({"numbers": ["5402278098"], "partial_allowed": "yes"}, "True or False"),
        ({"numbers": ["5402278098"], "peer_id": "a/b"}, "peer_id"),
    ],
)
def test_bad_order_requests(kwargs: dict[str, object], message: str) -> None:
    """Every malformed order is refused before anything is sent."""
    kwargs.setdefault("site_id", "743")
    with pytest.raises(ValidationError, match=message):
        OrderRequest(**kwargs)  # type: ignore[arg-type]


def test_site_id_is_required_and_checked() -> None:
    """An empty or path-like site id is refused."""
    for site_id in ("", "7/4"):
        with pytest.raises(ValidationError, match="site_id"):
            OrderRequest(site_id=site_id, numbers=["5402278098"])


def test_order_request_defaults() -> None:
    """A UUID4 customer order id and a name derived from it are generated."""
    request = OrderRequest(site_id="743", numbers=["+15402278098"])
    assert request.numbers == ("5402278098",)
    assert len(request.customer_order_id) == 36
    assert request.name == f"bwnumbers {request.customer_order_id}"
    assert len(request.name) <= 50
    assert request.partial_allowed is False
    assert request.back_order_requested is False
    assert OrderRequest(site_id="1", numbers=["5402278098"]).customer_order_id != (
        request.customer_order_id
    )
    OrderRequest(site_id="1", numbers=["5402278098"], customer_order_id="Order 42 - x" * 3)


def test_order_status() -> None:
    """Final statuses are COMPLETE, PARTIAL and FAILED; unknown values survive."""
    assert {s for s in OrderStatus if s.is_final} == {
        OrderStatus.COMPLETE, OrderStatus.PARTIAL, OrderStatus.FAILED,
    }  # fmt: skip
    assert OrderStatus("complete") is OrderStatus.COMPLETE
    assert OrderStatus(" FAILED ") is OrderStatus.FAILED
    novel = OrderStatus("EXCEPTION")
    assert novel == "EXCEPTION"
    assert str(novel) == "EXCEPTION"
    assert not novel.is_final
    assert not novel.is_known
    assert OrderStatus.BACKORDERED.is_known
    assert not OrderStatus.BACKORDERED.is_final
    with pytest.raises(ValueError, match="is not a valid"):
        OrderStatus(42)  # type: ignore[arg-type]
