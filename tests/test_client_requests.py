"""NumbersClient's request building and response handling, through the transport seam.

Each test hands the client canned Responses (tests/fake_transport.py) and looks at the
Requests it built; nothing patches aiohttp, so these run on any aiohttp version.
tests/test_client.py keeps what needs aiohttp itself: timeouts, connection errors, sessions.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
import xmltodict

import bwnumbers
from bwnumbers import (
    AmbiguousOrderError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DecodeError,
    ForbiddenError,
    NotFoundError,
    NumbersClient,
    OrderStatus,
    RateLimitError,
    RetryPolicy,
    Search,
    ServerError,
    TransportError,
    ValidationError,
)
from bwnumbers._transport import Request, Response
from tests.conftest import ACCOUNT, PASSWORD, ROOT, TOKEN, sample
from tests.fake_transport import FakeTransport

CREATED = {"Location": f"{ROOT}/orders/c9dg306c-gdh7-77j7-812c-0520c8f49123"}


def order_list(customer_order_id: str, order_id: str = "adopted-1") -> bytes:
    return (
        "<ResponseSelectWrapper><ListOrderIdUserIdDate><TotalCount>1</TotalCount>"
        f"<OrderIdUserIdDate><CustomerOrderId>{customer_order_id}</CustomerOrderId>"
        f"<orderId>{order_id}</orderId><OrderStatus>RECEIVED</OrderStatus>"
        "</OrderIdUserIdDate></ListOrderIdUserIdDate></ResponseSelectWrapper>"
    ).encode()


def refused() -> TransportError:
    """What the transport raises for a connection refused before anything was sent."""
    return TransportError("Could not connect", method="POST", path="/orders", request_sent=False)


# ---------------------------------------------------------------- construction


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"account_id": ""}, "account_id"),
        ({"account_id": "1/2"}, "account_id"),
        ({"client_id": ""}, "client_id"),
        ({"client_secret": ""}, "client_secret"),
        ({"base_url": "ftp://x"}, "not an http"),
        ({"base_url": "dashboard.bandwidth.com/api"}, "not an http"),
        ({"base_url": "https://u:p@dashboard.bandwidth.com/api"}, "credentials"),
        ({"base_url": "https://dashboard.bandwidth.com/api?x=1"}, "query"),
        ({"base_url": "http://dashboard.bandwidth.com/api"}, "allow_insecure_http"),
        ({"timeout": 0}, "timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"token_timeout": 0}, "token_timeout"),
        ({"token_url": "http://auth.example.test/token"}, "allow_insecure_http"),
        ({"token_url": "https://auth.example.test/token?x=1"}, "query"),
    ],
)
def test_constructor_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    """Bad configuration is a ValidationError that never echoes the secret."""
    arguments: dict[str, object] = {
        "account_id": ACCOUNT,
        "client_id": "c",
        "client_secret": PASSWORD,
    }
    arguments.update(kwargs)
    with pytest.raises(ValidationError, match=message) as info:
        NumbersClient(**arguments)  # type: ignore[arg-type]
    assert PASSWORD not in str(info.value)


def test_base_url_keeps_version_segment_and_allows_loopback_http() -> None:
    """Any version segment is kept; plain http is fine on loopback or when allowed."""
    for base in ("https://dashboard.bandwidth.com/api/v1/", "https://x.test/v1.0"):
        client = NumbersClient(account_id="1", access_token=TOKEN, base_url=base)
        assert client.base_url == base.rstrip("/")
    NumbersClient(account_id="1", access_token=TOKEN, base_url="http://127.0.0.1:9/api")
    NumbersClient(account_id="1", access_token=TOKEN, base_url="http://localhost:9")
    NumbersClient(
        account_id="1", access_token=TOKEN, base_url="http://h.test", allow_insecure_http=True
    )


def test_repr_has_no_secrets() -> None:
    """The repr names the account, URL and client id, never the secret."""
    client = NumbersClient(account_id=ACCOUNT, client_id="api-client", client_secret=PASSWORD)
    text = repr(client)
    assert ACCOUNT in text
    assert "api-client" in text
    assert PASSWORD not in text
    assert "Basic" not in text


async def test_backoff_is_capped(sleeps: list[float]) -> None:
    """No single backoff exceeds max_backoff."""
    policy = RetryPolicy(initial_backoff=1, max_backoff=3)
    assert all(policy.backoff(n) <= 3 for n in range(1, 30))
    with pytest.raises(ValidationError):
        RetryPolicy(attempts=0)


def test_rate_limit_header_forms() -> None:
    """X-RateLimit-Reset may be epoch seconds, epoch milliseconds or a delta."""
    from bwnumbers._retry import rate_limit_delay

    now = 1_800_000_000.0
    assert rate_limit_delay({"X-RateLimit-Reset": str(int(now) + 5)}, now=now) == 5
    assert rate_limit_delay({"X-RateLimit-Reset": str(int(now * 1000) + 1500)}, now=now) == 1.5
    assert rate_limit_delay({"X-RateLimit-Reset": "7"}, now=now) == 7
    assert rate_limit_delay({"X-RateLimit-Reset": str(int(now) - 5)}, now=now) == 0
    assert rate_limit_delay({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=now) == 0
    assert rate_limit_delay({"Retry-After": "soon"}, now=now) is None
    assert rate_limit_delay({"X-RateLimit-Reset": "x"}, now=now) is None
    assert rate_limit_delay({}, now=now) is None


# ---------------------------------------------------------------- requests as built


async def test_request_as_handed_to_the_transport(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """The URL, bearer token, User-Agent, Accept and timeouts are set for every request."""
    fake_transport.get("/orders/o1", body=sample("order_complete.xml"))
    await fake_client.get_order("o1")
    (request,) = fake_transport.requests
    assert request.url == f"{ROOT}/orders/o1"
    assert request.headers == {
        "Authorization": f"Bearer {TOKEN}",
        "User-Agent": f"bwnumbers/{bwnumbers.__version__}",
        "Accept": "application/xml",
    }
    assert (request.params, request.body) == (None, None)
    assert (request.timeout, request.connect_timeout, request.setting) == (30.0, 10.0, "base_url")
    assert TOKEN not in repr(request)


async def test_closed_client_sends_nothing(fake_transport: FakeTransport) -> None:
    """A closed client refuses work before anything reaches the transport."""
    client = NumbersClient(
        account_id="1", access_token=TOKEN, base_url="https://x.test", _transport=fake_transport
    )
    async with client:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_order("o1")
    assert fake_transport.requests == []
    assert client.rate_limits == ()


async def test_search(fake_transport: FakeTransport, fake_client: NumbersClient) -> None:
    """search_available_numbers sends Bandwidth's parameter names and decodes the list."""
    fake_transport.get("/availableNumbers", body=sample("search_list.xml"))
    found = await fake_client.search_available_numbers(npa_nxx="540551", quantity=7)
    assert found.numbers[0] == "5405514342"
    assert found.result_count == 7
    (request,) = fake_transport.calls("GET")
    assert request.params == {"npaNxx": "540551", "quantity": "7"}


async def test_search_with_search_object_and_empty_result(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A Search object works too; an empty SearchResult, or no body, is an empty result."""
    fake_transport.get("/availableNumbers", body=sample("search_empty.xml"))
    fake_transport.get("/availableNumbers", body=b" ")
    for _ in range(2):
        found = await fake_client.search_available_numbers(Search(state="NC"))
        assert (found.numbers, found.result_count) == ((), 0)
    assert [r.params for r in fake_transport.requests] == [{"state": "NC"}] * 2


async def test_search_bad_input_sends_nothing(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Unknown or incompatible criteria fail before any request."""
    with pytest.raises(ValidationError, match="'npanxx'"):
        await fake_client.search_available_numbers(npanxx="540551")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="requires state"):
        await fake_client.search_available_numbers(rate_center="CARY")
    with pytest.raises(ValidationError, match="not both"):
        await fake_client.search_available_numbers(Search(state="NC"), quantity=2)
    assert fake_transport.requests == []


async def test_search_error_shape(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A 400 SearchResult/Error becomes BadRequestError with code and description."""
    fake_transport.get("/availableNumbers", status=400, body=sample("search_error.xml"))
    with pytest.raises(BadRequestError) as info:
        await fake_client.search_available_numbers(area_code="919")
    assert info.value.code == 4010
    assert info.value.status == 400
    assert "4010" in str(info.value)
    assert info.value.body == sample("search_error.xml")


async def test_create_order(fake_transport: FakeTransport, fake_client: NumbersClient) -> None:
    """create_order posts the XML once and returns the RECEIVED order."""
    fake_transport.post("/orders", status=201, body=sample("order_created.xml"), headers=CREATED)
    order = await fake_client.create_order(
        site_id="743", numbers=["(540) 227-8098"], customer_order_id="my-1", name="Mine"
    )
    assert order.id == "c9dg306c-gdh7-77j7-812c-0520c8f49123"
    assert order.status is OrderStatus.RECEIVED
    (request,) = fake_transport.calls("POST")
    assert request.body is not None
    sent = xmltodict.parse(request.body)["Order"]
    assert sent["CustomerOrderId"] == "my-1"
    assert sent["Name"] == "Mine"
    assert sent["ExistingTelephoneNumberOrderType"]["TelephoneNumberList"] == {
        "TelephoneNumber": "5402278098"
    }
    assert request.headers["Content-Type"].startswith("application/xml")


async def test_create_order_id_from_location(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """With no <id> in the body, the Location header gives the id (200 is accepted too)."""
    body = re.sub(rb"<id>.*?</id>", b"", sample("order_created.xml"))
    fake_transport.post("/orders", body=body, headers={"Location": f"{ROOT}/orders/from-loc"})
    assert (await fake_client.create_order(site_id="1", numbers=["5402278098"])).id == "from-loc"


async def test_create_order_by_search(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """search= becomes a search-and-order type."""
    fake_transport.post("/orders", status=201, body=sample("order_created.xml"), headers=CREATED)
    await fake_client.create_order(site_id="743", search=Search(area_code="540", quantity=2))
    (request,) = fake_transport.calls("POST")
    assert request.body is not None
    sent = xmltodict.parse(request.body)["Order"]
    assert sent["AreaCodeSearchAndOrderType"] == {"AreaCode": "540", "Quantity": "2"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"numbers": ["5402278098"], "search": Search(state="NC")}, "not both"),
        ({"numbers": []}, "empty"),
        ({"numbers": ["5402278098", "5402278098"]}, "more than once"),
        ({"numbers": ["12345"]}, "not a valid"),
        ({"numbers": ["5402278098"], "name": "n" * 51}, "at most 50"),
        ({"numbers": ["5402278098"], "customer_order_id": "bad!id"}, "customer_order_id"),
        ({"numbers": ["5402278098"], "name": "bell\x07name"}, "cannot carry"),
        ({"numbers": ["5402278098"], "site_id": "7/43"}, "site_id"),
    ],
)
async def test_create_order_bad_input_sends_nothing(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    """Bad orders raise ValidationError and never reach the transport."""
    arguments = {"site_id": "743", **kwargs}
    with pytest.raises(ValidationError, match=message):
        await fake_client.create_order(**arguments)
    assert fake_transport.requests == []


async def test_order_validation_error(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A 400 with an ErrorList is a BadRequestError carrying every entry; no retry."""
    fake_transport.post("/orders", status=400, body=sample("order_validation_error.xml"))
    with pytest.raises(BadRequestError) as info:
        await fake_client.create_order(site_id="763", search=Search(area_code="435"))
    assert info.value.code == 5016
    assert info.value.description == "The SiteId submitted is invalid."
    assert [e.code for e in info.value.errors] == [5016]
    assert len(fake_transport.calls("POST")) == 1


@pytest.mark.parametrize(
    ("name", "status", "completed", "failed"),
    [
        ("order_complete_guide.xml", OrderStatus.COMPLETE, ("5405511247",), ()),
        ("order_failed.xml", OrderStatus.FAILED, (), ("5402278098",)),
        ("order_partial.xml", OrderStatus.PARTIAL, ("6361231234",), ("6365555555",)),
    ],
)
async def test_get_order(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    name: str,
    status: OrderStatus,
    completed: tuple[str, ...],
    failed: tuple[str, ...],
) -> None:
    """FAILED and PARTIAL come as HTTP 200 and decode into details, not exceptions."""
    fake_transport.get("/orders/abc", body=sample(name))
    details = await fake_client.get_order("abc")
    assert (details.id, details.status) == ("abc", status)
    assert (details.completed_numbers, details.failed_numbers) == (completed, failed)


async def test_get_order_not_found(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """An unknown order is NotFoundError with the order id in the sentence, once."""
    fake_transport.get("/orders/nope", status=404, body=sample("not_found.xml"))
    with pytest.raises(NotFoundError) as info:
        await fake_client.get_order("nope")
    assert info.value.code is None
    assert info.value.order_id == "nope"
    assert str(info.value) == (
        "Bandwidth answered HTTP 404 to GET /orders/nope: The resource does not exist."
    )


async def test_order_ids_are_quoted(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Ids are one path segment; an empty id is refused before sending."""
    fake_transport.get("/orders/a%20b%2Fc", body=sample("order_complete.xml"))
    await fake_client.get_order("a b/c")
    assert fake_transport.requests[0].url == f"{ROOT}/orders/a%20b%2Fc"
    with pytest.raises(ValidationError, match="order_id"):
        await fake_client.get_order("")
    assert len(fake_transport.requests) == 1


async def test_list_orders_and_history(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """list_orders sends its filters, from page 1 of 1,000 rows; 204 means none; history
    decodes."""
    fake_transport.get("/orders", body=sample("order_list.xml"))
    (row,) = await fake_client.list_orders(customer_order_id="cust-1", status=OrderStatus.COMPLETE)
    assert row.id == "c5d8d076-345c-45d7-87b3-803a35cca89b"
    assert fake_transport.requests[0].params == {
        "customerOrderId": "cust-1",
        "status": "complete",
        "page": "1",
        "size": "1000",
    }
    fake_transport.get("/orders", status=204)
    assert await fake_client.list_orders(customer_order_id="none") == ()
    fake_transport.get("/orders/o1/history", body=sample("order_history.xml"))
    assert len(await fake_client.get_order_history("o1")) == 2


async def test_close_order(fake_transport: FakeTransport, fake_client: NumbersClient) -> None:
    """close_order PUTs CloseOrder."""
    fake_transport.put("/orders/o1", body=b"<OrderResponse/>")
    await fake_client.close_order("o1")
    (request,) = fake_transport.calls("PUT")
    assert request.body is not None
    assert b"<CloseOrder>true</CloseOrder>" in request.body


# ---------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("status", "exc_type"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (418, APIError),
        (302, APIError),
    ],
)
async def test_status_mapping(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    status: int,
    exc_type: type[APIError],
) -> None:
    """Each status maps to its exception; HTML bodies fall back to the reason phrase."""
    fake_transport.get("/orders/x", status=status, body=b"<html><h1>Nope</h1></html>")
    with pytest.raises(exc_type) as info:
        await fake_client.get_order("x")
    assert type(info.value) is exc_type
    assert info.value.status == status
    assert info.value.code is None
    assert info.value.body == b"<html><h1>Nope</h1></html>"
    assert str(status) in str(info.value)


async def test_garbage_success_body_is_decode_error(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A 200 with HTML or truncated XML raises DecodeError, with the body kept."""
    fake_transport.get("/orders/x", body=b"<html>login</html>")
    with pytest.raises(DecodeError, match="OrderResponse"):
        await fake_client.get_order("x")
    fake_transport.get("/orders/y", body=sample("order_complete.xml")[:200])
    with pytest.raises(DecodeError, match="well-formed"):
        await fake_client.get_order("y")


# ---------------------------------------------------------------- retries


async def test_get_retries_5xx_then_succeeds(
    fake_transport: FakeTransport, fake_client: NumbersClient, sleeps: list[float]
) -> None:
    """GET retries a 503 with growing, jittered backoff and no real sleeping."""
    fake_transport.get("/orders/o1", status=503)
    fake_transport.get("/orders/o1", status=500)
    fake_transport.get("/orders/o1", body=sample("order_complete.xml"))
    await fake_client.get_order("o1")
    assert len(fake_transport.calls("GET")) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


async def test_get_gives_up_after_attempts(
    fake_transport: FakeTransport, fake_client: NumbersClient, sleeps: list[float]
) -> None:
    """After the configured attempts the last error is raised."""
    fake_transport.get("/orders/o1", status=500, repeat=True)
    with pytest.raises(ServerError):
        await fake_client.get_order("o1")
    assert len(fake_transport.calls("GET")) == fake_client.retry.attempts == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Reset": "0.2"}, 0.2),
        ({"Retry-After": "1"}, 1.0),
    ],
)
async def test_rate_limit_waits_what_bandwidth_says(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    sleeps: list[float],
    headers: dict[str, str],
    expected: float,
) -> None:
    """A 429 closes the gate for as long as the headers say, then the request goes again."""
    fake_transport.get("/orders/o1", status=429, headers=headers)
    fake_transport.get("/orders/o1", body=sample("order_complete.xml"))
    started = time.monotonic()
    await fake_client.get_order("o1")
    assert time.monotonic() - started >= expected - 0.02
    assert sleeps == []  # waited at the gate, not as a retry backoff
    (status,) = fake_client.rate_limits
    assert (status.group, status.refusals, status.is_open) == ("GET /orders/{id}", 1, True)


async def test_rate_limit_beyond_the_budget_raises_at_once(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A reset beyond the wait budget raises RateLimitError at once, with reset_at."""
    reset = int(time.time()) + 3600
    fake_transport.get("/orders/o1", status=429, headers={"X-RateLimit-Reset": str(reset)})
    with pytest.raises(RateLimitError, match="rate_limit_budget") as info:
        await fake_client.get_order("o1")
    assert info.value.reset_at == reset
    assert info.value.retry_after is not None
    assert info.value.retry_after > 3000
    assert len(fake_transport.calls("GET")) == 1


# ---------------------------------------------------------------- POST /orders safety


async def test_post_429_is_retried_with_the_same_body(
    fake_transport: FakeTransport, fake_client: NumbersClient, sleeps: list[float]
) -> None:
    """429 means not executed: the same body is sent again after the reset."""
    fake_transport.post("/orders", status=429, headers={"X-RateLimit-Reset": "0.05"})
    fake_transport.post("/orders", status=201, body=sample("order_created.xml"), headers=CREATED)
    await fake_client.create_order(site_id="743", numbers=["5402278098"])
    first, second = fake_transport.calls("POST")
    assert first.body == second.body
    assert [s.refusals for s in fake_client.rate_limits if s.group == "ORDER"] == [1]


async def test_post_not_sent_is_retried(
    fake_transport: FakeTransport, fake_client: NumbersClient, sleeps: list[float]
) -> None:
    """A POST the transport says was never sent is provably not executed and is retried."""
    fake_transport.post("/orders", exception=refused())
    fake_transport.post("/orders", exception=refused())
    fake_transport.post("/orders", status=201, body=sample("order_created.xml"), headers=CREATED)
    order = await fake_client.create_order(site_id="743", numbers=["5402278098"])
    assert order.id == "c9dg306c-gdh7-77j7-812c-0520c8f49123"
    assert len(fake_transport.calls("POST")) == 3
    assert len(sleeps) == 2


async def test_post_never_sent_is_a_transport_error(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """If no attempt was sent, nothing was placed: TransportError, no lookup."""
    fake_transport.post("/orders", exception=refused(), repeat=True)
    with pytest.raises(TransportError) as info:
        await fake_client.create_order(site_id="743", numbers=["5402278098"])
    assert info.value.request_sent is False
    assert info.value.attempts == 4
    assert fake_transport.calls("GET") == []


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 503, "body": b"<html>upstream</html>"},
        {"exception": TransportError("reset", method="POST", path="/orders")},
        {"status": 201, "body": b"<OrderResponse><Order><id>trunc"},
        {"status": 201, "body": b"<OrderResponse><Order/></OrderResponse>"},
    ],
)
async def test_ambiguous_post_adopts_the_order(
    fake_transport: FakeTransport, fake_client: NumbersClient, failure: dict[str, Any]
) -> None:
    """After an ambiguous failure the order is found by customer order id, never re-posted."""
    fake_transport.post("/orders", **failure)
    fake_transport.get("/orders", body=order_list("cust-42"))
    fake_transport.get("/orders/adopted-1", body=sample("order_complete.xml"))
    order = await fake_client.create_order(
        site_id="743", numbers=["5402278098"], customer_order_id="cust-42"
    )
    assert order.id == "adopted-1"
    assert order.status is OrderStatus.COMPLETE
    assert len(fake_transport.calls("POST")) == 1
    (lookup, _) = fake_transport.calls("GET")
    assert lookup.params == {"customerOrderId": "cust-42", "page": "1", "size": "1000"}


async def test_ambiguous_post_not_found_raises(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """If the lookup finds nothing: AmbiguousOrderError, chained, and still one POST."""
    fake_transport.post("/orders", status=500)
    fake_transport.get("/orders", status=204)
    with pytest.raises(AmbiguousOrderError) as info:
        await fake_client.create_order(
            site_id="743", numbers=["5402278098"], customer_order_id="c-7"
        )
    assert info.value.customer_order_id == "c-7"
    assert "c-7" in str(info.value)
    assert isinstance(info.value.__cause__, ServerError)
    assert len(fake_transport.calls("POST")) == 1


async def test_ambiguous_post_lookup_failing_raises(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """If the lookup itself fails: AmbiguousOrderError, and still exactly one POST."""
    fake_transport.post("/orders", status=502)
    fake_transport.get("/orders", status=500, repeat=True)
    with pytest.raises(AmbiguousOrderError, match="failed too"):
        await fake_client.create_order(site_id="743", numbers=["5402278098"])
    assert len(fake_transport.calls("POST")) == 1


async def test_adoption_survives_failing_details(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """When the found order's details cannot be read, its id and listed status are used."""
    fake_transport.post("/orders", status=502)
    fake_transport.get("/orders", body=order_list("c-8", "o-8"))
    fake_transport.get("/orders/o-8", status=404, repeat=True)
    order = await fake_client.create_order(
        site_id="1", numbers=["5402278098"], customer_order_id="c-8"
    )
    assert (order.id, order.status, order.customer_order_id) == ("o-8", OrderStatus.RECEIVED, "c-8")


# ---------------------------------------------------------------- subscriptions

SUBS = "/subscriptions"
END = "</SubscriptionsResponse>"


def subscription_list(*entries: tuple[str, str, int, str | None]) -> bytes:
    parts = []
    for sub_id, url, expiry, username in entries:
        credentials = (
            f"<CallbackCredentials><BasicAuthentication><Username>{username}</Username>"
            "</BasicAuthentication></CallbackCredentials>"
            if username
            else ""
        )
        parts.append(
            f"<Subscription><SubscriptionId>{sub_id}</SubscriptionId><OrderType>orders</OrderType>"
            f"<CallbackSubscription><URL>{url}</URL><Expiry>{expiry}</Expiry>{credentials}"
            "</CallbackSubscription></Subscription>"
        )
    inner = "".join(parts)
    return f"<SubscriptionsResponse><Subscriptions>{inner}</Subscriptions>{END}".encode()


async def test_create_subscription(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """The id comes from Location; the body carries the callback credentials."""
    fake_transport.post(SUBS, status=201, headers={"Location": f"{ROOT}{SUBS}/sub-1"})
    sub = await fake_client.create_subscription("https://me.test/bw", username="cb", password="pw")
    assert (sub.id, sub.url, sub.username, sub.order_type) == (
        "sub-1", "https://me.test/bw", "cb", "orders",
    )  # fmt: skip
    (request,) = fake_transport.calls("POST")
    assert request.body is not None
    sent = xmltodict.parse(request.body)["Subscription"]
    assert sent["CallbackSubscription"]["CallbackCredentials"]["BasicAuthentication"] == {
        "Username": "cb", "Password": "pw",
    }  # fmt: skip


async def test_create_subscription_without_location(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A 201 without Location cannot give an id: DecodeError."""
    fake_transport.post(SUBS, status=201)
    with pytest.raises(DecodeError, match="Location"):
        await fake_client.create_subscription("https://me.test/bw")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "not a url"}, "absolute"),
        ({"url": "https://me.test", "username": "cb"}, "both"),
        ({"url": "https://me.test", "password": "pw"}, "both"),
        ({"url": "https://me.test", "username": "u" * 101, "password": "p"}, "100"),
        ({"url": "https://me.test", "expiry": 0}, "expiry"),
        ({"url": "https://me.test", "expiry": True}, "expiry"),
        ({"url": "https://me.test", "username": "cb", "password": "p\x00w"}, "cannot carry"),
    ],
)
async def test_create_subscription_bad_input(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    """Bad subscription input is refused before sending, without echoing passwords."""
    with pytest.raises(ValidationError, match=message) as info:
        await fake_client.create_subscription(**kwargs)
    assert "pw" not in str(info.value)
    assert fake_transport.requests == []


async def test_get_list_delete_subscription(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """get accepts the unwrapped shape, list filters, delete sends DELETE."""
    fake_transport.get(f"{SUBS}/991a", body=sample("subscription_unwrapped.xml"))
    assert (await fake_client.get_subscription("991a")).status == "200 OK"
    fake_transport.get(SUBS, body=sample("subscriptions_list.xml"))
    listed = await fake_client.list_subscriptions(order_type="orders")
    assert [s.id for s in listed] == ["c01a23e3-eb99-4174-9598-77d5beadebcf"]
    assert fake_transport.calls("GET", SUBS)[0].params == {"orderType": "orders"}
    fake_transport.delete(f"{SUBS}/991a")
    await fake_client.delete_subscription("991a")
    assert [r.label for r in fake_transport.calls("DELETE")] == ["DELETE /subscriptions/991a"]
    fake_transport.get(f"{SUBS}/gone", status=404, body=sample("not_found.xml"))
    with pytest.raises(NotFoundError):
        await fake_client.get_subscription("gone")


async def test_ensure_subscription_reuses(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Without credentials, a live matching subscription is reused without any write."""
    fake_transport.get(SUBS, body=subscription_list(("s1", "https://me.test/bw", 10**9, "cb")))
    sub = await fake_client.ensure_subscription("https://me.test/bw")
    assert sub.id == "s1"
    assert fake_transport.calls("POST") == fake_transport.calls("PUT") == []


async def test_ensure_subscription_writes_given_credentials(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Given credentials are always written (PUT): Bandwidth never shows the stored password."""
    fake_transport.get(SUBS, body=subscription_list(("s1", "https://me.test/bw", 10**9, "cb")))
    fake_transport.put(f"{SUBS}/s1")
    sub = await fake_client.ensure_subscription("https://me.test/bw", username="cb", password="new")
    assert sub.id == "s1"
    (put,) = fake_transport.calls("PUT")
    assert put.body is not None
    assert b"<Password>new</Password>" in put.body
    assert fake_transport.calls("POST") == []


async def test_ensure_subscription_needs_both_credentials(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A username without a password is refused before any request."""
    with pytest.raises(ValidationError, match="both username= and password="):
        await fake_client.ensure_subscription("https://me.test/bw", username="cb")
    assert fake_transport.requests == []


async def test_ensure_subscription_renewal_without_credentials_warns(
    fake_transport: FakeTransport, fake_client: NumbersClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Renewing without credentials cannot keep the stored ones, and says so."""
    fake_transport.get(SUBS, body=subscription_list(("s1", "https://me.test/bw", 60, "cb")))
    fake_transport.put(f"{SUBS}/s1")
    await fake_client.ensure_subscription("https://me.test/bw")
    assert len(fake_transport.calls("PUT")) == 1
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "removes its username cb" in warning.getMessage()


async def test_ensure_subscription_creates(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """No match (other URLs only) means one creation."""
    fake_transport.get(SUBS, body=subscription_list(("s0", "https://other.test", 10**9, None)))
    fake_transport.post(SUBS, status=201, headers={"Location": f"{ROOT}{SUBS}/s-new"})
    assert (await fake_client.ensure_subscription("https://me.test/bw")).id == "s-new"


async def test_ensure_subscription_renews(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A subscription about to expire is renewed by PUT, with the given credentials."""
    fake_transport.get(SUBS, body=subscription_list(("s1", "https://me.test/bw", 60, "cb")))
    fake_transport.put(f"{SUBS}/s1")
    sub = await fake_client.ensure_subscription("https://me.test/bw", username="cb", password="pw")
    assert sub.id == "s1"
    assert len(fake_transport.calls("PUT")) == 1


async def test_ensure_subscription_resolves_conflict(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A 409 (someone else created it meanwhile) is resolved by reusing that one."""
    fake_transport.get(SUBS, body=subscription_list())
    fake_transport.post(SUBS, status=409, body=sample("subscription_error.xml"))
    fake_transport.get(SUBS, body=subscription_list(("s9", "https://me.test/bw", 10**9, None)))
    assert (await fake_client.ensure_subscription("https://me.test/bw")).id == "s9"


async def test_ensure_subscription_concurrent_callers_create_one(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Tasks racing ensure_subscription create exactly one subscription."""
    created: list[str] = []

    def listing(request: Request) -> Response:
        entries = [(sid, "https://me.test/bw", 10**9, None) for sid in created]
        return Response(status=200, headers={}, body=subscription_list(*entries))

    def create(request: Request) -> Response:
        created.append(f"s{len(created)}")
        return Response(status=201, headers={"Location": f"{ROOT}{SUBS}/{created[-1]}"}, body=b"")

    fake_transport.get(SUBS, answer=listing, repeat=True)
    fake_transport.post(SUBS, answer=create, repeat=True)
    results = await asyncio.gather(
        *(fake_client.ensure_subscription("https://me.test/bw") for _ in range(8))
    )
    assert created == ["s0"]
    assert {r.id for r in results} == {"s0"}


# ---------------------------------------------------------------- the token request


async def test_token_request_goes_through_the_same_transport(
    fake_transport: FakeTransport, sleeps: list[float]
) -> None:
    """Client credentials are exchanged through the seam too, named by token_url."""
    fake_transport.post(
        "/api/v1/oauth2/token",
        body=b'{"access_token": "tok-9", "expires_in": 3600, "token_type": "bearer"}',
    )
    fake_transport.get("/orders/o1", body=sample("order_complete.xml"))
    async with NumbersClient(
        account_id=ACCOUNT,
        client_id="client-1",
        client_secret=PASSWORD,
        base_url="https://api.example.test/api",
        token_timeout=7,
        _transport=fake_transport,
    ) as client:
        await client.get_order("o1")
    token, order = fake_transport.requests
    assert (token.url, token.setting, token.timeout) == (
        "https://api.example.test/api/v1/oauth2/token", "token_url", 7,
    )  # fmt: skip
    assert token.body == b"grant_type=client_credentials"
    assert token.headers["Authorization"].startswith("Basic ")
    assert PASSWORD not in repr(token)
    assert order.headers["Authorization"] == "Bearer tok-9"
