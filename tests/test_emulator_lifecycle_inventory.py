"""What the account owns, over raw HTTP: in-service numbers (filters in both spellings, paging
by the escaped links, 204), totals, one number, ``/tns/{tn}`` in every status, an order's
numbers, and aging that ends."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import urllib.parse
from collections.abc import AsyncIterator

import pytest

from bwnumbers.testing import BandwidthEmulator
from tests.lifecycle_http import Answer, Api, api_for

VA = ("5405514342", "5405515330", "5405515329", "5402278098", "5402278090")  # guide numbers
NC = ("9194390001", "9194390002")
NUMBERS = "TelephoneNumbers/TelephoneNumber"


@pytest.fixture
async def api(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[Api]:
    bandwidth_emulator.add_numbers(NC)
    async with api_for(bandwidth_emulator) as raw:
        yield raw


async def in_service(api: Api, query: str = "") -> Answer:
    return await api.call("GET", f"/inserviceNumbers{query}")


def link_query(api: Api, answer: Answer, rel: str) -> dict[str, str] | None:
    """The query of the *rel* link, checked to be on the emulator's own list URL."""
    link = answer.text(f"Links/{rel}")
    if link is None:
        return None
    found = re.fullmatch(rf'Link=<(.*)>;rel="{rel}";', link)
    assert found is not None, link
    url = urllib.parse.urlsplit(found.group(1))
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{api.account}/inserviceNumbers"
    return dict(urllib.parse.parse_qsl(url.query))


async def test_in_service_numbers_page_by_their_links(api: Api) -> None:
    """Size 2 over 5 numbers: 3 pages by the next links, each escaped in the body, with the
    filter kept; TotalCount the total, Count the page's."""
    await api.order(*VA, *NC)
    query: dict[str, str] = {"areacode": "540", "size": "2"}
    pages: list[list[str]] = []
    while True:
        answer = await in_service(api, "?" + urllib.parse.urlencode(query))
        assert (answer.status, answer.root) == (200, "TNs")
        assert answer.texts("TotalCount") == ["5"]
        pages.append(answer.texts(NUMBERS))
        assert answer.texts("TelephoneNumbers/Count") == [str(len(pages[-1]))]
        assert b"Link=&lt;http" in answer.body
        assert b"&amp;" in answer.body
        assert link_query(api, answer, "first") == {"areacode": "540", "page": "1", "size": "2"}
        following = link_query(api, answer, "next")
        if following is None:
            break
        assert following["areacode"] == "540"
        query = following
    assert pages == [sorted(VA)[:2], sorted(VA)[2:4], sorted(VA)[4:]]
    assert (await in_service(api, "?areacode=540&size=2&page=4")).status == 204


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", (*VA, *NC)),
        ("?areacode=919", NC),
        ("?areaCode=919", NC),
        ("?npanxx=540227", VA[3:]),
        ("?npaNxx=540227", VA[3:]),
        ("?npaNxxx=5405515", VA[1:3]),
        ("?state=NC", NC),
        ("?state=va&ratecenter=washington", VA),
        ("?state=VA&rateCenter=WASHINGTON", VA),
        ("?lata=426", NC),
        ("?city=raleigh", NC),
        ("?state=TX", ()),
    ],
)
async def test_filters_in_both_spellings(api: Api, query: str, expected: tuple[str, ...]) -> None:
    await api.order(*VA, *NC)
    answer = await in_service(api, query)
    if not expected:
        assert (answer.status, answer.body) == (204, b"")
    else:
        assert sorted(answer.texts(NUMBERS)) == sorted(expected)


async def test_date_filters_and_bad_parameters(api: Api) -> None:
    await api.order(*NC)
    today = dt.datetime.now(dt.UTC).date()
    day = dt.timedelta(days=1)
    assert len((await in_service(api, f"?startdate={today:%y-%m-%d}")).texts(NUMBERS)) == 2
    assert (await in_service(api, f"?enddate={(today - day):%y-%m-%d}")).status == 204
    for bad in ("?page=0", "?size=x", "?areacode=54", "?ratecenter=RALEIGH", "?startdate=1/2/3"):
        assert (await in_service(api, bad)).status == 404, bad


async def test_totals_and_one_number(api: Api) -> None:
    assert (await in_service(api)).status == 204
    await api.order(*NC)
    totals = await in_service(api, "/totals")
    assert (totals.root, totals.texts("Count")) == ("Quantity", ["2"])
    one = await in_service(api, f"/{NC[0]}")
    assert (one.status, one.body) == (200, b"")
    assert (await in_service(api, f"/{VA[0]}")).status == 404


async def test_an_orders_numbers(api: Api) -> None:
    order_id = await api.order(*NC)
    answer = await api.call("GET", f"/orders/{order_id}/tns")
    assert (answer.root, answer.texts("Count"), answer.texts("TelephoneNumber")) == (
        "TelephoneNumbers",
        ["2"],
        list(NC),
    )
    assert (await api.call("GET", "/orders/no-such-order/tns")).status == 404


async def details(api: Api, number: str) -> Answer:
    answer = await api.call("GET", f"/tns/{number}")
    assert answer.root == "TelephoneNumberResponse"
    return answer


async def test_number_details_in_every_status(
    api: Api, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Available, Reserved, Inservice (the SPEC's fields), Aging; 15610 for others' numbers."""
    available = await details(api, VA[0])
    assert available.texts("Status") == ["Available"]
    assert available.texts("AccountId") == []
    await api.reserve(VA[0])
    reserved = await details(api, VA[0])
    assert (reserved.texts("Status"), reserved.texts("AccountId")) == (
        ["Reserved"],
        [bandwidth_emulator.account_id],
    )
    order_id = await api.order(VA[1])
    owned = await details(api, VA[1])
    assert owned.texts("TelephoneNumber") == [VA[1]]
    assert owned.texts("Status") == ["Inservice"]
    assert owned.texts("OrderId") == [order_id]
    assert owned.texts("OrderType") == ["NEW_NUMBER_ORDER"]
    assert owned.texts("SiteId") == ["743"]
    assert owned.texts("AccountId") == [bandwidth_emulator.account_id]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d", owned.text("LastModifiedDate") or "")
    assert owned.text("InServiceDate")
    assert owned.text("OrderCreateDate")
    disconnect_id = await api.disconnect(VA[1])
    aging = await details(api, VA[1])
    assert (aging.texts("Status"), aging.texts("OrderId")) == (["Aging"], [disconnect_id])
    bandwidth_emulator.take(VA[2])
    for number in (VA[2], "2025550100"):
        gone = await details(api, number)
        assert gone.status == 404
        assert gone.texts("ErrorList/Error/Code") == ["15610"]
        assert gone.texts("ErrorList/Error/TelephoneNumbers/TelephoneNumber") == [number]
    bad = await details(api, "12345")
    assert (bad.status, bad.texts("ResponseStatus/ErrorCode")) == (400, ["12512"])


async def test_aging_numbers_are_the_owners_then_everyones() -> None:
    """While aging only this account can order the number (by number; searches do not show
    it); after aging_period it is Available, searchable and back in stock."""
    async with BandwidthEmulator(aging_period=0.1) as emulator, api_for(emulator) as api:
        await api.order(*VA[:2])
        await api.disconnect(*VA[:2])
        assert emulator.number_status(VA[0]) == "Aging"
        search = "/availableNumbers?npaNxx=540551&quantity=100"
        assert VA[0] not in (await api.call("GET", search)).texts(
            "TelephoneNumberList/TelephoneNumber"
        )
        await api.order(VA[0])  # the owner orders it back while it ages
        assert emulator.number_status(VA[0]) == "Inservice"
        await asyncio.sleep(0.15)
        assert emulator.number_status(VA[1]) == "Available"
        assert VA[1] in (await api.call("GET", search)).texts("TelephoneNumberList/TelephoneNumber")
        assert emulator.take(VA[1]) is True  # anyone's now


async def test_a_backorder_filled_later_leaves_disconnected_numbers_aging() -> None:
    """Only the numbers a step adds go into service: one disconnected while the order waited
    for more stays aging when the order completes."""
    body = (
        "<Order><Name>backorder</Name><AreaCodeSearchAndOrderType><AreaCode>512</AreaCode>"
        "<Quantity>3</Quantity></AreaCodeSearchAndOrderType><PartialAllowed>true"
        "</PartialAllowed><BackOrderRequested>true</BackOrderRequested><SiteId>743</SiteId>"
        "</Order>"
    )
    async with BandwidthEmulator(inventory_size=2) as emulator, api_for(emulator) as api:
        created = await api.call("POST", "/orders", body)
        order_id = created.headers["Location"].rsplit("/", 1)[1]
        await emulator.settle()
        assert emulator.order_status(order_id) == "BACKORDERED"
        first, second = (await api.call("GET", f"/orders/{order_id}/tns")).texts("TelephoneNumber")
        await api.disconnect(first)
        emulator.add_numbers(["5125550001"])
        await emulator.settle()
        assert emulator.order_status(order_id) == "COMPLETE"
        assert [emulator.number_status(n) for n in (first, second, "5125550001")] == [
            "Aging",
            "Inservice",
            "Inservice",
        ]
