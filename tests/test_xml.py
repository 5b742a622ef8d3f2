"""The codec, table-driven over the samples in tests/data, quoted from Bandwidth's docs and SDKs."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
import xmltodict

import bwnumbers
from bwnumbers import DecodeError, OrderRequest, OrderStatus, Search, parse_notification
from bwnumbers import _xml as codec
from bwnumbers._xml._safe import MAX_ELEMENTS
from tests.conftest import sample


@pytest.mark.parametrize(
    ("name", "order_id", "customer_order_id", "status", "numbers", "code"),
    [
        ("notification_complete.xml", "a8ef295b-fcf4-44a7-945c-0520c8f49123", None,
         OrderStatus.COMPLETE, ("5402278098",), None),
        ("notification_failed.xml", "4a58b348-892c-4426-8900-97fc4555c42c", None,
         OrderStatus.FAILED, ("5402278098",), 5005),
        ("notification_generic.xml", None, "my-order-1", OrderStatus.COMPLETE,
         ("5402278098", "5402278099"), None),
        ("notification_wild.xml", "31d06aea-651b-42ba-a338-4e629800368d", None,
         OrderStatus.COMPLETE, ("8338760878",), None),
    ],
)  # fmt: skip
def test_notifications_decode_by_name_in_any_order(
    name: str,
    order_id: str | None,
    customer_order_id: str | None,
    status: OrderStatus,
    numbers: tuple[str, ...],
    code: int | None,
) -> None:
    """Every documented notification decodes, whatever its element order and ids."""
    notification = parse_notification(sample(name))
    assert notification.order_id == order_id
    assert notification.customer_order_id == customer_order_id
    assert notification.status is status
    assert notification.completed_numbers == numbers
    assert notification.error_code == code


def test_notification_dates_and_event_fields() -> None:
    """Dates are timezone-aware UTC; event notifications keep their impacted numbers."""
    generic = parse_notification(sample("notification_generic.xml"))
    assert generic.last_modified == dt.datetime(2023, 9, 12, 15, 11, 31, 705000, tzinfo=dt.UTC)
    assert generic.actual_foc_date is not None
    assert generic.actual_foc_date.tzinfo is dt.UTC
    event = parse_notification(sample("notification_event.xml"))
    assert event.event_type == "MESSAGING_LOST"
    assert event.impacted_numbers == ("9195551234",)
    assert event.status is None


def test_failed_notification_exposes_error() -> None:
    """A "code: description" message becomes an OrderError."""
    error = parse_notification(sample("notification_failed.xml")).error
    assert error is not None
    assert error.code == 5005
    assert error.description == "The telephone number is unavailable for ordering"


def test_unknown_elements_and_statuses_are_tolerated() -> None:
    """New elements are ignored and a new status is kept, not fatal, and not final."""
    body = (
        b"<Notification><Status>PROCESSING</Status><OrderId>x</OrderId>"
        b"<Shiny><New>1</New></Shiny></Notification>"
    )
    notification = parse_notification(body)
    assert notification.status == "PROCESSING"
    assert notification.status is not None
    assert not notification.status.is_final
    assert not notification.status.is_known


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<Notification><Status>COMPLETE</Status>", "well-formed"),
        (b"<html><body>502 Bad Gateway</body></html>", "<Notification>"),
        (b"<OrderResponse/>", "<Notification>"),
        (b"not xml at all", "well-formed"),
        (b"<!DOCTYPE Notification><Notification/>", "DOCTYPE"),
        (b'<!DOCTYPE n [<!ENTITY a "aaaa">]><Notification>&a;</Notification>', "DOCTYPE"),
        (b'<!DOCTYPE n SYSTEM "http://example.test/x.dtd"><Notification/>', "DOCTYPE"),
        (b"<a>" * 50 + b"</a>" * 50, "nested"),
        (b"<Notification>&undefined;</Notification>", "well-formed"),
        (b"\xff\xfe<\x00", "well-formed"),
    ],
)
def test_bad_bodies_raise_decode_error(body: bytes, reason: str) -> None:
    """Anything but a well-formed, DTD-free document of the expected root is a DecodeError."""
    with pytest.raises(DecodeError) as info:
        parse_notification(body)
    message = str(info.value)
    assert reason in message
    assert "\n" not in message


def test_too_many_elements_are_refused() -> None:
    """A flood of siblings stops at the element bound instead of eating memory."""
    body = b"<Notification>" + b"<x/>" * (MAX_ELEMENTS + 1) + b"</Notification>"
    with pytest.raises(DecodeError, match="more than"):
        parse_notification(body)


def test_non_bytes_are_refused() -> None:
    """parse_notification takes bytes, and says so."""
    with pytest.raises(DecodeError, match="bytes"):
        parse_notification("<Notification/>")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "count", "numbers"),
    [
        ("search_list.xml", 7, ("5405514342", "5405515330", "5405515329", "5402278098",
                                "5402270905", "5402278089", "5402278090")),
        ("search_one.xml", 1, ("4354776112",)),
        ("search_empty.xml", 0, ()),
        ("search_details.xml", 2, ("2013458710", "2013508574")),
        ("search_details_node.xml", 1, ("9192345678",)),
    ],
)  # fmt: skip
def test_search_results(name: str, count: int, numbers: tuple[str, ...]) -> None:
    """One number decodes like many; details with FullNumber or TelephoneNumber both work."""
    result = codec.decode_search_result(sample(name))
    assert result.result_count == count
    assert result.numbers == numbers


def test_search_details_fields() -> None:
    """Each TelephoneNumberDetail keeps its location."""
    detail = codec.decode_search_result(sample("search_details.xml")).details[0]
    assert (detail.number, detail.city, detail.state, detail.lata) == (
        "2013458710", "RIDGEWOOD", "NJ", "224",
    )  # fmt: skip
    assert (detail.rate_center, detail.tier, detail.vendor_id, detail.vendor_name) == (
        "RIDGEWOOD", "0", "49", "Bandwidth CLEC",
    )  # fmt: skip


def test_subscriptions_both_shapes() -> None:
    """The wrapped list and the unwrapped single subscription both decode."""
    listed = codec.decode_subscriptions(sample("subscriptions_list.xml"))
    assert [s.id for s in listed] == [
        "4025131f-a05f-4269-8ad6-f38efbf23cea",
        "23bba4e1-50f1-4461-94b1-33d223e886dc",
        "c01a23e3-eb99-4174-9598-77d5beadebcf",
    ]
    orders = listed[2]
    assert (orders.order_type, orders.url, orders.expiry, orders.status, orders.username) == (
        "orders", "https://myUrl.com/ordersWithAuth", 3593, "READY", "username",
    )  # fmt: skip
    assert listed[0].event_type == "MESSAGING_LOST"
    (single,) = codec.decode_subscriptions(sample("subscription_unwrapped.xml"))
    assert single.id == "991a60d7-a612-48a5-a86e-326b51997cac"
    assert (single.status, single.number_format, single.expiry) == ("200 OK", "LEGACY", 4283455101)
    (email,) = codec.decode_subscriptions(sample("subscription_email.xml"))
    assert (email.email, email.digest, email.url) == ("bwtest@gmail.com", "NONE", None)


def test_order_created_response() -> None:
    """The POST response gives the lower-case <id>, the echo and RECEIVED."""
    order = codec.decode_order_response(sample("order_created.xml"))
    assert order.id == "c9dg306c-gdh7-77j7-812c-0520c8f49123"
    assert order.status is OrderStatus.RECEIVED
    assert order.numbers == ("5402278098",)
    assert order.customer_order_id == "1234567896"
    assert order.partial_allowed is True
    assert order.back_order_requested is False
    assert order.created_at == dt.datetime(2018, 3, 20, 19, 51, 20, 886000, tzinfo=dt.UTC)


def test_order_created_without_id_uses_location_or_fails() -> None:
    """Without <id> the Location id is used; with neither, a DecodeError."""
    body = sample("order_created.xml").replace(
        b"<id>c9dg306c-gdh7-77j7-812c-0520c8f49123</id>", b""
    )
    assert codec.decode_order_response(body, location_id="from-location").id == "from-location"
    with pytest.raises(DecodeError, match="no order id"):
        codec.decode_order_response(body)
    with pytest.raises(DecodeError, match="no <Order>"):
        codec.decode_order_response(
            b"<OrderResponse><OrderStatus>RECEIVED</OrderStatus></OrderResponse>"
        )


@pytest.mark.parametrize(
    ("name", "status", "completed", "failed", "codes", "summary"),
    [
        ("order_complete.xml", OrderStatus.COMPLETE, ("8042105666",), (), (), None),
        ("order_complete_guide.xml", OrderStatus.COMPLETE, ("5405511247",), (), (),
         "1 number ordered in (540)"),
        ("order_failed.xml", OrderStatus.FAILED, (), ("5402278098",), (5005,),
         "1 number requested"),
        ("order_partial.xml", OrderStatus.PARTIAL, ("6361231234",), ("6365555555",), (5005,),
         "1 out of 2 numbers ordered in (636)"),
    ],
)  # fmt: skip
def test_order_details(
    name: str,
    status: OrderStatus,
    completed: tuple[str, ...],
    failed: tuple[str, ...],
    codes: tuple[int, ...],
    summary: str | None,
) -> None:
    """GET /orders/{id} samples decode with status, numbers, errors and summary."""
    details = codec.decode_order_details(sample(name), order_id="the-id")
    assert details.id == "the-id"
    assert details.status is status
    assert details.completed_numbers == completed
    assert details.failed_numbers == failed
    assert tuple(e.code for e in details.errors) == codes
    assert details.summary == summary
    assert details.order.status is status


def test_order_details_search_echo() -> None:
    """A search-and-order echo becomes a Search again; TnAttributes are kept."""
    details = codec.decode_order_details(sample("order_complete.xml"), order_id="x")
    assert details.order.search == Search(area_code="804", quantity=1)
    assert details.order.tn_attributes == ("Protected", "External", "Imported")
    assert details.completed_quantity == 1
    assert details.failed_quantity == 0
    assert details.created_by_user == "jbm"
    assert details.customer_order_id == "123456789"


def test_order_details_requires_status() -> None:
    """An order response without OrderStatus cannot be trusted as an outcome."""
    with pytest.raises(DecodeError, match="OrderStatus"):
        codec.decode_order_details(b"<OrderResponse><Order/></OrderResponse>", order_id="x")


def test_order_list_and_history() -> None:
    """The ResponseSelectWrapper list and the history wrapper decode."""
    (row,) = codec.decode_order_list(sample("order_list.xml"))
    assert row.id == "c5d8d076-345c-45d7-87b3-803a35cca89b"
    assert row.status is OrderStatus.COMPLETE
    assert (row.customer_order_id, row.order_type, row.count_of_numbers, row.user_id) == (
        "cust-1", "new_number", 1, "bwc_user",
    )  # fmt: skip
    assert row.ordered_at == dt.datetime(2013, 12, 20, 6, tzinfo=dt.UTC)
    history = codec.decode_order_history(sample("order_history.xml"))
    assert [h.status for h in history] == [OrderStatus.BACKORDERED, OrderStatus.BACKORDERED]
    assert history[1].difference == 'CustomerOrderId : "" --> hello'
    assert codec.decode_order_history(b"") == ()


@pytest.mark.parametrize(
    ("name", "code", "description"),
    [
        ("search_error.xml", 4010, "One of more required search parameters are null or empty, "
                                   "please refer to the api documentation"),
        ("order_validation_error.xml", 5016, "The SiteId submitted is invalid."),
        ("order_failed.xml", 5005, "The telephone number is unavailable for ordering"),
        ("subscription_error.xml", 16008, "Duplicate subscription already exists"),
        ("note_error.xml", 12501, "Username is required"),
        ("not_found.xml", None, "The resource does not exist"),
        ("errors_list.xml", 7001, "CSR not found"),
    ],
)  # fmt: skip
def test_error_shapes(name: str, code: int | None, description: str) -> None:
    """All four error shapes (and the extra ones) give code and description."""
    assert codec.decode_error(sample(name))[:2] == (code, description)


@pytest.mark.parametrize(
    "body", [b"", b"<html>oops</html>", b"<OrderResponse><ErrorList/></OrderResponse>", b"\x00"]
)
def test_error_decoding_never_raises(body: bytes) -> None:
    """Bodies without an error give (None, None, ())."""
    assert codec.decode_error(body) == (None, None, ())


def _parsed(body: bytes) -> dict[str, object]:
    return xmltodict.parse(body)  # type: ignore[no-any-return]


def test_encode_subscription_with_credentials() -> None:
    """The subscription request follows the documented shape, credentials included."""
    body = codec.encode_subscription(
        url="https://me.example/bw", expiry=3600, username="cb", password="pw"
    )
    assert _parsed(body) == {
        "Subscription": {
            "OrderType": "orders",
            "CallbackSubscription": {
                "URL": "https://me.example/bw",
                "Expiry": "3600",
                "CallbackCredentials": {
                    "BasicAuthentication": {"Username": "cb", "Password": "pw"}
                },
            },
        }
    }
    assert "pw" not in codec.redact(body)


def test_encode_existing_numbers_order() -> None:
    """Specific numbers go in ExistingTelephoneNumberOrderType; flags are always explicit."""
    request = OrderRequest(
        site_id="743", numbers=["+15402278098"], customer_order_id="abc-1", name="n", peer_id="9"
    )
    assert _parsed(codec.encode_order(request)) == {
        "Order": {
            "CustomerOrderId": "abc-1",
            "Name": "n",
            "ExistingTelephoneNumberOrderType": {
                "TelephoneNumberList": {"TelephoneNumber": "5402278098"}
            },
            "SiteId": "743",
            "PeerId": "9",
            "PartialAllowed": "false",
            "BackOrderRequested": "false",
        }
    }


@pytest.mark.parametrize(
    ("search", "element", "fields"),
    [
        (Search(area_code="435"), "AreaCodeSearchAndOrderType",
         {"AreaCode": "435", "Quantity": "1"}),
        (Search(npa_nxx="919439", enable_tn_detail=True, lca=False),
         "NPANXXSearchAndOrderType",
         {"NpaNxx": "919439", "EnableTNDetail": "true", "EnableLCA": "false", "Quantity": "1"}),
        (Search(rate_center="RALEIGH", state="NC", quantity=3), "RateCenterSearchAndOrderType",
         {"RateCenter": "RALEIGH", "State": "NC", "Quantity": "3"}),
        (Search(zip="27606"), "ZIPSearchAndOrderType", {"Zip": "27606", "Quantity": "1"}),
        (Search(city="RALEIGH", state="NC"), "CitySearchAndOrderType",
         {"City": "RALEIGH", "State": "NC", "Quantity": "1"}),
        (Search(state="NC"), "StateSearchAndOrderType", {"State": "NC", "Quantity": "1"}),
        (Search(lata="224"), "LATASearchAndOrderType", {"Lata": "224", "Quantity": "1"}),
        (Search(toll_free_vanity="newcars"), "TollFreeVanitySearchAndOrderType",
         {"TollFreeVanity": "newcars", "Quantity": "1"}),
        (Search(toll_free_wildcard_pattern="8**"), "TollFreeWildCharSearchAndOrderType",
         {"TollFreeWildCardPattern": "8**", "Quantity": "1"}),
        (Search(area_code="617", local_vanity="newcars", ends_in=False),
         "CombinedSearchAndOrderType",
         {"AreaCode": "617", "LocalVanity": "newcars", "EndsIn": "false", "Quantity": "1"}),
        (Search(npa_nxxx="9194391", rate_center="RALEIGH", state="NC", lata="224", lca=False),
         "CombinedSearchAndOrderType",
         {"NpaNxxX": "9194391", "RateCenter": "RALEIGH", "State": "NC", "Lata": "224",
          "EnableLCA": "false", "Quantity": "1"}),
        (Search(rate_center="CARY", state="NC", lca=True), "CombinedSearchAndOrderType",
         {"RateCenter": "CARY", "State": "NC", "EnableLCA": "true", "Quantity": "1"}),
    ],
)  # fmt: skip
def test_encode_all_search_and_order_types(
    search: Search, element: str, fields: dict[str, str]
) -> None:
    """Each Search becomes the matching search-and-order type with Bandwidth's spelling."""
    request = OrderRequest(site_id="743", search=search, customer_order_id="c", name="n")
    order = _parsed(codec.encode_order(request))["Order"]
    assert isinstance(order, dict)
    assert order[element] == fields
    assert order["PartialAllowed"] == "false"
    assert order["BackOrderRequested"] == "false"


def test_encoded_search_order_round_trips() -> None:
    """What we encode, we decode back to the same Search."""
    search = Search(npa_nxxx="9194391", state="NC", quantity=2)
    request = OrderRequest(site_id="1", search=search, customer_order_id="c", name="n")
    body = codec.encode_order(request).replace(b"<Order>", b"<OrderResponse><Order>")
    body = body.replace(b"</Order>", b"<id>i</id></Order></OrderResponse>")
    assert codec.decode_order_response(body).search == search


def test_encoding_escapes_text() -> None:
    """Markup in user text is escaped, not injected."""
    request = OrderRequest(
        site_id="1", numbers=["5402278098"], name="a<b>&c", customer_order_id="c"
    )
    assert _parsed(codec.encode_order(request))["Order"]["Name"] == "a<b>&c"  # type: ignore[index]


def test_close_order_body() -> None:
    """Closing a backorder sends <Order><CloseOrder>true</CloseOrder></Order>."""
    assert _parsed(codec.encode_close_order()) == {"Order": {"CloseOrder": "true"}}


def test_order_update_body() -> None:
    """An update sends Name then CustomerOrderId, each only when given, and no CloseOrder."""
    both = codec.encode_order_update(name="a & b", customer_order_id="c-1")
    assert _parsed(both) == {"Order": {"Name": "a & b", "CustomerOrderId": "c-1"}}
    assert list(_parsed(both)["Order"]) == ["Name", "CustomerOrderId"]
    name_only = codec.encode_order_update(name="a", customer_order_id=None)
    assert _parsed(name_only) == {"Order": {"Name": "a"}}


# ---------------------------------------------------------------- the codec's own structure

PACKAGE = Path(bwnumbers.__file__).parent
# The codec's modules in dependency order: each may import only the ones before it.
CODEC_LAYERS = [
    "_safe",
    "_tree",
    "_names",
    "_encode",
    "_links",
    "_decode",
    "_notification",
    "_lifecycle",
    "_disconnects",
]


def _imported_modules(path: Path) -> set[str]:
    """Absolute module names, and sibling names for relative imports (``from ._x``: "_x")."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module] if node.module else [a.name for a in node.names])
    return found


def test_codec_modules_import_one_way() -> None:
    """Inside bwnumbers._xml each module imports only modules listed before it."""
    codec_dir = PACKAGE / "_xml"
    assert sorted(p.stem for p in codec_dir.glob("*.py")) == sorted([*CODEC_LAYERS, "__init__"])
    for position, name in enumerate(CODEC_LAYERS):
        siblings = _imported_modules(codec_dir / f"{name}.py") & set(CODEC_LAYERS)
        assert siblings <= set(CODEC_LAYERS[:position]), (name, siblings)


def test_only_the_codec_reads_xmltodict() -> None:
    """xmltodict stays behind the codec's tree module; everything else gets models."""
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "xmltodict" in _imported_modules(path)
    }
    assert importers == {"_xml/_tree.py"}
