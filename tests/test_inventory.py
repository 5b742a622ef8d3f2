"""What the account owns, through the transport seam: reference/lifecycle.md §3 and §5.

In-service paging follows only each ``<next>`` link's page and size, asked of the configured
base URL with the same filters (links name foreign hosts, XML-escaped); 204 and a 404 that is
only ``<Links>`` are empty; one number reads like many; a page seen twice stops the listing.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bwnumbers import (
    BadRequestError,
    DecodeError,
    NotFoundError,
    NumberInfo,
    NumbersClient,
    NumberStatus,
    ValidationError,
)
from bwnumbers._transport import Request, Response
from tests.conftest import BASE, ROOT
from tests.fake_transport import FakeTransport

PATH = "/inserviceNumbers"


def page(numbers: list[str], *, next_page: str | None, total: int = 5, host: str = "") -> bytes:
    """A ``<TNs>`` page; its links name a foreign host, XML-escaped, as Bandwidth's do."""
    host = host or "https://api.test.inetwork.com:443/v1.0/accounts/9500249"
    first = f'Link=&lt;{host}/inserviceNumbers?size=2&amp;page=1&gt;;rel="first";'
    links = f"<first>{first}</first>"
    if next_page is not None:
        links += (
            f"<next>Link=&lt;{host}/inserviceNumbers?areacode=999&amp;size=2&amp;"
            f'page={next_page}&gt;;rel="next";</next>'
        )
    listed = "".join(f"<TelephoneNumber>{n}</TelephoneNumber>" for n in numbers)
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><TNs>'
        f"<TotalCount>{total}</TotalCount><Links>{links}</Links>"
        f"<TelephoneNumbers><Count>{len(numbers)}</Count>{listed}</TelephoneNumbers></TNs>"
    ).encode()


async def collect(client: NumbersClient, **filters: object) -> list[str]:
    return [n async for n in client.list_in_service_numbers(**filters)]  # type: ignore[arg-type]


# ---------------------------------------------------------------- paging


async def test_three_pages_of_two_follow_next_at_the_configured_base_url_with_the_filters(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get(PATH, body=page(["5402270001", "5402270002"], next_page="3"))
    fake_transport.get(PATH, body=page(["5402270003", "5402270004"], next_page="5"))
    fake_transport.get(PATH, body=page(["5402270005"], next_page=None))
    numbers = await collect(fake_client, area_code="540", state="va", page_size=2)
    assert numbers == [f"540227000{i}" for i in range(1, 6)]
    requests = fake_transport.calls("GET", PATH)
    # Never the link's host, never its filters (areacode=999): ours, on every page.
    assert {r.url for r in requests} == {f"{ROOT}{PATH}"}
    assert [dict(r.params or {}) for r in requests] == [
        {"areacode": "540", "state": "VA", "page": p, "size": "2"} for p in ("1", "3", "5")
    ]


async def test_a_single_number_reads_like_many(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get(PATH, body=page(["8043024183"], next_page=None, total=1))
    assert await collect(fake_client) == ["8043024183"]
    (request,) = fake_transport.requests
    assert request.params == {"page": "1", "size": "300"}


async def test_a_link_without_a_next_page_ends_the_list(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """NODE and PY fixtures: empty <first></first><next></next>."""
    fake_transport.get(
        PATH,
        body=b"<TNs><TotalCount>1</TotalCount><Links><first></first><next></next></Links>"
        b"<TelephoneNumbers><Count>1</Count><TelephoneNumber>8043024183</TelephoneNumber>"
        b"</TelephoneNumbers></TNs>",
    )
    assert await collect(fake_client) == ["8043024183"]


async def test_204_is_an_empty_list(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get(PATH, status=204)
    assert await collect(fake_client, npa_nxx="540227") == []
    assert len(fake_transport.requests) == 1


async def test_a_404_that_is_only_links_is_an_empty_list(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get(
        PATH, status=404, body=b"<Links><first>   Link description  </first></Links>"
    )
    assert await collect(fake_client) == []


async def test_a_404_with_an_error_is_raised(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get(
        PATH,
        status=404,
        body=b"<TNs><ResponseStatus><Description>Account not found</Description>"
        b"</ResponseStatus></TNs>",
    )
    with pytest.raises(NotFoundError, match="Account not found"):
        await collect(fake_client)


@pytest.mark.parametrize("back_to", ["1", "2"], ids=["to the first page", "to itself"])
async def test_a_server_that_repeats_a_page_stops_the_listing(
    fake_transport: FakeTransport, fake_client: NumbersClient, back_to: str
) -> None:
    """A cursor seen before is a typed error after the numbers read so far, never a loop."""
    fake_transport.get(PATH, body=page(["5402270001", "5402270002"], next_page="2"))
    fake_transport.get(PATH, body=page(["5402270003", "5402270004"], next_page=back_to))
    listing = fake_client.list_in_service_numbers(page_size=2)
    seen = [await anext(listing) for _ in range(4)]
    with pytest.raises(DecodeError, match=f"page '{back_to}'"):
        await anext(listing)
    assert seen == ["5402270001", "5402270002", "5402270003", "5402270004"]
    assert len(fake_transport.requests) == 2


async def test_the_size_of_the_link_is_kept(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A server that pages by another size than asked is followed at its size."""

    def answer(request: Request) -> Response:
        if (request.params or {}).get("page") == "1":
            return Response(200, {}, page(["5402270001"], next_page="2"))
        return Response(200, {}, page(["5402270002"], next_page=None))

    fake_transport.get(PATH, answer=answer, repeat=True)
    assert await collect(fake_client, page_size=7) == ["5402270001", "5402270002"]
    assert [dict(r.params or {})["size"] for r in fake_transport.requests] == ["7", "2"]


# ---------------------------------------------------------------- filters


async def test_every_filter_goes_by_the_specs_name(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get(PATH, status=204)
    await collect(
        fake_client,
        area_code="540",
        npa_nxx="540227",
        lata="252",
        state="VA",
        rate_center="BLACKSBURG",
        start_date=dt.date(2024, 1, 31),
        end_date="2024-02-29",
    )
    assert fake_transport.requests[0].params == {
        "areacode": "540",
        "npanxx": "540227",
        "lata": "252",
        "state": "VA",
        "ratecenter": "BLACKSBURG",
        "startdate": "2024-01-31",
        "enddate": "2024-02-29",
        "page": "1",
        "size": "300",
    }


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ({"rate_center": "BLACKSBURG"}, "needs state="),
        ({"area_code": "54"}, "area_code="),
        ({"npa_nxx": "540"}, "npa_nxx="),
        ({"state": "Virginia"}, "state="),
        ({"start_date": ""}, "start_date="),
        ({"page_size": 0}, "page_size="),
    ],
)
async def test_bad_filters_are_refused_before_sending(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    filters: dict[str, object],
    words: str,
) -> None:
    with pytest.raises(ValidationError, match=words):
        await collect(fake_client, **filters)
    assert fake_transport.requests == []


# ---------------------------------------------------------------- /tns/{tn}

SPEC_TN = (
    b"<TelephoneNumberResponse><TelephoneNumber>2012035013</TelephoneNumber>"
    b"<Status>Inservice</Status><LastModifiedDate>2014-03-25 12:55:11.0</LastModifiedDate>"
    b"<OrderCreateDate>2014-03-25T12:55:11.810Z</OrderCreateDate>"
    b"<OrderId>cf79d3c3-21b7-4db7-9867-273a1867f934</OrderId>"
    b"<OrderType>NEW_NUMBER_ORDER</OrderType>"
    b"<InServiceDate>2014-03-25T12:55:11.810Z</InServiceDate>"
    b"<SiteId>2409</SiteId><AccountId>8000273</AccountId></TelephoneNumberResponse>"
)


async def test_get_number_asks_outside_the_account_and_reads_the_spec_sample(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get("/tns/2012035013", body=SPEC_TN)
    info = await fake_client.get_number("+1 201 203 5013")
    (request,) = fake_transport.requests
    assert request.url == f"{BASE}/tns/2012035013"
    at = dt.datetime(2014, 3, 25, 12, 55, 11, 810000, tzinfo=dt.UTC)
    assert info == NumberInfo(
        number="2012035013",
        status=NumberStatus.INSERVICE,
        site_id="2409",
        account_id="8000273",
        order_id="cf79d3c3-21b7-4db7-9867-273a1867f934",
        order_type="NEW_NUMBER_ORDER",
        order_created_at=at,
        in_service_at=at,
        # The SPEC's non-ISO "2014-03-25 12:55:11.0", taken as UTC.
        last_modified=dt.datetime(2014, 3, 25, 12, 55, 11, tzinfo=dt.UTC),
    )


async def test_account_paths_still_go_under_the_account(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get("/orders/o1/tns", body=b"<TelephoneNumbers/>")
    await fake_client.get_order_numbers("o1")
    assert fake_transport.requests[0].url == f"{ROOT}/orders/o1/tns"


@pytest.mark.parametrize(
    ("text", "status", "known"),
    [
        ("Reserved", NumberStatus.RESERVED, True),
        ("INSERVICE", NumberStatus.INSERVICE, True),
        ("PortInPendingFoc", NumberStatus.PORT_IN_PENDING_FOC, True),
        ("Disconnected", "Disconnected", False),
    ],
)
async def test_number_statuses_known_and_unknown(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    text: str,
    status: str,
    known: bool,
) -> None:
    body = f"<TelephoneNumberResponse><Status>{text}</Status></TelephoneNumberResponse>"
    fake_transport.get("/tns/2012035013", body=body.encode())
    info = await fake_client.get_number("2012035013")
    assert info.number == "2012035013"
    assert info.status == status
    assert isinstance(info.status, NumberStatus)
    assert info.status.is_known is known


async def test_get_number_reads_the_tndetails_shape(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get(
        "/tns/2018981023",
        body=b"<TelephoneNumberResponse><TelephoneNumberDetails>"
        b"<FullNumber>2018981023</FullNumber><Status>Inservice</Status><AccountId>14</AccountId>"
        b"<Site><Id>479</Id><Name>site_9b08f</Name></Site>"
        b"<LastModified>2014-07-30T11:29:37.000Z</LastModified>"
        b"</TelephoneNumberDetails></TelephoneNumberResponse>",
    )
    info = await fake_client.get_number("2018981023")
    assert (info.site_id, info.account_id, info.status) == ("479", "14", NumberStatus.INSERVICE)
    assert info.last_modified == dt.datetime(2014, 7, 30, 11, 29, 37, tzinfo=dt.UTC)


async def test_get_number_error(fake_transport: FakeTransport, fake_client: NumbersClient) -> None:
    fake_transport.get(
        "/tns/2012035013",
        status=400,
        body=b"<TelephoneNumberResponse><ResponseStatus><ErrorCode>12512</ErrorCode>"
        b"<Description>Telephone number '2012035013' is not valid</Description>"
        b"</ResponseStatus></TelephoneNumberResponse>",
    )
    with pytest.raises(BadRequestError) as info:
        await fake_client.get_number("2012035013")
    assert info.value.code == 12512
    assert info.value.path == "/tns/2012035013"


# ---------------------------------------------------------------- /orders/{id}/tns


@pytest.mark.parametrize(
    ("body", "numbers"),
    [
        (
            b"<TelephoneNumbers><Count>1</Count><TelephoneNumber>8042105666</TelephoneNumber>"
            b"</TelephoneNumbers>",
            ("8042105666",),
        ),
        (
            b"<TelephoneNumbers><Count>2</Count><TelephoneNumber>8042105666</TelephoneNumber>"
            b"<TelephoneNumber>8042105618</TelephoneNumber></TelephoneNumbers>",
            ("8042105666", "8042105618"),
        ),
        (b"", ()),
    ],
    ids=["SPEC: one", "NODE, RB: two", "empty"],
)
async def test_get_order_numbers(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    body: bytes,
    numbers: tuple[str, ...],
) -> None:
    fake_transport.get("/orders/o%2F1/tns", body=body)
    assert await fake_client.get_order_numbers("o/1") == numbers


async def test_stopping_early_sends_no_more_requests(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A caller that has what it needs breaks out: the next page is never asked for."""
    fake_transport.get(PATH, body=page(["5402270001", "5402270002"], next_page="3"))
    async for number in fake_client.list_in_service_numbers(page_size=2):
        assert number == "5402270001"
        break
    assert len(fake_transport.requests) == 1
