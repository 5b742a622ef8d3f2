"""NumbersClient request and response handling, against aioresponses."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import aiohttp
import pytest
import xmltodict
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses
from yarl import URL

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
from tests.conftest import ACCOUNT, BASE, PASSWORD, ROOT, TOKEN, sample

ORDERS = f"{ROOT}/orders"
ORDER_LOOKUP = re.compile(rf"^{re.escape(ORDERS)}\?customerOrderId=.*$")
CREATED = {"Location": f"{ORDERS}/c9dg306c-gdh7-77j7-812c-0520c8f49123"}


def refused() -> aiohttp.ClientConnectorError:
    """A connection refused before anything was sent."""
    # ConnectionKey's fields differ between aiohttp versions; fill what str() needs.
    blank = ConnectionKey(*[None] * len(ConnectionKey._fields))
    key = blank._replace(host="dashboard.example.test", port=443, is_ssl=True, ssl=True)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


def calls(mocked: aioresponses, method: str, url: str | None = None) -> list[Any]:
    """Every request made with *method* (to *url* when given, ignoring the query)."""
    found = []
    for (verb, called), requests in mocked.requests.items():
        if verb == method and (url is None or called.with_query(None) == URL(url)):
            found.extend(requests)
    return found


def order_list(customer_order_id: str, order_id: str = "adopted-1") -> bytes:
    return (
        "<ResponseSelectWrapper><ListOrderIdUserIdDate><TotalCount>1</TotalCount>"
        f"<OrderIdUserIdDate><CustomerOrderId>{customer_order_id}</CustomerOrderId>"
        f"<orderId>{order_id}</orderId><OrderStatus>RECEIVED</OrderStatus>"
        "</OrderIdUserIdDate></ListOrderIdUserIdDate></ResponseSelectWrapper>"
    ).encode()


# ---------------------------------------------------------------- construction and lifecycle


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


async def test_lifecycle_and_reuse_after_close(fake_http: aioresponses) -> None:
    """aclose is idempotent; a closed client refuses work with a RuntimeError."""
    client = NumbersClient(account_id=ACCOUNT, access_token=TOKEN, base_url=BASE)
    async with client:
        assert not client.closed
    await client.aclose()
    assert client.closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_order("x")
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass


async def test_injected_session_is_not_closed(fake_http: aioresponses) -> None:
    """A session the caller passed in stays open after the client closes."""
    fake_http.get(f"{ORDERS}/o1", body=sample("order_complete.xml"))
    async with aiohttp.ClientSession() as session:
        async with NumbersClient(
            account_id=ACCOUNT, access_token=TOKEN, base_url=BASE, session=session
        ) as client:
            await client.get_order("o1")
        assert not session.closed


async def test_client_without_context_manager_opens_lazily(fake_http: aioresponses) -> None:
    """Using a client without `async with` works, and aclose cleans up its session."""
    fake_http.get(f"{ORDERS}/o1", body=sample("order_complete.xml"))
    client = NumbersClient(account_id=ACCOUNT, access_token=TOKEN, base_url=BASE)
    try:
        assert (await client.get_order("o1")).status is OrderStatus.COMPLETE
    finally:
        await client.aclose()


# ---------------------------------------------------------------- requests on the wire


async def test_request_headers(fake_http: aioresponses, client: NumbersClient) -> None:
    """Requests carry the bearer token, our User-Agent and explicit timeouts."""
    fake_http.get(f"{ORDERS}/o1", body=sample("order_complete.xml"))
    await client.get_order("o1")
    (call,) = calls(fake_http, "GET")
    headers = call.kwargs["headers"]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["User-Agent"] == f"bwnumbers/{bwnumbers.__version__}"
    timeout = call.kwargs["timeout"]
    assert (timeout.total, timeout.connect) == (30.0, 10.0)
    assert call.kwargs["allow_redirects"] is False


async def test_search(fake_http: aioresponses, client: NumbersClient) -> None:
    """search_available_numbers sends Bandwidth's parameter names and decodes the list."""
    fake_http.get(
        re.compile(rf"{re.escape(ROOT)}/availableNumbers\?.*"), body=sample("search_list.xml")
    )
    found = await client.search_available_numbers(npa_nxx="540551", quantity=7)
    assert found.numbers[0] == "5405514342"
    assert found.result_count == 7
    (call,) = calls(fake_http, "GET")
    assert call.kwargs["params"] == {"npaNxx": "540551", "quantity": "7"}


async def test_search_with_search_object_and_empty_result(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """A Search object works too; an empty SearchResult is an empty result."""
    fake_http.get(re.compile(r".*/availableNumbers.*"), body=sample("search_empty.xml"))
    found = await client.search_available_numbers(Search(state="NC"))
    assert found.numbers == ()
    assert found.result_count == 0


async def test_search_bad_input_sends_nothing(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """Unknown or incompatible criteria fail before any request."""
    with pytest.raises(ValidationError, match="'npanxx'"):
        await client.search_available_numbers(npanxx="540551")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="requires state"):
        await client.search_available_numbers(rate_center="CARY")
    with pytest.raises(ValidationError, match="not both"):
        await client.search_available_numbers(Search(state="NC"), quantity=2)
    assert fake_http.requests == {}


async def test_search_error_shape(fake_http: aioresponses, client: NumbersClient) -> None:
    """A 400 SearchResult/Error becomes BadRequestError with code and description."""
    fake_http.get(re.compile(r".*/availableNumbers.*"), status=400, body=sample("search_error.xml"))
    with pytest.raises(BadRequestError) as info:
        await client.search_available_numbers(area_code="919")
    assert info.value.code == 4010
    assert info.value.status == 400
    assert "4010" in str(info.value)
    assert info.value.body == sample("search_error.xml")


async def test_create_order(fake_http: aioresponses, client: NumbersClient) -> None:
    """create_order posts the XML once and returns the RECEIVED order."""
    fake_http.post(ORDERS, status=201, body=sample("order_created.xml"), headers=CREATED)
    order = await client.create_order(
        site_id="743", numbers=["(540) 227-8098"], customer_order_id="my-1", name="Mine"
    )
    assert order.id == "c9dg306c-gdh7-77j7-812c-0520c8f49123"
    assert order.status is OrderStatus.RECEIVED
    (call,) = calls(fake_http, "POST")
    sent = xmltodict.parse(call.kwargs["data"])["Order"]
    assert sent["CustomerOrderId"] == "my-1"
    assert sent["Name"] == "Mine"
    assert sent["ExistingTelephoneNumberOrderType"]["TelephoneNumberList"] == {
        "TelephoneNumber": "5402278098"
    }
    assert call.kwargs["headers"]["Content-Type"].startswith("application/xml")


async def test_create_order_id_from_location(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """With no <id> in the body, the Location header gives the id (200 is accepted too)."""
    body = re.sub(rb"<id>.*?</id>", b"", sample("order_created.xml"))
    fake_http.post(ORDERS, status=200, body=body, headers={"Location": f"{ORDERS}/from-loc"})
    assert (await client.create_order(site_id="1", numbers=["5402278098"])).id == "from-loc"


async def test_create_order_by_search(fake_http: aioresponses, client: NumbersClient) -> None:
    """search= becomes a search-and-order type."""
    fake_http.post(ORDERS, status=201, body=sample("order_created.xml"), headers=CREATED)
    await client.create_order(site_id="743", search=Search(area_code="540", quantity=2))
    (call,) = calls(fake_http, "POST")
    sent = xmltodict.parse(call.kwargs["data"])["Order"]
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
    ],
)
async def test_create_order_bad_input_sends_nothing(
    fake_http: aioresponses, client: NumbersClient, kwargs: dict[str, Any], message: str
) -> None:
    """Bad orders raise ValidationError and never reach the network."""
    with pytest.raises(ValidationError, match=message):
        await client.create_order(site_id="743", **kwargs)
    assert fake_http.requests == {}


async def test_order_validation_error(fake_http: aioresponses, client: NumbersClient) -> None:
    """A 400 with an ErrorList is a BadRequestError carrying every entry; no retry."""
    fake_http.post(ORDERS, status=400, body=sample("order_validation_error.xml"))
    with pytest.raises(BadRequestError) as info:
        await client.create_order(site_id="763", search=Search(area_code="435"))
    assert info.value.code == 5016
    assert info.value.description == "The SiteId submitted is invalid."
    assert [e.code for e in info.value.errors] == [5016]
    assert len(calls(fake_http, "POST")) == 1


@pytest.mark.parametrize(
    ("name", "status", "completed", "failed"),
    [
        ("order_complete_guide.xml", OrderStatus.COMPLETE, ("5405511247",), ()),
        ("order_failed.xml", OrderStatus.FAILED, (), ("5402278098",)),
        ("order_partial.xml", OrderStatus.PARTIAL, ("6361231234",), ("6365555555",)),
    ],
)
async def test_get_order(
    fake_http: aioresponses,
    client: NumbersClient,
    name: str,
    status: OrderStatus,
    completed: tuple[str, ...],
    failed: tuple[str, ...],
) -> None:
    """FAILED and PARTIAL come as HTTP 200 and decode into details, not exceptions."""
    fake_http.get(f"{ORDERS}/abc", body=sample(name))
    details = await client.get_order("abc")
    assert (details.id, details.status) == ("abc", status)
    assert (details.completed_numbers, details.failed_numbers) == (completed, failed)


async def test_get_order_not_found(fake_http: aioresponses, client: NumbersClient) -> None:
    """An unknown order is NotFoundError with the order id in the sentence, once."""
    fake_http.get(f"{ORDERS}/nope", status=404, body=sample("not_found.xml"))
    with pytest.raises(NotFoundError) as info:
        await client.get_order("nope")
    assert info.value.code is None
    assert info.value.order_id == "nope"
    assert str(info.value) == (
        "Bandwidth answered HTTP 404 to GET /orders/nope: The resource does not exist."
    )


async def test_order_ids_are_quoted(fake_http: aioresponses, client: NumbersClient) -> None:
    """Ids are one path segment; an empty id is refused."""
    fake_http.get(f"{ORDERS}/a%20b", body=sample("order_complete.xml"))
    await client.get_order("a b")
    with pytest.raises(ValidationError):
        await client.get_order("")


async def test_list_orders_and_history(fake_http: aioresponses, client: NumbersClient) -> None:
    """list_orders sends its filters; 204 means none; history decodes."""
    fake_http.get(
        re.compile(rf"{re.escape(ORDERS)}\?.*status=complete.*"), body=sample("order_list.xml")
    )
    (row,) = await client.list_orders(customer_order_id="cust-1", status=OrderStatus.COMPLETE)
    assert row.id == "c5d8d076-345c-45d7-87b3-803a35cca89b"
    (call,) = calls(fake_http, "GET")
    assert call.kwargs["params"] == {"customerOrderId": "cust-1", "status": "complete"}
    fake_http.get(ORDER_LOOKUP, status=204)
    assert await client.list_orders(customer_order_id="none") == ()
    fake_http.get(f"{ORDERS}/o1/history", body=sample("order_history.xml"))
    assert len(await client.get_order_history("o1")) == 2


async def test_close_order(fake_http: aioresponses, client: NumbersClient) -> None:
    """close_order PUTs CloseOrder."""
    fake_http.put(f"{ORDERS}/o1", body=b"<OrderResponse/>")
    await client.close_order("o1")
    (call,) = calls(fake_http, "PUT")
    assert b"<CloseOrder>true</CloseOrder>" in call.kwargs["data"]


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
    fake_http: aioresponses, client: NumbersClient, status: int, exc_type: type[APIError]
) -> None:
    """Each status maps to its exception; HTML bodies fall back to the reason phrase."""
    fake_http.get(f"{ORDERS}/x", status=status, body=b"<html><h1>Nope</h1></html>")
    with pytest.raises(exc_type) as info:
        await client.get_order("x")
    assert type(info.value) is exc_type
    assert info.value.status == status
    assert info.value.code is None
    assert info.value.body == b"<html><h1>Nope</h1></html>"
    assert str(status) in str(info.value)


async def test_garbage_success_body_is_decode_error(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """A 200 with HTML or truncated XML raises DecodeError, with the body kept."""
    fake_http.get(f"{ORDERS}/x", body=b"<html>login</html>")
    with pytest.raises(DecodeError, match="OrderResponse"):
        await client.get_order("x")
    fake_http.get(f"{ORDERS}/y", body=sample("order_complete.xml")[:200])
    with pytest.raises(DecodeError, match="well-formed"):
        await client.get_order("y")


# ---------------------------------------------------------------- retries


async def test_get_retries_5xx_then_succeeds(
    fake_http: aioresponses, client: NumbersClient, sleeps: list[float]
) -> None:
    """GET retries a 503 with growing, jittered backoff and no real sleeping."""
    url = f"{ORDERS}/o1"
    fake_http.get(url, status=503)
    fake_http.get(url, status=500)
    fake_http.get(url, body=sample("order_complete.xml"))
    await client.get_order("o1")
    assert len(calls(fake_http, "GET")) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


async def test_get_gives_up_after_attempts(
    fake_http: aioresponses, client: NumbersClient, sleeps: list[float]
) -> None:
    """After the configured attempts the last error is raised."""
    fake_http.get(f"{ORDERS}/o1", status=500, repeat=True)
    with pytest.raises(ServerError):
        await client.get_order("o1")
    assert len(calls(fake_http, "GET")) == client.retry.attempts == 4
    assert len(sleeps) == 3


async def test_backoff_is_capped(sleeps: list[float]) -> None:
    """No single backoff exceeds max_backoff."""
    policy = RetryPolicy(initial_backoff=1, max_backoff=3)
    assert all(policy.backoff(n) <= 3 for n in range(1, 30))
    with pytest.raises(ValidationError):
        RetryPolicy(attempts=0)


async def test_get_retries_connection_errors(
    fake_http: aioresponses, client: NumbersClient, sleeps: list[float]
) -> None:
    """Resets and timeouts are retried for GET."""
    url = f"{ORDERS}/o1"
    fake_http.get(url, exception=aiohttp.ServerDisconnectedError())
    fake_http.get(url, exception=TimeoutError())
    fake_http.get(url, body=sample("order_complete.xml"))
    await client.get_order("o1")
    assert len(sleeps) == 2


async def test_transport_error_after_retries(
    fake_http: aioresponses, client: NumbersClient, sleeps: list[float]
) -> None:
    """Exhausted connection retries raise TransportError saying what failed."""
    fake_http.get(f"{ORDERS}/o1", exception=refused(), repeat=True)
    with pytest.raises(TransportError, match="Could not connect") as info:
        await client.get_order("o1")
    assert info.value.request_sent is False


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Reset": "0.2"}, 0.2),
        ({"Retry-After": "1"}, 1.0),
    ],
)
async def test_rate_limit_waits_what_bandwidth_says(
    fake_http: aioresponses,
    client: NumbersClient,
    sleeps: list[float],
    headers: dict[str, str],
    expected: float,
) -> None:
    """A 429 closes the gate for as long as the headers say, then the request goes again."""
    fake_http.get(f"{ORDERS}/o1", status=429, headers=headers)
    fake_http.get(f"{ORDERS}/o1", body=sample("order_complete.xml"))
    started = time.monotonic()
    await client.get_order("o1")
    assert time.monotonic() - started >= expected - 0.02
    assert sleeps == []  # waited at the gate, not as a retry backoff
    (status,) = client.rate_limits
    assert (status.group, status.refusals, status.is_open) == ("GET /orders/{id}", 1, True)


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


async def test_rate_limit_beyond_the_budget_raises_at_once(
    fake_http: aioresponses, client: NumbersClient, sleeps: list[float]
) -> None:
    """A reset beyond the wait budget raises RateLimitError at once, with reset_at."""
    reset = int(time.time()) + 3600
    fake_http.get(f"{ORDERS}/o1", status=429, headers={"X-RateLimit-Reset": str(reset)})
    started = time.monotonic()
    with pytest.raises(RateLimitError, match="rate_limit_budget") as info:
        await client.get_order("o1")
    assert time.monotonic() - started < 1
    assert info.value.reset_at == reset
    assert info.value.retry_after is not None
    assert info.value.retry_after > 3000
    assert len(calls(fake_http, "GET")) == 1


# ---------------------------------------------------------------- POST /orders safety


async def test_post_429_is_retried_with_the_same_body(
    fake_http: aioresponses, client: NumbersClient, sleeps: list[float]
) -> None:
    """429 means not executed: the same body is sent again after the reset."""
    fake_http.post(ORDERS, status=429, headers={"X-RateLimit-Reset": "0.05"})
    fake_http.post(ORDERS, status=201, body=sample("order_created.xml"), headers=CREATED)
    await client.create_order(site_id="743", numbers=["5402278098"])
    first, second = calls(fake_http, "POST")
    assert first.kwargs["data"] == second.kwargs["data"]
    assert [s.refusals for s in client.rate_limits if s.group == "ORDER"] == [1]


async def test_post_refused_connection_is_retried(
    fake_http: aioresponses, client: NumbersClient, sleeps: list[float]
) -> None:
    """A connection refused before sending is provably not executed and is retried."""
    fake_http.post(ORDERS, exception=refused())
    fake_http.post(ORDERS, exception=refused())
    fake_http.post(ORDERS, status=201, body=sample("order_created.xml"), headers=CREATED)
    order = await client.create_order(site_id="743", numbers=["5402278098"])
    assert order.id == "c9dg306c-gdh7-77j7-812c-0520c8f49123"
    assert len(calls(fake_http, "POST")) == 3


async def test_post_refused_for_good_is_a_transport_error(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """If every attempt is refused, nothing was placed: TransportError, no lookup."""
    fake_http.post(ORDERS, exception=refused(), repeat=True)
    with pytest.raises(TransportError) as info:
        await client.create_order(site_id="743", numbers=["5402278098"])
    assert info.value.request_sent is False
    assert calls(fake_http, "GET") == []


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 503, "body": b"<html>upstream</html>"},
        {"exception": aiohttp.ServerDisconnectedError()},
        {"exception": TimeoutError()},
        {"status": 201, "body": b"<OrderResponse><Order><id>trunc"},
        {"status": 201, "body": b"<OrderResponse><Order/></OrderResponse>"},
    ],
)
async def test_ambiguous_post_adopts_the_order(
    fake_http: aioresponses, client: NumbersClient, failure: dict[str, Any]
) -> None:
    """After an ambiguous failure the order is found by customer order id, never re-posted."""
    fake_http.post(ORDERS, **failure)
    fake_http.get(ORDER_LOOKUP, body=order_list("cust-42"))
    fake_http.get(f"{ORDERS}/adopted-1", body=sample("order_complete.xml"))
    order = await client.create_order(
        site_id="743", numbers=["5402278098"], customer_order_id="cust-42"
    )
    assert order.id == "adopted-1"
    assert order.status is OrderStatus.COMPLETE
    assert len(calls(fake_http, "POST")) == 1
    (lookup, _) = calls(fake_http, "GET")
    assert lookup.kwargs["params"] == {"customerOrderId": "cust-42"}


async def test_ambiguous_post_not_found_raises(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """If the lookup finds nothing: AmbiguousOrderError, chained, and still one POST."""
    fake_http.post(ORDERS, status=500)
    fake_http.get(ORDER_LOOKUP, status=204)
    with pytest.raises(AmbiguousOrderError) as info:
        await client.create_order(site_id="743", numbers=["5402278098"], customer_order_id="c-7")
    assert info.value.customer_order_id == "c-7"
    assert "c-7" in str(info.value)
    assert isinstance(info.value.__cause__, ServerError)
    assert len(calls(fake_http, "POST")) == 1


async def test_ambiguous_post_lookup_failing_raises(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """If the lookup itself fails: AmbiguousOrderError, and still exactly one POST."""
    fake_http.post(ORDERS, exception=aiohttp.ServerDisconnectedError())
    fake_http.get(ORDER_LOOKUP, status=500, repeat=True)
    with pytest.raises(AmbiguousOrderError, match="failed too"):
        await client.create_order(site_id="743", numbers=["5402278098"])
    assert len(calls(fake_http, "POST")) == 1


async def test_adoption_survives_failing_details(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """When the found order's details cannot be read, its id and listed status are used."""
    fake_http.post(ORDERS, status=502)
    fake_http.get(ORDER_LOOKUP, body=order_list("c-8", "o-8"))
    fake_http.get(f"{ORDERS}/o-8", status=404, repeat=True)
    order = await client.create_order(site_id="1", numbers=["5402278098"], customer_order_id="c-8")
    assert (order.id, order.status, order.customer_order_id) == ("o-8", OrderStatus.RECEIVED, "c-8")


# ---------------------------------------------------------------- subscriptions

SUBS = f"{ROOT}/subscriptions"
END = "</SubscriptionsResponse>"
SUB_LIST = re.compile(rf"^{re.escape(SUBS)}(\?orderType=orders)?$")


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


async def test_create_subscription(fake_http: aioresponses, client: NumbersClient) -> None:
    """The id comes from Location; the body carries the callback credentials."""
    fake_http.post(SUBS, status=201, headers={"Location": f"{SUBS}/sub-1"})
    sub = await client.create_subscription("https://me.test/bw", username="cb", password="pw")
    assert (sub.id, sub.url, sub.username, sub.order_type) == (
        "sub-1", "https://me.test/bw", "cb", "orders",
    )  # fmt: skip
    (call,) = calls(fake_http, "POST")
    sent = xmltodict.parse(call.kwargs["data"])["Subscription"]
    assert sent["CallbackSubscription"]["CallbackCredentials"]["BasicAuthentication"] == {
        "Username": "cb", "Password": "pw",
    }  # fmt: skip


async def test_create_subscription_without_location(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """A 201 without Location cannot give an id: DecodeError."""
    fake_http.post(SUBS, status=201)
    with pytest.raises(DecodeError, match="Location"):
        await client.create_subscription("https://me.test/bw")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "not a url"}, "absolute"),
        ({"url": "https://me.test", "username": "cb"}, "both"),
        ({"url": "https://me.test", "password": "pw"}, "both"),
        ({"url": "https://me.test", "username": "u" * 101, "password": "p"}, "100"),
        ({"url": "https://me.test", "expiry": 0}, "expiry"),
        ({"url": "https://me.test", "username": "cb", "password": "p\x00w"}, "cannot carry"),
    ],
)
async def test_create_subscription_bad_input(
    fake_http: aioresponses, client: NumbersClient, kwargs: dict[str, Any], message: str
) -> None:
    """Bad subscription input is refused before sending, without echoing passwords."""
    with pytest.raises(ValidationError, match=message) as info:
        await client.create_subscription(**kwargs)
    assert "pw" not in str(info.value)
    assert fake_http.requests == {}


async def test_get_list_delete_subscription(fake_http: aioresponses, client: NumbersClient) -> None:
    """get accepts the unwrapped shape, list filters, delete sends DELETE."""
    fake_http.get(f"{SUBS}/991a", body=sample("subscription_unwrapped.xml"))
    assert (await client.get_subscription("991a")).status == "200 OK"
    fake_http.get(SUB_LIST, body=sample("subscriptions_list.xml"))
    listed = await client.list_subscriptions(order_type="orders")
    assert [s.id for s in listed] == ["c01a23e3-eb99-4174-9598-77d5beadebcf"]
    fake_http.delete(f"{SUBS}/991a")
    await client.delete_subscription("991a")
    fake_http.get(f"{SUBS}/gone", status=404, body=sample("not_found.xml"))
    with pytest.raises(NotFoundError):
        await client.get_subscription("gone")


async def test_ensure_subscription_reuses(fake_http: aioresponses, client: NumbersClient) -> None:
    """Without credentials, a live matching subscription is reused without any write."""
    fake_http.get(SUB_LIST, body=subscription_list(("s1", "https://me.test/bw", 10**9, "cb")))
    sub = await client.ensure_subscription("https://me.test/bw")
    assert sub.id == "s1"
    assert calls(fake_http, "POST") == calls(fake_http, "PUT") == []


async def test_ensure_subscription_writes_given_credentials(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """Given credentials are always written (PUT): Bandwidth never shows the stored password."""
    fake_http.get(SUB_LIST, body=subscription_list(("s1", "https://me.test/bw", 10**9, "cb")))
    fake_http.put(f"{SUBS}/s1")
    sub = await client.ensure_subscription("https://me.test/bw", username="cb", password="new")
    assert sub.id == "s1"
    (put,) = calls(fake_http, "PUT")
    assert b"<Password>new</Password>" in put.kwargs["data"]
    assert calls(fake_http, "POST") == []


async def test_ensure_subscription_needs_both_credentials(client: NumbersClient) -> None:
    """A username without a password is refused before any request."""
    with pytest.raises(ValidationError, match="both username= and password="):
        await client.ensure_subscription("https://me.test/bw", username="cb")


async def test_ensure_subscription_renewal_without_credentials_warns(
    fake_http: aioresponses, client: NumbersClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Renewing without credentials cannot keep the stored ones, and says so."""
    fake_http.get(SUB_LIST, body=subscription_list(("s1", "https://me.test/bw", 60, "cb")))
    fake_http.put(f"{SUBS}/s1")
    await client.ensure_subscription("https://me.test/bw")
    assert len(calls(fake_http, "PUT")) == 1
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "removes its username cb" in warning.getMessage()


async def test_ensure_subscription_creates(fake_http: aioresponses, client: NumbersClient) -> None:
    """No match (other URLs only) means one creation."""
    fake_http.get(SUB_LIST, body=subscription_list(("s0", "https://other.test", 10**9, None)))
    fake_http.post(SUBS, status=201, headers={"Location": f"{SUBS}/s-new"})
    assert (await client.ensure_subscription("https://me.test/bw")).id == "s-new"


async def test_ensure_subscription_renews(fake_http: aioresponses, client: NumbersClient) -> None:
    """A subscription about to expire, or with another username, is renewed by PUT."""
    fake_http.get(SUB_LIST, body=subscription_list(("s1", "https://me.test/bw", 60, "cb")))
    fake_http.put(f"{SUBS}/s1")
    sub = await client.ensure_subscription("https://me.test/bw", username="cb", password="pw")
    assert sub.id == "s1"
    assert len(calls(fake_http, "PUT")) == 1


async def test_ensure_subscription_resolves_conflict(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """A 409 (someone else created it meanwhile) is resolved by reusing that one."""
    fake_http.get(SUB_LIST, body=subscription_list())
    fake_http.post(SUBS, status=409, body=sample("subscription_error.xml"))
    fake_http.get(SUB_LIST, body=subscription_list(("s9", "https://me.test/bw", 10**9, None)))
    assert (await client.ensure_subscription("https://me.test/bw")).id == "s9"


async def test_ensure_subscription_concurrent_callers_create_one(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """Tasks racing ensure_subscription create exactly one subscription."""
    created: list[str] = []

    def listing(url: URL, **_: Any) -> Any:
        from aioresponses import CallbackResult

        entries = [(sid, "https://me.test/bw", 10**9, None) for sid in created]
        return CallbackResult(body=subscription_list(*entries))

    def create(url: URL, **_: Any) -> Any:
        from aioresponses import CallbackResult

        created.append(f"s{len(created)}")
        return CallbackResult(status=201, headers={"Location": f"{SUBS}/{created[-1]}"})

    fake_http.get(SUB_LIST, callback=listing, repeat=True)
    fake_http.post(SUBS, callback=create, repeat=True)
    results = await asyncio.gather(
        *(client.ensure_subscription("https://me.test/bw") for _ in range(8))
    )
    assert created == ["s0"]
    assert {r.id for r in results} == {"s0"}
