"""The Bandwidth emulator, driven with raw HTTP (exact XML) and with NumbersClient."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest

from bwnumbers import (
    NumbersClient,
    OrderStatus,
    RateLimitError,
    RetryPolicy,
    Search,
    TransportError,
    normalize_number,
)
from bwnumbers.testing import BandwidthEmulator
from tests.receivers import RecordingReceiver

XML = {"Content-Type": "application/xml"}


class Raw:
    """Raw HTTP against the emulator, parsing answers with ElementTree."""

    def __init__(self, emulator: BandwidthEmulator, session: aiohttp.ClientSession) -> None:
        self.root = f"{emulator.base_url}/accounts/{emulator.account_id}"
        self.session = session
        self.auth = aiohttp.BasicAuth(emulator.username, emulator.password)

    async def call(
        self, method: str, path: str, body: str | bytes | None = None, **kwargs: Any
    ) -> tuple[int, dict[str, str], ET.Element | None]:
        kwargs.setdefault("auth", self.auth)
        if body is not None:
            kwargs.setdefault("headers", XML)
        async with self.session.request(method, self.root + path, data=body, **kwargs) as resp:
            data = await resp.read()
            parsed = ET.fromstring(data) if data.strip() else None  # noqa: S314 - our own server
            return resp.status, dict(resp.headers), parsed


@pytest.fixture
async def raw(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[Raw]:
    """Raw, authenticated HTTP to the emulator."""
    async with aiohttp.ClientSession() as session:
        yield Raw(bandwidth_emulator, session)


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    """The project's own client, pointed at the emulator."""
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


def texts(node: ET.Element | None, path: str) -> list[str]:
    assert node is not None
    return [(e.text or "").strip() for e in node.findall(path)]


def order_xml(
    inner: str,
    *,
    site: str = "743",
    name: str = "Test",
    customer_order_id: str | None = "cust-1",
    extra: str = "",
) -> str:
    cid = f"<CustomerOrderId>{customer_order_id}</CustomerOrderId>" if customer_order_id else ""
    return f"<Order>{cid}<Name>{name}</Name>{inner}<SiteId>{site}</SiteId>{extra}</Order>"


def existing(*numbers: str) -> str:
    tns = "".join(f"<TelephoneNumber>{n}</TelephoneNumber>" for n in numbers)
    listing = f"<TelephoneNumberList>{tns}</TelephoneNumberList>"
    return f"<ExistingTelephoneNumberOrderType>{listing}</ExistingTelephoneNumberOrderType>"


# ---------------------------------------------------------------- auth


async def test_auth_required(raw: Raw, bandwidth_emulator: BandwidthEmulator) -> None:
    """No or wrong credentials get 401 in the ResponseStatus shape; another account 403."""
    status, _, body = await raw.call("GET", "/orders", auth=None)
    assert status == 401
    assert body is not None
    assert body.tag == "ErrorResponse"
    assert texts(body, "ResponseStatus/Description") == ["Access Denied"]
    status, _, _ = await raw.call("GET", "/orders", auth=aiohttp.BasicAuth("emulator-user", "no"))
    assert status == 401
    other = raw.root.replace(bandwidth_emulator.account_id, "1234567")
    async with raw.session.get(f"{other}/orders", auth=raw.auth) as resp:
        assert resp.status == 403
    status, _, _ = await raw.call(
        "GET", "/orders", headers={"Authorization": "Basic !!!"}, auth=None
    )
    assert status == 401


async def test_unknown_route_is_xml_404(raw: Raw) -> None:
    """An unknown path gets the generic ErrorResponse, not an HTML page."""
    status, _, body = await raw.call("GET", "/nothing-here")
    assert status == 404
    assert body is not None
    assert body.tag == "ErrorResponse"


# ---------------------------------------------------------------- search


async def test_search_exact_xml(raw: Raw) -> None:
    """The guide's search returns its numbers in SearchResult/TelephoneNumberList."""
    status, _, body = await raw.call(
        "GET", "/availableNumbers", params={"npaNxx": "540551", "quantity": "7"}
    )
    assert status == 200
    assert body is not None
    assert body.tag == "SearchResult"
    numbers = texts(body, "TelephoneNumberList/TelephoneNumber")
    assert texts(body, "ResultCount") == ["7"]
    assert len(numbers) == 7
    assert all(n.startswith("540551") for n in numbers)


async def test_search_details_exact_xml(raw: Raw) -> None:
    """enableTNDetail=true answers TelephoneNumberDetail elements with FullNumber."""
    _, _, body = await raw.call(
        "GET",
        "/availableNumbers",
        params={"areaCode": "919", "quantity": "2", "enableTNDetail": "true"},
    )
    assert body is not None
    detail = body.find("TelephoneNumberDetailList/TelephoneNumberDetail")
    assert detail is not None
    assert [child.tag for child in detail] == [
        "City", "LATA", "RateCenter", "State", "FullNumber", "Tier", "VendorId", "VendorName",
    ]  # fmt: skip
    assert texts(detail, "State") == ["NC"]


@pytest.mark.parametrize(
    ("criteria", "check"),
    [
        ({"area_code": "919"}, lambda n: n.startswith("919")),
        ({"npa_nxx": "919439", "lca": False}, lambda n: n.startswith("919439")),
        ({"npa_nxxx": "5405514", "lca": False}, lambda n: n.startswith("5405514")),
        ({"rate_center": "CARY", "state": "NC"}, lambda n: n.startswith("919234")),
        ({"city": "RALEIGH", "state": "NC"}, lambda n: n[:6] in ("919439", "919228")),
        ({"state": "NJ"}, lambda n: n.startswith("201")),
        ({"zip": "63101"}, lambda n: n.startswith("636")),
        ({"lata": "660"}, lambda n: n.startswith("435")),
        ({"area_code": "919", "zip": "27513"}, lambda n: n.startswith("919234")),
        ({"toll_free_wildcard_pattern": "83*"}, lambda n: n.startswith("833")),
        (
            {"toll_free_wildcard_pattern": "8**"},
            lambda n: n[:3] in ("800", "833", "844", "855", "866", "877", "888"),
        ),
    ],
)
async def test_every_search_type(
    client: NumbersClient, criteria: dict[str, Any], check: Any
) -> None:
    """Each search type returns only numbers that match it."""
    found = await client.search_available_numbers(quantity=50, **criteria)
    assert found.numbers
    assert all(check(n) for n in found.numbers), found.numbers


async def test_vanity_searches(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Local and toll-free vanities match keypad digits; endsIn anchors at the end."""
    bandwidth_emulator.add_numbers(["9194392277", "8002272277"])  # ...CARS
    local = await client.search_available_numbers(local_vanity="CARS", ends_in=True)
    assert local.numbers == ("9194392277",)
    toll = await client.search_available_numbers(toll_free_vanity="CARS")
    assert "8002272277" in toll.numbers


async def test_lca_widens_to_the_rate_center(client: NumbersClient) -> None:
    """With LCA (the default) an NPA-NXX search reaches the same rate center, like the guide."""
    widened = await client.search_available_numbers(npa_nxx="540551")
    direct = await client.search_available_numbers(npa_nxx="540551", lca=False)
    assert set(direct.numbers) < set(widened.numbers)
    assert any(n.startswith("540227") for n in widened.numbers)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "4010"),
        ({"quantity": "3"}, "4010"),
        ({"rateCenter": "CARY"}, "4010"),
        ({"city": "CARY"}, "4010"),
        ({"areaCode": "919", "npaNxx": "919439"}, "4010"),
        ({"areaCode": "19"}, "4000"),
        ({"npaNxx": "91943"}, "4002"),
        ({"state": "N1"}, "4006"),
        ({"zip": "123"}, "4007"),
        ({"lata": "abc"}, "4008"),
        ({"tollFreeWildCardPattern": "9**"}, "4004"),
        ({"tollFreeVanity": "cars", "state": "NC"}, "4010"),
        ({"npaNxx": "919439", "orderBy": "random"}, "4020"),
        ({"state": "NC", "orderBy": "fullNumber"}, "4021"),
        ({"state": "NC", "protected": "SOMETIMES"}, "4022"),
        ({"state": "NC", "quantity": "0"}, "4010"),
        ({"state": "NC", "bogus": "1"}, "4010"),
        ({"areaCode": "919", "LCA": "true"}, "4010"),
    ],
)
async def test_search_errors(raw: Raw, params: dict[str, str], code: str) -> None:
    """Invalid searches get 400 with SearchResult/Error and the documented code."""
    status, _, body = await raw.call("GET", "/availableNumbers", params=params)
    assert status == 400
    assert body is not None
    assert body.tag == "SearchResult"
    assert texts(body, "Error/Code") == [code]
    assert texts(body, "Error/Description")[0]


async def test_empty_search(raw: Raw) -> None:
    """No match is 200 with an empty SearchResult element."""
    status, _, body = await raw.call("GET", "/availableNumbers", params={"areaCode": "999"})
    assert status == 200
    assert body is not None
    assert (body.tag, list(body)) == ("SearchResult", [])


# ---------------------------------------------------------------- subscriptions

SUBSCRIPTION = (
    "<Subscription><OrderType>orders</OrderType><CallbackSubscription><URL>{url}</URL>"
    "{expiry}{credentials}</CallbackSubscription></Subscription>"
)


def subscription_xml(
    url: str = "https://me.test/bw", expiry: str = "<Expiry>3600</Expiry>", credentials: str = ""
) -> str:
    return SUBSCRIPTION.format(url=url, expiry=expiry, credentials=credentials)


async def test_subscription_lifecycle_exact_xml(raw: Raw) -> None:
    """Create (201, Location, no body), list, get (wrapped), update, delete, then 404."""
    status, headers, body = await raw.call("POST", "/subscriptions", subscription_xml())
    assert (status, body) == (201, None)
    sub_id = headers["Location"].rsplit("/", 1)[1]
    assert headers["Location"] == f"{raw.root}/subscriptions/{sub_id}"
    _, _, listed = await raw.call("GET", "/subscriptions")
    assert texts(listed, "Subscriptions/Subscription/SubscriptionId") == [sub_id]
    assert texts(listed, "Subscriptions/Subscription/CallbackSubscription/Status") == ["READY"]
    expiry = int(texts(listed, "Subscriptions/Subscription/CallbackSubscription/Expiry")[0])
    assert 3590 <= expiry <= 3600
    status, _, _ = await raw.call(
        "PUT", f"/subscriptions/{sub_id}", subscription_xml(url="https://me.test/new")
    )
    assert status == 200
    _, _, got = await raw.call("GET", f"/subscriptions/{sub_id}")
    assert got is not None
    assert got.tag == "SubscriptionsResponse"
    assert texts(got, "Subscriptions/Subscription/CallbackSubscription/URL") == [
        "https://me.test/new"
    ]
    status, _, _ = await raw.call("DELETE", f"/subscriptions/{sub_id}")
    assert status == 200
    status, _, gone = await raw.call("GET", f"/subscriptions/{sub_id}")
    assert status == 404
    assert texts(gone, "ResponseStatus/ErrorCode") == ["16000"]


async def test_subscription_expiry_defaults_to_a_day(raw: Raw) -> None:
    """Without Expiry the subscription lasts 86400 seconds."""
    await raw.call("POST", "/subscriptions", subscription_xml(expiry=""))
    _, _, listed = await raw.call("GET", "/subscriptions")
    assert (
        86390
        <= int(texts(listed, "Subscriptions/Subscription/CallbackSubscription/Expiry")[0])
        <= 86400
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (subscription_xml(url=""), 400, "14503"),
        (subscription_xml(url="not a url"), 400, "14506"),
        (
            subscription_xml(
                credentials="<CallbackCredentials><BasicAuthentication><Username>u</Username></BasicAuthentication></CallbackCredentials>"
            ),
            400,
            "14505",
        ),
        ("<Subscription><OrderType>nonsense</OrderType></Subscription>", 400, "14500"),
        ("<Subscription><CallbackSubscription/></Subscription>", 400, "14508"),
        ("<Subscription><OrderType>orders</OrderType></Subscription>", 400, "14501"),
        ("<Subscription><OrderType>orders", 400, "14501"),
        ("<Other/>", 400, "14501"),
        (subscription_xml(expiry="<Expiry>-5</Expiry>"), 404, "14501"),
    ],
)
async def test_subscription_bad_input(raw: Raw, body: str, status: int, code: str) -> None:
    """Bad subscription bodies get the documented status and ResponseStatus code."""
    got_status, _, got = await raw.call("POST", "/subscriptions", body)
    assert got_status == status
    assert got is not None
    assert got.tag == "SubscriptionsResponse"
    assert texts(got, "ResponseStatus/ErrorCode") == [code]


async def test_subscription_duplicate_and_content_type(raw: Raw) -> None:
    """A duplicate target is 409 (16008); a non-XML content type is 415."""
    await raw.call("POST", "/subscriptions", subscription_xml())
    status, _, body = await raw.call("POST", "/subscriptions", subscription_xml())
    assert status == 409
    assert texts(body, "ResponseStatus/ErrorCode") == ["16008"]
    status, _, body = await raw.call(
        "POST", "/subscriptions", subscription_xml(), headers={"Content-Type": "application/json"}
    )
    assert status == 415
    assert body is not None
    assert body.tag == "ErrorResponse"


async def test_client_subscription_round_trip(client: NumbersClient) -> None:
    """ensure_subscription creates once, then reuses; the password is never returned."""
    first = await client.ensure_subscription("https://me.test/bw", username="cb", password="pw")
    again = await client.ensure_subscription("https://me.test/bw", username="cb", password="pw")
    assert first.id == again.id
    (listed,) = await client.list_subscriptions(order_type="orders")
    assert (listed.username, listed.url) == ("cb", "https://me.test/bw")


# ---------------------------------------------------------------- orders


async def test_order_lifecycle_exact_xml(raw: Raw, bandwidth_emulator: BandwidthEmulator) -> None:
    """POST answers 201, Location and RECEIVED with <id>; GET shows COMPLETE like the guide."""
    status, headers, body = await raw.call("POST", "/orders", order_xml(existing("5402278098")))
    assert status == 201
    assert body is not None
    assert body.tag == "OrderResponse"
    order_id = texts(body, "Order/id")[0]
    assert headers["Location"] == f"{raw.root}/orders/{order_id}"
    assert texts(body, "OrderStatus") == ["RECEIVED"]
    assert texts(
        body, "Order/ExistingTelephoneNumberOrderType/TelephoneNumberList/TelephoneNumber"
    ) == ["5402278098"]
    await bandwidth_emulator.settle()
    status, _, got = await raw.call("GET", f"/orders/{order_id}")
    assert status == 200
    assert got is not None
    assert texts(got, "OrderStatus") == ["COMPLETE"]
    assert texts(got, "CompletedNumbers/TelephoneNumber/FullNumber") == ["5402278098"]
    assert texts(got, "CompletedQuantity") == ["1"]
    assert texts(got, "FailedQuantity") == ["0"]
    assert texts(got, "Order/CustomerOrderId") == ["cust-1"]
    assert got.find("Order/id") is None  # like Bandwidth, GET leaves the id out
    assert "5402278098" not in bandwidth_emulator.inventory


async def test_failed_after_take(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A number taken by another customer fails the order with 5005, as HTTP 200."""
    assert bandwidth_emulator.take("5402278098")
    order = await client.create_order(site_id="743", numbers=["5402278098"])
    await bandwidth_emulator.settle()
    details = await client.get_order(order.id or "")
    assert details.status is OrderStatus.FAILED
    assert details.failed_numbers == ("5402278098",)
    assert [(e.code, e.number) for e in details.errors] == [(5005, "5402278098")]


async def test_partial(client: NumbersClient, bandwidth_emulator: BandwidthEmulator) -> None:
    """With PartialAllowed, available numbers are ordered and the order ends PARTIAL."""
    bandwidth_emulator.take("5402278089")
    order = await client.create_order(
        site_id="743", numbers=["5402278098", "5402278089"], partial_allowed=True
    )
    await bandwidth_emulator.settle()
    details = await client.get_order(order.id or "")
    assert details.status is OrderStatus.PARTIAL
    assert (details.completed_numbers, details.failed_numbers) == (("5402278098",), ("5402278089",))


async def test_backorder_completes_and_closes(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Short supply with BackOrderRequested → BACKORDERED → COMPLETE when numbers arrive."""
    search = Search(area_code="512", quantity=25)
    order = await client.create_order(site_id="743", search=search, back_order_requested=True)
    await bandwidth_emulator.settle()
    assert (await client.get_order(order.id or "")).status is OrderStatus.BACKORDERED
    bandwidth_emulator.add_numbers([f"51255590{i:02d}" for i in range(5)])
    await bandwidth_emulator.settle()
    assert (await client.get_order(order.id or "")).status is OrderStatus.COMPLETE
    history = await client.get_order_history(order.id or "")
    assert [h.status for h in history] == ["RECEIVED", "BACKORDERED", "COMPLETE"]

    second = await client.create_order(
        site_id="743",
        search=Search(area_code="512", quantity=5),
        back_order_requested=True,
        partial_allowed=True,
    )
    await bandwidth_emulator.settle()
    bandwidth_emulator.add_numbers(["5125559950"])
    await bandwidth_emulator.settle()
    assert (await client.get_order(second.id or "")).status is OrderStatus.BACKORDERED
    await client.close_order(second.id or "")
    closed = await client.get_order(second.id or "")
    assert closed.status is OrderStatus.PARTIAL
    assert closed.completed_numbers == ("5125559950",)


async def test_close_non_backordered_is_5060(
    raw: Raw, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Only backordered orders can be closed."""
    _, _, body = await raw.call("POST", "/orders", order_xml(existing("5402278098")))
    order_id = texts(body, "Order/id")[0]
    await bandwidth_emulator.settle()
    status, _, got = await raw.call(
        "PUT", f"/orders/{order_id}", "<Order><CloseOrder>true</CloseOrder></Order>"
    )
    assert status == 400
    assert texts(got, "ErrorList/Error/Code") == ["5060"]


@pytest.mark.parametrize(
    "search",
    [
        Search(area_code="919"),
        Search(npa_nxx="919439"),
        Search(rate_center="CARY", state="NC"),
        Search(city="RALEIGH", state="NC"),
        Search(state="NJ"),
        Search(zip="63101"),
        Search(lata="660"),
        Search(toll_free_wildcard_pattern="83*"),
        Search(npa_nxxx="5405514", state="VA"),
        Search(area_code="540", local_vanity="***", ends_in=False),
    ],
)
async def test_every_search_and_order_type(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, search: Search
) -> None:
    """All search-and-order types complete with numbers that match."""
    order = await client.create_order(site_id="743", search=search)
    await bandwidth_emulator.settle()
    details = await client.get_order(order.id or "")
    assert details.status is OrderStatus.COMPLETE
    assert len(details.completed_numbers) == 1
    assert details.order.search == attrs.evolve(search, quantity=1)  # orders default to one


async def test_toll_free_vanity_order(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A toll-free vanity order takes the vanity number."""
    bandwidth_emulator.add_numbers(["8886392277"])  # NEWCARS
    order = await client.create_order(site_id="743", search=Search(toll_free_vanity="NEWCARS"))
    await bandwidth_emulator.settle()
    assert (await client.get_order(order.id or "")).completed_numbers == ("8886392277",)


async def test_unavailable_search_order_fails(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Asking for more than stock without partial or backorder fails with 5018."""
    order = await client.create_order(site_id="743", search=Search(area_code="415", quantity=500))
    await bandwidth_emulator.settle()
    details = await client.get_order(order.id or "")
    assert details.status is OrderStatus.FAILED
    assert details.errors[0].code == 5018


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (order_xml(existing("5402278098"), site="999"), "5016"),
        (f"<Order><Name>x</Name>{existing('5402278098')}</Order>", "5022"),
        (order_xml(existing("5402278098"), extra="<PeerId>1</PeerId>"), "5023"),
        (order_xml(existing("5402278098"), customer_order_id="bad_id!"), "5052"),
        (order_xml(existing("5402278098", "5402278098")), "5093"),
        (order_xml(existing("540")), "5070"),
        (order_xml(existing()), "5074"),
        (
            order_xml(
                "<AreaCodeSearchAndOrderType><AreaCode>919</AreaCode><Quantity>0</Quantity></AreaCodeSearchAndOrderType>"
            ),
            "5009",
        ),
        (
            order_xml(
                "<AreaCodeSearchAndOrderType><AreaCode>919</AreaCode></AreaCodeSearchAndOrderType>"
            ),
            "5009",
        ),
        (
            order_xml(
                "<RateCenterSearchAndOrderType><RateCenter>CARY</RateCenter><Quantity>1</Quantity></RateCenterSearchAndOrderType>"
            ),
            "5002",
        ),
        (order_xml(existing("5402278098"), name="n" * 51), "5002"),
        (order_xml(""), "5087"),
        (order_xml("<MadeUpOrderType/>"), "5087"),
        (
            order_xml(
                existing("5402278098"), extra="<BackOrderRequested>true</BackOrderRequested>"
            ),
            "5522",
        ),
        (
            order_xml(
                "<NPANXXSearchAndOrderType><NpaNxx>919439</NpaNxx><Quantity>1</Quantity></NPANXXSearchAndOrderType>",
                extra="<BackOrderRequested>true</BackOrderRequested>",
            ),
            "5522",
        ),
        (order_xml(existing("5402278098"), extra="<PartialAllowed>maybe</PartialAllowed>"), "5217"),
        ("<Order><Name>x</Name>", "5002"),
        ("<!DOCTYPE Order [<!ENTITY a 'b'>]><Order/>", "5002"),
    ],
)
async def test_order_validation(
    raw: Raw, bandwidth_emulator: BandwidthEmulator, body: str, code: str
) -> None:
    """Invalid orders get 400 with an OrderResponse/ErrorList and create nothing."""
    status, _, got = await raw.call("POST", "/orders", body)
    assert status == 400
    assert got is not None
    assert got.tag == "OrderResponse"
    assert texts(got, "ErrorList/Error/Code") == [code]
    assert bandwidth_emulator.order_count == 0


async def test_unknown_order_and_history(raw: Raw, bandwidth_emulator: BandwidthEmulator) -> None:
    """Unknown order ids are 404 ErrorResponse; a fresh order's history is an empty body."""
    status, _, body = await raw.call("GET", "/orders/nope")
    assert status == 404
    assert texts(body, "ResponseStatus/Description") == ["The resource does not exist"]
    bandwidth_emulator.order_delay = 60
    _, _, created = await raw.call("POST", "/orders", order_xml(existing("5402278098")))
    order_id = texts(created, "Order/id")[0]
    status, _, history = await raw.call("GET", f"/orders/{order_id}/history")
    assert (status, history) == (200, None)


async def test_list_orders_filters(raw: Raw, bandwidth_emulator: BandwidthEmulator) -> None:
    """GET /orders filters by customerOrderId and status in the ResponseSelectWrapper shape."""
    await raw.call("POST", "/orders", order_xml(existing("5402278098"), customer_order_id="a-1"))
    await raw.call("POST", "/orders", order_xml(existing("5402278089"), customer_order_id="b-2"))
    await bandwidth_emulator.settle()
    _, _, body = await raw.call("GET", "/orders", params={"customerOrderId": "b-2"})
    assert body is not None
    assert body.tag == "ResponseSelectWrapper"
    assert texts(body, "ListOrderIdUserIdDate/OrderIdUserIdDate/CustomerOrderId") == ["b-2"]
    assert texts(body, "ListOrderIdUserIdDate/TotalCount") == ["1"]
    _, _, complete = await raw.call("GET", "/orders", params={"status": "complete"})
    assert len(texts(complete, "ListOrderIdUserIdDate/OrderIdUserIdDate/orderId")) == 2
    status, _, _ = await raw.call("GET", "/orders", params={"status": "weird"})
    assert status == 400


# ---------------------------------------------------------------- callbacks


async def subscribe(client: NumbersClient, url: str, **credentials: str) -> str:
    return (await client.create_subscription(url, **credentials)).id


async def test_challenge_flow(client: NumbersClient, bandwidth_emulator: BandwidthEmulator) -> None:
    """With credentials: first without Authorization, then with it after a 401 challenge."""
    async with RecordingReceiver(username="cb", password="pw") as receiver:
        sub_id = await subscribe(client, receiver.url, username="cb", password="pw")
        order = await client.create_order(
            site_id="743", numbers=["5402278098"], customer_order_id="cust-9"
        )
        await bandwidth_emulator.settle()
    first, second = receiver.requests
    assert first.authorization is None
    assert second.authorization == "Basic Y2I6cHc="
    root = ET.fromstring(second.body)  # noqa: S314
    assert root.tag == "Notification"
    assert [c.tag for c in root] == [
        "Status", "SubscriptionId", "Message", "OrderId", "OrderType", "CustomerOrderId",
        "CompletedTelephoneNumbers", "LastModifiedDate",
    ]  # fmt: skip
    assert texts(root, "Status") == ["COMPLETE"]
    assert texts(root, "OrderId") == [order.id]
    assert texts(root, "SubscriptionId") == [sub_id]
    assert texts(root, "CompletedTelephoneNumbers/TelephoneNumber") == ["5402278098"]
    assert (await client.get_subscription(sub_id)).status == "200 OK"
    (delivery,) = bandwidth_emulator.deliveries
    assert (delivery.http_status, delivery.authenticated) == (200, True)


async def test_plain_401_ends_the_delivery(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A 401 without WWW-Authenticate is not retried with credentials: the callback is lost."""
    async with RecordingReceiver(username="cb", password="pw", challenge=False) as receiver:
        sub_id = await subscribe(client, receiver.url, username="cb", password="pw")
        await client.create_order(site_id="743", numbers=["5402278098"])
        await bandwidth_emulator.settle()
    assert len(receiver.requests) == 1
    assert (await client.get_subscription(sub_id)).status == "401 Unauthorized"


async def test_failures_are_never_retried(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A 500 from the receiver is recorded in the subscription status and not retried."""
    async with RecordingReceiver(status=500) as receiver:
        sub_id = await subscribe(client, receiver.url)
        await client.create_order(site_id="743", numbers=["5402278098"])
        await bandwidth_emulator.settle()
    assert len(receiver.requests) == 1
    assert receiver.requests[0].authorization is None
    assert (await client.get_subscription(sub_id)).status == "500 Internal Server Error"


async def test_failed_notification_lists_attempted_numbers(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """FAILED notifications carry "5005: ..." and the attempted number, like Bandwidth's."""
    bandwidth_emulator.take("5402278098")
    async with RecordingReceiver() as receiver:
        await subscribe(client, receiver.url)
        await client.create_order(site_id="743", numbers=["5402278098"])
        await bandwidth_emulator.settle()
    root = ET.fromstring(receiver.requests[0].body)  # noqa: S314
    assert texts(root, "Status") == ["FAILED"]
    assert texts(root, "Message") == ["5005: The telephone number is unavailable for ordering"]
    assert texts(root, "CompletedTelephoneNumbers/TelephoneNumber") == ["5402278098"]


async def test_every_orders_subscription_is_notified(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Each matching subscription gets its own notification; other order types get none."""
    async with RecordingReceiver() as one, RecordingReceiver() as two:
        await subscribe(client, one.url)
        await subscribe(client, two.url)
        await client.create_subscription(one.url + "?portins", order_type="portins")
        await client.create_order(site_id="743", numbers=["5402278098"])
        await bandwidth_emulator.settle()
    assert (len(one.requests), len(two.requests)) == (1, 1)


# ---------------------------------------------------------------- fault knobs


async def test_drop_and_duplicate(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """drop_callbacks loses notifications; duplicate_callbacks sends them twice."""
    async with RecordingReceiver() as receiver:
        await subscribe(client, receiver.url)
        bandwidth_emulator.faults.drop_callbacks = 1.0
        await client.create_order(site_id="743", numbers=["5402278098"])
        await bandwidth_emulator.settle()
        assert receiver.requests == []
        assert bandwidth_emulator.deliveries[-1].dropped
        bandwidth_emulator.faults.drop_callbacks = 0.0
        bandwidth_emulator.faults.duplicate_callbacks = 1.0
        await client.create_order(site_id="743", numbers=["5402278089"])
        await bandwidth_emulator.settle()
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body


async def test_callback_before_response(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """The notification can reach the receiver before POST /orders answers."""
    bandwidth_emulator.faults.callback_before_response = True
    async with RecordingReceiver() as receiver:
        await subscribe(client, receiver.url)
        order = await client.create_order(site_id="743", numbers=["5402278098"])
        assert len(receiver.requests) == 1
    assert order.id is not None
    assert order.id.encode() in receiver.requests[0].body


@pytest.mark.parametrize("omit", [False, True])
async def test_omit_customer_order_id(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, omit: bool
) -> None:
    """omit_customer_order_id leaves CustomerOrderId out of notifications; OrderId stays."""
    bandwidth_emulator.faults.omit_customer_order_id = omit
    async with RecordingReceiver() as receiver:
        await subscribe(client, receiver.url)
        order = await client.create_order(
            site_id="743", numbers=["5402278098"], customer_order_id="cust-9"
        )
        await bandwidth_emulator.settle()
    (received,) = receiver.requests
    root = ET.fromstring(received.body)  # noqa: S314
    assert texts(root, "OrderId") == [order.id]
    assert texts(root, "CustomerOrderId") == ([] if omit else ["cust-9"])
    assert (await client.get_order(order.id)).customer_order_id == "cust-9"


@pytest.mark.parametrize("failure", ["500", "disconnect", "truncate"])
async def test_commit_then_fail_is_adopted(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, failure: Any
) -> None:
    """The order is committed, the answer fails, and the client adopts the one order."""
    bandwidth_emulator.faults.fail_next_order = failure
    order = await client.create_order(
        site_id="743", numbers=["5402278098"], customer_order_id="once-1"
    )
    assert bandwidth_emulator.order_count == 1
    assert bandwidth_emulator.orders_with_customer_order_id("once-1") == [order.id]


async def test_rate_limited_post_is_not_executed(bandwidth_emulator: BandwidthEmulator) -> None:
    """A 429 creates nothing; a reset beyond the wait budget raises RateLimitError."""
    policy = RetryPolicy(rate_limit_budget=0.5)
    async with bandwidth_emulator.client(retry=policy) as client:
        bandwidth_emulator.faults.rate_limit_next = 1
        bandwidth_emulator.faults.rate_limit_reset = 5.0
        with pytest.raises(RateLimitError) as info:
            await client.create_order(site_id="743", numbers=["5402278098"])
        assert info.value.reset_at is not None
        assert info.value.reset_at > time.time() + 3
        assert bandwidth_emulator.order_count == 0


async def test_rate_limit_knob(raw: Raw, bandwidth_emulator: BandwidthEmulator) -> None:
    """rate_limit_next answers 429 with X-RateLimit-Reset in epoch seconds, rounded up."""
    bandwidth_emulator.faults.rate_limit_next = 1
    bandwidth_emulator.faults.rate_limit_reset = 2.0
    before = time.time()
    status, headers, _ = await raw.call("POST", "/orders", order_xml(existing("5402278098")))
    assert status == 429
    reset = int(headers["X-RateLimit-Reset"])
    assert before + 2 <= reset <= time.time() + 3
    assert bandwidth_emulator.order_count == 0


async def test_rate_limit_knob_in_milliseconds(
    raw: Raw, bandwidth_emulator: BandwidthEmulator
) -> None:
    """With rate_limit_header="milliseconds", rate_limit_next sends epoch milliseconds."""
    bandwidth_emulator.faults.rate_limit_next = 1
    bandwidth_emulator.faults.rate_limit_reset = 2.0
    bandwidth_emulator.faults.rate_limit_header = "milliseconds"
    status, headers, _ = await raw.call("POST", "/orders", order_xml(existing("5402278098")))
    assert status == 429
    reset = int(headers["X-RateLimit-Reset"]) / 1000
    assert 0 < reset - time.time() <= 2.5
    assert bandwidth_emulator.order_count == 0


async def test_client_waits_out_the_rate_limit(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """The client waits for the reset and places exactly one order."""
    bandwidth_emulator.faults.rate_limit_next = 1
    bandwidth_emulator.faults.rate_limit_reset = 0.05
    await client.create_order(site_id="743", numbers=["5402278098"])
    assert bandwidth_emulator.order_count == 1


async def test_slow_responses(bandwidth_emulator: BandwidthEmulator) -> None:
    """response_delay beyond the client's timeout ends in TransportError after retries."""
    bandwidth_emulator.faults.response_delay = 0.5
    async with bandwidth_emulator.client(
        timeout=0.1, retry=RetryPolicy(attempts=2, initial_backoff=0.01)
    ) as client:
        with pytest.raises(TransportError, match="no complete answer"):
            await client.get_order("x")


async def test_deterministic_for_a_seed() -> None:
    """The same seed gives the same inventory and the same ids."""
    results = []
    for _ in range(2):
        async with BandwidthEmulator(seed=7, password="p") as emulator, emulator.client() as client:
            found = await client.search_available_numbers(area_code="919")
            order = await client.create_order(site_id="743", numbers=[found.numbers[0]])
            results.append((found.numbers, order.id))
    assert results[0] == results[1]
    async with BandwidthEmulator(seed=8) as other, other.client() as client:
        assert (await client.search_available_numbers(area_code="919")).numbers != results[0][0]


async def test_emulator_client_and_numbers_normalize(bandwidth_emulator: BandwidthEmulator) -> None:
    """emulator.client() is a ready NumbersClient; formatted numbers are ordered as digits."""
    async with bandwidth_emulator.client() as client:
        order = await client.create_order(
            site_id=bandwidth_emulator.site_id, numbers=["(540) 227-8098"]
        )
    assert order.numbers == (normalize_number("5402278098"),)
    assert "password" not in repr(bandwidth_emulator)
    assert bandwidth_emulator.password not in repr(bandwidth_emulator)


async def test_stop_cancels_pending_work() -> None:
    """stop() cancels a pending order step and a pending notification and waits for both to
    end, so nothing is processed or delivered after it returns."""
    emulator = BandwidthEmulator(order_delay=0)
    await emulator.start()
    emulator.faults.callback_delay = 0.1
    async with RecordingReceiver() as receiver:
        async with emulator.client() as client:
            await subscribe(client, receiver.url)
            notified = await client.create_order(site_id="743", numbers=["5402278098"])
            assert notified.id is not None
            async with asyncio.timeout(5):  # until its notification waits out callback_delay
                while emulator.order_status(notified.id) == "RECEIVED":  # noqa: ASYNC110 - no event
                    await asyncio.sleep(0.01)
            emulator.order_delay = 0.1
            waiting = await client.create_order(site_id="743", numbers=["5402278089"])
            assert waiting.id is not None
        pending = set(emulator._context.tasks)
        assert len(pending) == 2, "expected one pending order step and one notification"
        assert not any(task.done() for task in pending)
        await emulator.stop()
        assert all(task.cancelled() for task in pending)
        await asyncio.sleep(0.15)  # past both delays: anything stop() missed would happen now
    assert emulator.order_status(waiting.id) == "RECEIVED"
    assert receiver.requests == []
    assert emulator.deliveries == []


async def test_callback_delay(client: NumbersClient, bandwidth_emulator: BandwidthEmulator) -> None:
    """callback_delay holds each notification back by that many seconds."""
    bandwidth_emulator.faults.callback_delay = 0.3
    async with RecordingReceiver() as receiver:
        await subscribe(client, receiver.url)
        await client.create_order(site_id="743", numbers=["5402278098"])
        await asyncio.sleep(0.2)
        assert receiver.requests == []
        await bandwidth_emulator.settle()
    assert len(receiver.requests) == 1
