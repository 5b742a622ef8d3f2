"""NumbersClient's disconnect methods, through the transport seam (tests/fake_transport.py).

POST /disconnects is sent once: retried only when provably not executed, and after an
ambiguous failure reconciled by reading the recent disconnects for one of the same numbers.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import xmltodict

from bwnumbers import (
    AmbiguousOrderError,
    BadRequestError,
    DecodeError,
    DisconnectMode,
    DisconnectRequest,
    NotFoundError,
    NumbersClient,
    OrderStatus,
    ServerError,
    TransportError,
    ValidationError,
)
from bwnumbers._disconnects import CLOCK_SKEW_MARGIN
from tests.conftest import BASE, ROOT, sample
from tests.fake_transport import FakeTransport

NUMBERS = ("5405514342", "7034343704")
CREATED_ID = "df2gc2e2-653d-466c-945d-8f292f09ce55"
CREATED = {"Location": f"{ROOT}/disconnects/{CREATED_ID}"}
DETAILS_PATH = re.compile(r"/disconnects/[^/]+")


def hyphenated(moment: dt.datetime) -> str:
    """*moment* written as Bandwidth's samples write times: 2022-05-25T14-12-57.840Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H-%M-%S.000Z")


def row(
    disconnect_id: str,
    *,
    at: dt.datetime | None = None,
    numbers: tuple[str, ...] = (),
    count: int | None = None,
) -> str:
    """One OrderIdUserIdDate row of GET /disconnects (no customer order id, as Bandwidth's)."""
    at = at or dt.datetime.now(dt.UTC)
    details = "".join(f"<TelephoneNumber>{n}</TelephoneNumber>" for n in numbers)
    count_text = "" if count is None else f"<CountOfTNs>{count}</CountOfTNs>"
    return (
        f"<OrderIdUserIdDate>{count_text}<userId>me</userId><OrderId>{disconnect_id}</OrderId>"
        f"<OrderType>disconnect</OrderType><OrderDate>{hyphenated(at)}</OrderDate>"
        "<OrderStatus>RECEIVED</OrderStatus>"
        f"<TelephoneNumberDetails><TelephoneNumbers>{details}</TelephoneNumbers>"
        "</TelephoneNumberDetails></OrderIdUserIdDate>"
    )


def listing(
    *rows: str, next_page: str | None = None, host: str = "dashboard.bandwidth.com"
) -> bytes:
    links = ""
    if next_page is not None:
        links = (
            f"<next>Link=&lt;https://{host}:443/v1.0/accounts/9500012/disconnects?"
            f'page={next_page}&amp;size=2&gt;;rel="next";</next>'
        )
    return (
        "<ResponseSelectWrapper><ListOrderIdUserIdDate><TotalCount>9</TotalCount>"
        f"<Links>{links}</Links>{''.join(rows)}</ListOrderIdUserIdDate></ResponseSelectWrapper>"
    ).encode()


def details(
    disconnect_id: str,
    numbers: tuple[str, ...] = NUMBERS,
    *,
    customer_order_id: str | None = None,
    status: str = "RECEIVED",
) -> bytes:
    coid = (
        ""
        if customer_order_id is None
        else f"<CustomerOrderId>{customer_order_id}</CustomerOrderId>"
    )
    listed = "".join(f"<TelephoneNumber>{n}</TelephoneNumber>" for n in numbers)
    return (
        f"<DisconnectTelephoneNumberOrderResponse><orderRequest>{coid}"
        f"<OrderCreateDate>{hyphenated(dt.datetime.now(dt.UTC))}</OrderCreateDate>"
        f"<id>{disconnect_id}</id><DisconnectTelephoneNumberOrderType><TelephoneNumberList>"
        f"{listed}</TelephoneNumberList></DisconnectTelephoneNumberOrderType></orderRequest>"
        f"<OrderStatus>{status}</OrderStatus></DisconnectTelephoneNumberOrderResponse>"
    ).encode()


# ---------------------------------------------------------------- POST


@pytest.mark.parametrize("status", [200, 201])
async def test_disconnect_numbers_posts_the_specification_body(
    fake_transport: FakeTransport, fake_client: NumbersClient, status: int
) -> None:
    """One POST /disconnects with the SPEC body; 200 and 201 both answer with the disconnect."""
    fake_transport.post(
        "/disconnects", status=status, body=sample("disconnect_created.xml"), headers=CREATED
    )
    order = await fake_client.disconnect_numbers(
        ["+1 540 551 4342", "7034343704"],
        customer_order_id="My OrderId",
        disconnect_mode=DisconnectMode.PURGE,
    )
    assert order.id == CREATED_ID
    assert order.status is OrderStatus.RECEIVED
    assert order.customer_order_id == "My OrderId"  # sent, not echoed by the DOCS sample
    assert order.numbers == NUMBERS
    (post,) = fake_transport.calls("POST")
    assert post.url == f"{ROOT}/disconnects"
    assert post.body is not None
    sent = xmltodict.parse(post.body)["DisconnectTelephoneNumberOrder"]
    assert sent["CustomerOrderId"] == "My OrderId"
    assert "Name" not in sent
    assert sent["DisconnectTelephoneNumberOrderType"] == {
        "TelephoneNumberList": {"TelephoneNumber": list(NUMBERS)},
        "DisconnectMode": "PURGE",
    }
    assert "DISCONNECT" in {s.group for s in fake_client.rate_limits}


async def test_answer_without_status_and_with_a_hyphenated_date(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """The SPEC answer has no OrderStatus and a hyphenated time: read, raw text kept."""
    fake_transport.post("/disconnects", status=201, body=sample("disconnect_created_spec.xml"))
    order = await fake_client.disconnect_numbers(["5405514342"], name="legacy name")
    assert order.id == "e4c4a1d6-0b1c-4f53-9d56-56b6bfd1b31c"
    assert order.status is None
    assert order.created_at_raw == "2022-05-25T14-12-57.840Z"
    assert order.created_at == dt.datetime(2022, 5, 25, 14, 12, 57, 840000, tzinfo=dt.UTC)
    assert order.name == "legacy name"
    (post,) = fake_transport.calls("POST")
    assert post.body is not None
    assert b"<Name>legacy name</Name>" in post.body


@pytest.mark.parametrize("body", [b"", b"<DisconnectTelephoneNumberOrderResponse><orderReq"])
async def test_an_unreadable_answer_with_a_location_keeps_its_id(
    fake_transport: FakeTransport, fake_client: NumbersClient, body: bytes
) -> None:
    """A 2xx whose body is empty or unreadable still names the disconnect in Location."""
    fake_transport.post("/disconnects", status=201, body=body, headers=CREATED)
    order = await fake_client.disconnect_numbers(list(NUMBERS), customer_order_id="c-1")
    assert (order.id, order.customer_order_id, order.numbers) == (CREATED_ID, "c-1", NUMBERS)
    assert len(fake_transport.requests) == 1  # no lookup needed


async def test_bad_arguments_send_nothing(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Invalid numbers, ids or modes are refused before any request."""
    with pytest.raises(ValidationError):
        await fake_client.disconnect_numbers(["5405514342"], customer_order_id="no_underscores")
    with pytest.raises(ValidationError):
        await fake_client.disconnect_numbers([])
    with pytest.raises(ValidationError, match="DisconnectRequest"):
        await fake_client.place_disconnect(object())  # type: ignore[arg-type]
    assert fake_transport.requests == []


async def test_a_refused_disconnect_raises_bad_request(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Bandwidth's 400 with an ErrorList is a BadRequestError with its code; never re-sent."""
    fake_transport.post(
        "/disconnects",
        status=400,
        body=b"<DisconnectTelephoneNumberOrderResponse><ErrorList><Error><Code>5108</Code>"
        b"<Description>Protected value is invalid</Description></Error></ErrorList>"
        b"</DisconnectTelephoneNumberOrderResponse>",
    )
    with pytest.raises(BadRequestError) as info:
        await fake_client.disconnect_numbers(["5405514342"])
    assert info.value.code == 5108
    assert len(fake_transport.requests) == 1


async def test_a_disconnect_refused_unexecuted_is_sent_again(
    fake_transport: FakeTransport, fake_client: NumbersClient, sleeps: list[float]
) -> None:
    """A 429 and a connection refused before sending prove nothing ran: the same body again."""
    fake_transport.post("/disconnects", status=429, headers={"X-RateLimit-Reset": "0.01"})
    fake_transport.post(
        "/disconnects",
        exception=TransportError("refused", method="POST", path="/disconnects", request_sent=False),
    )
    fake_transport.post("/disconnects", status=201, body=sample("disconnect_created.xml"))
    order = await fake_client.disconnect_numbers(list(NUMBERS))
    assert order.id == CREATED_ID
    bodies = {r.body for r in fake_transport.calls("POST")}
    assert len(fake_transport.calls("POST")) == 3
    assert len(bodies) == 1
    assert [s.refusals for s in fake_client.rate_limits if s.group == "DISCONNECT"] == [1]


# ---------------------------------------------------------------- ambiguous POST


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 503, "body": b"<html>upstream</html>"},
        {"exception": TransportError("reset", method="POST", path="/disconnects")},
        {"status": 201, "body": b"<DisconnectTelephoneNumberOrderResponse><orderRequest><id>tr"},
    ],
)
async def test_an_ambiguous_post_is_reconciled_to_the_one_disconnect(
    fake_transport: FakeTransport, fake_client: NumbersClient, failure: dict[str, object]
) -> None:
    """After an ambiguous failure the disconnect of the same numbers is adopted, never re-sent."""
    request = DisconnectRequest.build(list(NUMBERS), customer_order_id="c-42")
    fake_transport.post("/disconnects", **failure)
    fake_transport.get(
        "/disconnects",
        body=listing(
            row("other-numbers", numbers=("5405514342",)),
            row("too-old", at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), numbers=NUMBERS),
            row("the-one", numbers=(NUMBERS[1], NUMBERS[0])),
        ),
    )
    fake_transport.get("/disconnects/the-one", body=details("the-one", customer_order_id="c-42"))
    started = dt.datetime.now(dt.UTC)
    order = await fake_client.place_disconnect(request)
    assert (order.id, order.customer_order_id, order.status) == (
        "the-one", "c-42", OrderStatus.RECEIVED,
    )  # fmt: skip
    assert len(fake_transport.calls("POST")) == 1
    assert [r.path for r in fake_transport.calls("GET")] == [
        "/disconnects",
        "/disconnects/the-one",
    ]
    params = fake_transport.calls("GET", "/disconnects")[0].params
    assert params is not None
    earliest = (started - CLOCK_SKEW_MARGIN - dt.timedelta(days=1)).date()
    assert params["startdate"] == earliest.isoformat()
    assert params["enddate"] >= dt.datetime.now(dt.UTC).date().isoformat()


async def test_a_row_without_numbers_is_read_in_detail(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Rows naming no numbers are checked with GET /disconnects/{id}; another coid never matches."""
    request = DisconnectRequest.build(list(NUMBERS), customer_order_id="mine")
    fake_transport.post("/disconnects", status=502)
    fake_transport.get(
        "/disconnects",
        body=listing(row("wrong-count", count=1), row("theirs"), row("mine-1", count=2)),
    )
    fake_transport.get("/disconnects/theirs", body=details("theirs", customer_order_id="theirs"))
    fake_transport.get("/disconnects/mine-1", body=details("mine-1", customer_order_id="mine"))
    order = await fake_client.place_disconnect(request)
    assert order.id == "mine-1"
    assert [r.path for r in fake_transport.calls("GET")] == [
        "/disconnects",
        "/disconnects/theirs",
        "/disconnects/mine-1",
    ]


async def test_an_ambiguous_post_not_found_raises(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Nothing found: AmbiguousOrderError saying it may or may not exist and how to check."""
    fake_transport.post("/disconnects", status=500)
    fake_transport.get("/disconnects", status=204)
    with pytest.raises(AmbiguousOrderError) as info:
        await fake_client.disconnect_numbers(list(NUMBERS), customer_order_id="c-7")
    message = str(info.value)
    assert "may or may not exist" in message
    assert "client.list_disconnects()" in message
    assert "5405514342" in message
    assert info.value.customer_order_id == "c-7"
    assert isinstance(info.value.__cause__, ServerError)
    assert len(fake_transport.calls("POST")) == 1


async def test_several_matching_disconnects_are_ambiguous(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Two recent disconnects of the same numbers: which one was ours cannot be told."""
    fake_transport.post("/disconnects", status=500)
    fake_transport.get(
        "/disconnects", body=listing(row("d-1", numbers=NUMBERS), row("d-2", numbers=NUMBERS))
    )
    fake_transport.get("/disconnects/d-1", body=details("d-1"))
    fake_transport.get("/disconnects/d-2", body=details("d-2"))
    with pytest.raises(AmbiguousOrderError, match=r"2 recent disconnects .*\(d-1, d-2\)"):
        await fake_client.disconnect_numbers(list(NUMBERS))
    assert len(fake_transport.calls("POST")) == 1


async def test_a_failing_lookup_raises_ambiguous(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """If reading the list fails too: AmbiguousOrderError, and still exactly one POST."""
    fake_transport.post("/disconnects", status=502)
    fake_transport.get("/disconnects", status=500, repeat=True)
    with pytest.raises(AmbiguousOrderError, match=r"failed too.*may or may not exist"):
        await fake_client.disconnect_numbers(list(NUMBERS))
    assert len(fake_transport.calls("POST")) == 1


async def test_find_disconnect_reads_at_most_limit_rows(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """The lookup is bounded: *limit* rows, then it stops without reading another page."""
    request = DisconnectRequest.build(list(NUMBERS))
    fake_transport.get(
        "/disconnects",
        body=listing(row("a", numbers=("5405514342",)), row("b", count=5), next_page="p2"),
    )
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert await fake_client.find_disconnect(request, since=since, limit=2) is None
    (listed,) = fake_transport.requests
    assert listed.params is not None
    assert listed.params["size"] == "2"
    with pytest.raises(ValidationError, match="timezone-aware"):
        await fake_client.find_disconnect(request, since=dt.datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="limit"):
        await fake_client.find_disconnect(request, since=since, limit=0)


# ---------------------------------------------------------------- GET one


@pytest.mark.parametrize(
    ("name", "status", "disconnected", "failed"),
    [
        ("disconnect_complete.xml", OrderStatus.COMPLETE, NUMBERS, ()),
        ("disconnect_failed.xml", OrderStatus.FAILED, (), ("9192755378", "9192755703")),
        ("disconnect_partial.xml", OrderStatus.PARTIAL, ("5405514342",), ("7034343704",)),
    ],
)
async def test_get_disconnect(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    name: str,
    status: OrderStatus,
    disconnected: tuple[str, ...],
    failed: tuple[str, ...],
) -> None:
    """GET /disconnects/{id} (no query) gives the status, both lists and per-number errors."""
    fake_transport.get("/disconnects/d%201", body=sample(name))
    found = await fake_client.get_disconnect("d 1")
    assert (found.status, found.disconnected_numbers, found.failed_numbers) == (
        status, disconnected, failed,
    )  # fmt: skip
    assert all(error.number in failed for error in found.errors)
    (request,) = fake_transport.requests
    assert request.url == f"{ROOT}/disconnects/d%201"
    assert not request.params


async def test_get_unknown_disconnect_raises_not_found(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A 404 for one disconnect is a NotFoundError naming it."""
    fake_transport.get(DETAILS_PATH, status=404, body=sample("not_found.xml"))
    with pytest.raises(NotFoundError):
        await fake_client.get_disconnect("gone")


# ---------------------------------------------------------------- list


async def test_list_follows_three_pages_on_foreign_hosts_with_the_filters(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Pages of 2 are followed on the configured base URL, filters on every page."""
    fake_transport.get(
        "/disconnects",
        body=listing(row("1"), row("2"), next_page="3", host="api.test.inetwork.com"),
    )
    fake_transport.get(
        "/disconnects", body=listing(row("3"), row("4"), next_page="5", host="localhost:8080")
    )
    fake_transport.get("/disconnects", body=listing(row("5")))
    found = [
        r.id
        async for r in fake_client.list_disconnects(
            status=OrderStatus.COMPLETE,
            start_date=dt.date(2026, 1, 2),
            end_date="2026-02-03",
            page_size=2,
        )
    ]
    assert found == ["1", "2", "3", "4", "5"]
    filters = {"status": "complete", "startdate": "2026-01-02", "enddate": "2026-02-03"}
    assert [r.params for r in fake_transport.requests] == [
        {**filters, "size": "2"},
        {**filters, "page": "3", "size": "2"},
        {**filters, "page": "5", "size": "2"},
    ]
    assert all(r.url == f"{BASE}/accounts/9900000/disconnects" for r in fake_transport.requests)


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 204},
        {"status": 200, "body": b""},
        {"status": 404, "body": b"<Links><first>   Link description  </first></Links>"},
    ],
)
async def test_an_empty_list(
    fake_transport: FakeTransport, fake_client: NumbersClient, answer: dict[str, object]
) -> None:
    """204, an empty 200 and the SPEC's 404 with a bare <Links> all mean no disconnects."""
    fake_transport.get("/disconnects", **answer)
    assert [r async for r in fake_client.list_disconnects()] == []


async def test_another_404_of_the_list_raises(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A 404 that is not the bare <Links> (a wrong account, say) is not an empty list."""
    fake_transport.get("/disconnects", status=404, body=sample("not_found.xml"))
    with pytest.raises(NotFoundError):
        [r async for r in fake_client.list_disconnects()]


async def test_paging_that_loops_raises(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Links leading back to a page already read stop with DecodeError, not forever."""
    for _ in range(3):  # finite, so that a missing guard fails the test rather than hangs it
        fake_transport.get("/disconnects", body=listing(row("1"), next_page="p"))
    with pytest.raises(DecodeError, match="already read"):
        [r async for r in fake_client.list_disconnects()]
    assert len(fake_transport.requests) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_date": "2026-01-01"}, "both start_date= and end_date="),
        ({"end_date": dt.date(2026, 1, 1)}, "both start_date= and end_date="),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 5001}, "5000"),
        ({"start_date": 20260101, "end_date": 20260102}, "datetime.date"),
    ],
)
async def test_list_refuses_bad_filters(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    kwargs: dict[str, object],
    message: str,
) -> None:
    """Half a date range, or a page size Bandwidth refuses, fails before any request."""
    with pytest.raises(ValidationError, match=message):
        [r async for r in fake_client.list_disconnects(**kwargs)]  # type: ignore[arg-type]
    assert fake_transport.requests == []
