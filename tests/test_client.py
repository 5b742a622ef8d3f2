"""NumbersClient where patching aiohttp is the point: sessions, the request as aiohttp gets it,
connection errors and timeouts (aioresponses).

Request building and response handling are tested through the transport seam, in
tests/test_client_requests.py, which runs on any aiohttp version.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses

import bwnumbers
from bwnumbers import (
    AmbiguousOrderError,
    NumbersClient,
    OrderStatus,
    TransportError,
)
from tests.conftest import ACCOUNT, BASE, ROOT, TOKEN, calls, sample

ORDERS = f"{ROOT}/orders"
ORDER_LOOKUP = re.compile(rf"^{re.escape(ORDERS)}\?customerOrderId=.*$")
CREATED = {"Location": f"{ORDERS}/c9dg306c-gdh7-77j7-812c-0520c8f49123"}


def refused() -> aiohttp.ClientConnectorError:
    """A connection refused before anything was sent."""
    # ConnectionKey's fields differ between aiohttp versions; fill what str() needs.
    blank = ConnectionKey(*[None] * len(ConnectionKey._fields))
    key = blank._replace(host="dashboard.example.test", port=443, is_ssl=True, ssl=True)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


def order_list(customer_order_id: str, order_id: str = "adopted-1") -> bytes:
    return (
        "<ResponseSelectWrapper><ListOrderIdUserIdDate><TotalCount>1</TotalCount>"
        f"<OrderIdUserIdDate><CustomerOrderId>{customer_order_id}</CustomerOrderId>"
        f"<orderId>{order_id}</orderId><OrderStatus>RECEIVED</OrderStatus>"
        "</OrderIdUserIdDate></ListOrderIdUserIdDate></ResponseSelectWrapper>"
    ).encode()


# ---------------------------------------------------------------- construction and lifecycle


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


# ---------------------------------------------------------------- retries


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


# ---------------------------------------------------------------- POST /orders safety


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
        {"exception": aiohttp.ServerDisconnectedError()},
        {"exception": TimeoutError()},
    ],
)
async def test_ambiguous_post_adopts_the_order(
    fake_http: aioresponses, client: NumbersClient, failure: dict[str, Any]
) -> None:
    """After a reset or timeout the order is found by customer order id, never re-posted."""
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
    assert lookup.kwargs["params"] == {"customerOrderId": "cust-42", "page": "1", "size": "1000"}


async def test_ambiguous_post_lookup_failing_raises(
    fake_http: aioresponses, client: NumbersClient
) -> None:
    """If the lookup itself fails: AmbiguousOrderError, and still exactly one POST."""
    fake_http.post(ORDERS, exception=aiohttp.ServerDisconnectedError())
    fake_http.get(ORDER_LOOKUP, status=500, repeat=True)
    with pytest.raises(AmbiguousOrderError, match="failed too"):
        await client.create_order(site_id="743", numbers=["5402278098"])
    assert len(calls(fake_http, "POST")) == 1
