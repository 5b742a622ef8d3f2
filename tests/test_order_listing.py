"""GET /orders paging: the emulator's pages and links, and the client following them.

The emulator part sends raw requests to the real BandwidthEmulator on loopback and reads its
XML; the client part runs iter_orders, list_orders and find_order against it, and against the
fake transport for the shapes the emulator does not send (the SPEC example's commented-out
links, Bandwidth's own hosts, links that loop).
"""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bwnumbers import (
    AmbiguousOrderError,
    DecodeError,
    NotFoundError,
    NumbersClient,
    OrderStatus,
    ValidationError,
)
from bwnumbers import _orders as orders_module
from bwnumbers.testing import BandwidthEmulator
from tests.conftest import ROOT
from tests.fake_transport import FakeTransport

# ---------------------------------------------------------------- helpers


class Listing:
    """``GET /orders`` of the emulator's account, raw, with its XML parsed."""

    def __init__(self, emulator: BandwidthEmulator, session: aiohttp.ClientSession) -> None:
        self.url = f"{emulator.base_url}/accounts/{emulator.account_id}/orders"
        credentials = f"{emulator.username}:{emulator.password}".encode()
        self.headers = {"Authorization": f"Basic {base64.b64encode(credentials).decode()}"}
        self.session = session

    async def get(
        self, params: dict[str, str] | None = None, *, url: str | None = None
    ) -> tuple[int, ET.Element]:
        target = url or self.url
        async with self.session.get(target, params=params, headers=self.headers) as response:
            body = await response.read()
            return response.status, ET.fromstring(body)  # noqa: S314 - our own emulator


@pytest.fixture
async def listing(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[Listing]:
    async with aiohttp.ClientSession() as session:
        yield Listing(bandwidth_emulator, session)


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


async def place(
    client: NumbersClient, emulator: BandwidthEmulator, customer_order_ids: list[str]
) -> list[str]:
    """One order of one in-stock number per customer order id, in that order; their ids, once
    every order is processed."""
    found = await client.search_available_numbers(
        npa_nxx="540551", quantity=len(customer_order_ids)
    )
    ids = []
    for number, customer_order_id in zip(found.numbers, customer_order_ids, strict=True):
        order = await client.create_order(
            site_id=emulator.site_id, numbers=[number], customer_order_id=customer_order_id
        )
        assert order.id is not None
        ids.append(order.id)
    await emulator.settle()
    return ids


def row_ids(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.findall("ListOrderIdUserIdDate/OrderIdUserIdDate/orderId")]


def total(root: ET.Element) -> int:
    return int(root.findtext("ListOrderIdUserIdDate/TotalCount") or "-1")


def link(root: ET.Element, rel: str) -> str | None:
    """The URL in ``<Links><rel>``, checked to be in the escaped ``Link=<url>;rel="...";`` form."""
    text = root.findtext(f"ListOrderIdUserIdDate/Links/{rel}")
    if text is None:
        return None
    assert text.startswith("Link=<"), text
    assert text.endswith(f'>;rel="{rel}";'), text
    return text[len("Link=<") : -len(f'>;rel="{rel}";')]


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


# ---------------------------------------------------------------- the emulator


async def test_pages_of_three_list_seven_orders_once_each(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, listing: Listing
) -> None:
    """size=3 over 7 orders: pages of 3, 3 and 1 in the order placed, TotalCount 7 on each,
    first always, next (the order id that starts the next page) on all but the last."""
    placed = await place(client, bandwidth_emulator, [f"c-{i}" for i in range(7)])
    status, page = await listing.get({"page": "1", "size": "3"})
    seen: list[str] = []
    nexts: list[str] = []
    while True:
        assert status == 200
        assert total(page) == 7
        first = link(page, "first")
        assert first is not None
        assert query(first) == {"page": "1", "size": "3"}
        seen.extend(row_ids(page))
        following = link(page, "next")
        if following is None:
            break
        nexts.append(query(following)["page"])
        status, page = await listing.get(url=following)
    assert seen == placed
    assert nexts == [placed[3], placed[6]]
    assert len(row_ids(page)) == 1


async def test_filters_are_kept_on_the_next_pages(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, listing: Listing
) -> None:
    """The next link carries every filter, and its page holds only matching orders."""
    placed = await place(client, bandwidth_emulator, ["a", "b", "a", "b", "a", "b", "a"])
    today = dt.datetime.now(dt.UTC).date().isoformat()
    filters = {
        "customerOrderId": "a",
        "status": "complete",
        "userid": bandwidth_emulator.username,
        "startdate": today,
        "enddate": today,
    }
    status, first = await listing.get({**filters, "page": "1", "size": "3"})
    assert (status, total(first), row_ids(first)) == (200, 4, placed[0:5:2])
    following = link(first, "next")
    assert following is not None
    assert query(following) == {**filters, "page": placed[6], "size": "3"}
    status, second = await listing.get(url=following)
    assert (status, total(second), row_ids(second)) == (200, 4, [placed[6]])
    assert link(second, "next") is None


async def test_a_page_order_that_does_not_match_still_marks_the_place(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, listing: Listing
) -> None:
    """A page that starts at an order no longer matching (renamed between two pages, or an
    order of another customer order id) starts at the next matching order placed after it."""
    placed = await place(client, bandwidth_emulator, ["a", "b", "a", "b", "a"])
    _, root = await listing.get({"customerOrderId": "a", "page": placed[1], "size": "5"})
    assert row_ids(root) == [placed[2], placed[4]]
    _, first = await listing.get({"customerOrderId": "a", "page": "1", "size": "1"})
    following = link(first, "next")
    assert following is not None
    assert query(following)["page"] == placed[2]
    await client.update_order(placed[2], customer_order_id="renamed")  # between two pages
    _, second = await listing.get(url=following)
    assert (total(second), row_ids(second)) == (2, [placed[4]])


async def test_the_specs_example_query_is_answered(
    bandwidth_emulator: BandwidthEmulator, listing: Listing
) -> None:
    """The SPEC's ListOrders parameter examples, verbatim but for page (its example order id is
    not on this account: 404, as the SPEC says) and userid (the emulator's user), give the
    SPEC's shape: ResponseSelectWrapper/ListOrderIdUserIdDate with TotalCount and Links."""
    example = {
        "page": "1",
        "size": "20",
        "customerOrderId": "ORD12345",
        "status": "BACKORDERED",
        "userid": bandwidth_emulator.username,
        "startdate": "13-12-15",
        "enddate": "13-12-31",
    }
    status, root = await listing.get(example)
    assert status == 200
    assert root.tag == "ResponseSelectWrapper"
    assert [c.tag for c in root.iterfind("ListOrderIdUserIdDate/*")] == ["TotalCount", "Links"]
    assert total(root) == 0
    first = link(root, "first")
    assert first is not None
    assert query(first) == {**example, "page": "1", "size": "20"}
    status, _ = await listing.get({**example, "page": "cbdcfc94-81b1-4ce9-8b6d-f8d6b85381ba"})
    assert status == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"page": "5c7ba0f6-8e55-4b9c-a0c1-2f0a4e3d1b7c", "size": "3"}, 404),
        ({"page": "2", "size": "3"}, 400),
        ({"page": "", "size": "3"}, 400),
        ({"page": "1", "size": "0"}, 400),
        ({"page": "1", "size": "1001"}, 400),
        ({"page": "1", "size": "three"}, 400),
        ({"startdate": "2026-13-01"}, 400),
        ({"enddate": "yesterday"}, 400),
        ({"status": "weird"}, 400),
    ],
)
async def test_unknown_page_is_404_and_malformed_parameters_400(
    listing: Listing, params: dict[str, str], expected: int
) -> None:
    """The SPEC: an order id that cannot be found is 404, malformed parameters 400."""
    status, _ = await listing.get(params)
    assert status == expected


async def test_date_and_user_filters(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, listing: Listing
) -> None:
    """startdate/enddate bound the order day (YYYY-MM-DD, or the SPEC's YY-MM-DD read as
    20YY); userid is the user who placed the order."""
    await place(client, bandwidth_emulator, ["d-1", "d-2"])
    today = dt.datetime.now(dt.UTC).date()
    day = dt.timedelta(days=1)
    for params, count in [
        ({"startdate": (today + day).isoformat()}, 0),
        ({"enddate": (today - day).isoformat()}, 0),
        ({"startdate": today.strftime("%y-%m-%d"), "enddate": today.strftime("%y-%m-%d")}, 2),
        ({"userid": bandwidth_emulator.username}, 2),
        ({"userid": "someone-else"}, 0),
    ]:
        status, root = await listing.get(params)
        assert (status, total(root), len(row_ids(root))) == (200, count, count), params


async def test_without_page_and_size_the_first_thousand_are_answered(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, listing: Listing
) -> None:
    """Older clients send neither page nor size: every order (up to 1,000), links as usual."""
    placed = await place(client, bandwidth_emulator, ["o-1", "o-2"])
    status, root = await listing.get()
    assert (status, total(root), row_ids(root)) == (200, 2, placed)
    first = link(root, "first")
    assert first is not None
    assert query(first) == {"page": "1", "size": "1000"}
    assert link(root, "next") is None


async def test_rows_carry_the_numbers_details(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, listing: Listing
) -> None:
    """A completed order's row counts its numbers by state, rate center, city, tier and vendor
    (the SPEC's example); a FAILED order's row counts 0 numbers and has no details."""
    found = await client.search_available_numbers(npa_nxx="540551", quantity=2)
    complete = await client.create_order(site_id=bandwidth_emulator.site_id, numbers=found.numbers)
    failed = await client.create_order(
        site_id=bandwidth_emulator.site_id, numbers=["2025550123"], customer_order_id="f-1"
    )
    await bandwidth_emulator.settle()
    _, root = await listing.get({"page": "1", "size": "10"})
    rows = {r.findtext("orderId"): r for r in root.iter("OrderIdUserIdDate")}
    done = rows[complete.id]
    assert [child.tag for child in done] == [
        "CountOfTNs",
        "CustomerOrderId",
        "lastModifiedDate",
        "OrderDate",
        "OrderType",
        "orderId",
        "OrderStatus",
        "TelephoneNumberDetails",
        "userId",
    ]
    assert (done.findtext("CountOfTNs"), done.findtext("OrderStatus")) == ("2", "COMPLETE")
    details = done.find("TelephoneNumberDetails")
    assert details is not None
    assert [c.tag for c in details] == ["States", "RateCenters", "Cities", "Tiers", "Vendors"]
    state = details.find("States/StateWithCount")
    assert state is not None
    assert (state.findtext("State"), state.findtext("Count")) == ("VA", "2")
    vendor = details.find("Vendors/VendorWithCount")
    assert vendor is not None
    assert [c.tag for c in vendor] == ["VendorId", "VendorName", "Count"]
    assert vendor.findtext("Count") == "2"
    bad = rows[failed.id]
    assert (bad.findtext("OrderStatus"), bad.findtext("CountOfTNs")) == ("FAILED", "0")
    assert bad.find("TelephoneNumberDetails") is None


# ---------------------------------------------------------------- the client, on the emulator


async def test_iter_orders_and_list_orders_read_every_page(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """iter_orders and list_orders (without page) go through every page; with page, one."""
    placed = await place(client, bandwidth_emulator, [f"i-{i}" for i in range(7)])
    assert [row.id async for row in client.iter_orders(page_size=3)] == placed
    rows = await client.list_orders(size=3)
    assert [row.id for row in rows] == placed
    assert [row.customer_order_id for row in rows] == [f"i-{i}" for i in range(7)]
    assert {row.status for row in rows} == {OrderStatus.COMPLETE}
    assert [row.id for row in await client.list_orders(page="1", size=3)] == placed[:3]
    assert [row.id for row in await client.list_orders(page=placed[3], size=3)] == placed[3:6]
    filtered = client.iter_orders(customer_order_id="i-5", page_size=1)
    assert [row.id async for row in filtered] == [placed[5]]
    with pytest.raises(NotFoundError):
        await client.list_orders(page="5c7ba0f6-8e55-4b9c-a0c1-2f0a4e3d1b7c")


async def test_find_order_sees_matches_on_every_page(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two orders with one customer order id on two pages are ambiguous, not the first one."""
    monkeypatch.setattr(orders_module, "MAX_PAGE_SIZE", 1)  # one row a page
    first, second = await place(client, bandwidth_emulator, ["twice", "twice"])
    with pytest.raises(AmbiguousOrderError, match=f"{first}, {second}"):
        await client.find_order("twice")


# ---------------------------------------------------------------- the client, unit


def page_xml(*rows: tuple[str, str | None], next_link: str | None = None) -> bytes:
    """A ``GET /orders`` page with *rows* (order id, customer order id) and *next_link* as the
    text of ``<next>`` (written as given: escape it yourself)."""
    row_xml = "".join(
        "<OrderIdUserIdDate><CountOfTNs>1</CountOfTNs>"
        + (f"<CustomerOrderId>{cid}</CustomerOrderId>" if cid else "")
        + f"<orderId>{oid}</orderId><OrderStatus>COMPLETE</OrderStatus>"
        "<userId>bwc_user</userId></OrderIdUserIdDate>"
        for oid, cid in rows
    )
    following = "" if next_link is None else f"<next>{next_link}</next>"
    return (
        "<ResponseSelectWrapper><ListOrderIdUserIdDate><TotalCount>9</TotalCount>"
        f'<Links><first>Link=&lt;x?page=1&amp;size=3&gt;;rel="first";</first>{following}'
        f"</Links>{row_xml}</ListOrderIdUserIdDate></ResponseSelectWrapper>"
    ).encode()


def bandwidth_next(page: str, size: int = 3) -> str:
    """A next link as Bandwidth writes it: escaped, on its own host and prefix."""
    url = (
        f"https://dashboard.bandwidth.com:443/v1.0/accounts/9900012/orders?page={page}&size={size}"
    )
    return f'Link=&lt;{url.replace("&", "&amp;")}&gt;;rel="next";'


async def test_a_next_link_of_bandwidth_is_read_for_its_page_and_size_only(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """The next page is asked of the client's own base URL, with the link's page and size and
    the caller's filters, never the link's host."""
    fake_transport.get("/orders", body=page_xml(("o1", "c"), next_link=bandwidth_next("o2", 2)))
    fake_transport.get("/orders", body=page_xml(("o2", "c")))
    rows = [
        row
        async for row in fake_client.iter_orders(
            customer_order_id="c",
            status=OrderStatus.COMPLETE,
            user_id="bwc_user",
            start_date=dt.date(2026, 1, 2),
            end_date="2026-02-03",
            page_size=3,
        )
    ]
    assert [row.id for row in rows] == ["o1", "o2"]
    filters = {
        "customerOrderId": "c",
        "status": "complete",
        "userid": "bwc_user",
        "startdate": "2026-01-02",
        "enddate": "2026-02-03",
    }
    first, second = fake_transport.requests
    assert first.params == {**filters, "page": "1", "size": "3"}
    assert second.params == {**filters, "page": "o2", "size": "2"}
    assert second.url == f"{ROOT}/orders"


async def test_a_next_that_holds_only_a_comment_is_the_last_page(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """The SPEC example's links are XML comments: a next with no text ends the listing."""
    commented = (
        "\n    <!-- Link=<https://dashboard.bandwidth.com 443/v1.0/accounts/9900012/orders"
        '?page=cbdcfc94-81b1-4ce9-8b6d-f8d6b85381ba&size=3>;rel="next"; -->\n'
    )
    fake_transport.get("/orders", body=page_xml(("o1", None), ("o2", None), next_link=commented))
    assert [row.id async for row in fake_client.iter_orders()] == ["o1", "o2"]
    assert len(fake_transport.requests) == 1


async def test_links_that_loop_raise_decode_error(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A next link naming a page already read stops with DecodeError instead of looping."""
    for _ in range(2):  # finite: without the guard the third request fails the test
        fake_transport.get("/orders", body=page_xml(("o1", "c"), next_link=bandwidth_next("o2")))
    with pytest.raises(DecodeError, match="order list pointed back to page 'o2'"):
        await fake_client.list_orders()
    assert len(fake_transport.requests) == 2
    fake_transport.get("/orders", body=page_xml(("o1", "c"), next_link=bandwidth_next("1")))
    with pytest.raises(DecodeError, match="page '1'"):
        [row async for row in fake_client.iter_orders()]


async def test_list_orders_with_a_page_reads_that_page_only(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """list_orders(page=...) is one request, as before, whatever its next link says."""
    fake_transport.get("/orders", body=page_xml(("o4", "c"), next_link=bandwidth_next("o5")))
    rows = await fake_client.list_orders(customer_order_id="c", page="o4", size=3)
    assert [row.id for row in rows] == ["o4"]
    (request,) = fake_transport.requests
    assert request.params == {"customerOrderId": "c", "page": "o4", "size": "3"}


async def test_find_order_finds_a_match_on_a_later_page(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Rows without the customer order id on page 1, the order on page 2: found."""
    fake_transport.get(
        "/orders", body=page_xml(("o1", None), ("o2", "other"), next_link=bandwidth_next("o3"))
    )
    fake_transport.get("/orders", body=page_xml(("o3", "mine")))
    fake_transport.get("/orders/o3", status=404)  # then built from its row
    found = await fake_client.find_order("mine")
    assert found is not None
    assert (found.id, found.customer_order_id) == ("o3", "mine")


async def test_find_order_with_matches_on_two_pages_is_ambiguous(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """One match on page 1 and one on page 2: AmbiguousOrderError naming both."""
    fake_transport.get("/orders", body=page_xml(("o1", "mine"), next_link=bandwidth_next("o2")))
    fake_transport.get("/orders", body=page_xml(("o2", "mine")))
    with pytest.raises(AmbiguousOrderError, match="o1, o2"):
        await fake_client.find_order("mine")


@pytest.mark.parametrize("size", [0, 1001, True, 2.5])
async def test_page_sizes_outside_bandwidths_bounds_are_refused(
    fake_transport: FakeTransport, fake_client: NumbersClient, size: int
) -> None:
    """1 to 1000 orders a page (the SPEC's most per request), refused before sending."""
    with pytest.raises(ValidationError, match="page_size="):
        [row async for row in fake_client.iter_orders(page_size=size)]
    with pytest.raises(ValidationError, match="size="):
        await fake_client.list_orders(size=size)
    assert fake_transport.requests == []
