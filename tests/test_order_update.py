"""``PUT /orders/{id}`` renames an order, changes its customer order id, and closes backorders.

The emulator end to end with raw HTTP (the specification's ``UpdateOrder`` example sent as it
is written), ``NumbersClient.update_order`` against the emulator, and its request building
against the fake transport.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest

from bwnumbers import NotFoundError, NumbersClient, OrderStatus, Search, ValidationError
from bwnumbers.testing import BandwidthEmulator
from tests.fake_transport import FakeTransport
from tests.lifecycle_http import Answer, Api, api_for
from tests.receivers import RecordingReceiver
from tests.spec_conformance import OPERATIONS

# Bandwidth's specification's UpdateOrder request example (tests/data/numbers_spec), verbatim:
# it names no account, site or number.
SPEC_PUT_EXAMPLE: str = OPERATIONS["UpdateOrder"]["requests"]["example"]

BACKORDER = (
    "<Order><CustomerOrderId>first-id</CustomerOrderId><Name>before</Name>"
    "<BackOrderRequested>true</BackOrderRequested><PartialAllowed>true</PartialAllowed>"
    "<AreaCodeSearchAndOrderType><AreaCode>512</AreaCode><Quantity>25</Quantity>"
    "</AreaCodeSearchAndOrderType><SiteId>743</SiteId></Order>"
)
BY_NUMBER = (
    "<Order><CustomerOrderId>first-id</CustomerOrderId><Name>before</Name>"
    "<ExistingTelephoneNumberOrderType><TelephoneNumberList><TelephoneNumber>5402278098"
    "</TelephoneNumber></TelephoneNumberList></ExistingTelephoneNumberOrderType>"
    "<SiteId>743</SiteId></Order>"
)


@pytest.fixture
async def api(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[Api]:
    async with api_for(bandwidth_emulator) as raw:
        yield raw


async def place(api: Api, body: str) -> str:
    """POST *body*, let the order take its first step; the order id."""
    answer = await api.call("POST", "/orders", body)
    assert answer.status == 201, answer.body
    await api.emulator.settle()
    order_id = answer.text("Order/id")
    assert order_id is not None
    return order_id


async def order_of(api: Api, order_id: str) -> Answer:
    answer = await api.call("GET", f"/orders/{order_id}")
    assert answer.status == 200, answer.body
    return answer


async def listed(api: Api, customer_order_id: str) -> list[str]:
    """The ids of the orders ``GET /orders?customerOrderId=`` finds."""
    answer = await api.call("GET", "/orders", params={"customerOrderId": customer_order_id})
    return answer.texts("ListOrderIdUserIdDate/OrderIdUserIdDate/orderId")


# ---------------------------------------------------------------- the emulator, raw


async def test_the_specs_example_updates_and_closes_a_backorder(api: Api) -> None:
    """The example renames, re-ids and closes in one PUT; the close notification has the new id."""
    async with RecordingReceiver() as receiver:
        subscribed = await api.call(
            "POST",
            "/subscriptions",
            f"<Subscription><OrderType>orders</OrderType><CallbackSubscription><URL>"
            f"{receiver.url}</URL><Expiry>3600</Expiry></CallbackSubscription></Subscription>",
        )
        assert subscribed.status == 201, subscribed.body
        order_id = await place(api, BACKORDER)
        assert (await order_of(api, order_id)).text("OrderStatus") == "BACKORDERED"

        answer = await api.call("PUT", f"/orders/{order_id}", SPEC_PUT_EXAMPLE)
        await api.emulator.settle()

    assert (answer.status, answer.root, answer.body.split(b"?>")[-1]) == (
        200,
        "OrderResponse",
        b"<OrderResponse />",
    )
    got = await order_of(api, order_id)
    assert got.text("Order/Name") == "Available Telephone Number order"
    assert got.text("Order/CustomerOrderId") == "123456789"
    assert got.text("OrderStatus") in ("PARTIAL", "FAILED")
    assert await listed(api, "123456789") == [order_id]
    assert await listed(api, "first-id") == []
    history = await api.call("GET", f"/orders/{order_id}/history")
    assert history.texts("OrderHistory/Note")[-2:] == [
        "Order updated: Name set to 'Available Telephone Number order', "
        "CustomerOrderId set to '123456789'",
        "Order closed by customer",
    ]
    closed = ET.fromstring(receiver.requests[-1].body)  # noqa: S314 - the emulator's own XML
    assert closed.findtext("Status") in ("PARTIAL", "FAILED")
    assert closed.findtext("CustomerOrderId") == "123456789"


@pytest.mark.parametrize("close", ["", "<CloseOrder>false</CloseOrder>"])
async def test_an_update_without_closing_works_in_any_status(api: Api, close: str) -> None:
    """Without CloseOrder (or with false) a COMPLETE order is updated and stays COMPLETE."""
    order_id = await place(api, BY_NUMBER)
    body = f"<Order><CustomerOrderId>second-id</CustomerOrderId>{close}</Order>"

    answer = await api.call("PUT", f"/orders/{order_id}", body)

    assert answer.status == 200, answer.body
    got = await order_of(api, order_id)
    assert (got.text("Order/Name"), got.text("Order/CustomerOrderId")) == ("before", "second-id")
    assert got.text("OrderStatus") == "COMPLETE"
    assert await listed(api, "second-id") == [order_id]
    history = await api.call("GET", f"/orders/{order_id}/history")
    assert history.texts("OrderHistory/Status")[-1] == "COMPLETE"
    assert history.texts("OrderHistory/Note")[-1] == (
        "Order updated: CustomerOrderId set to 'second-id'"
    )


async def test_a_later_notification_carries_the_new_customer_order_id(api: Api) -> None:
    """A backorder re-id'd before numbers arrive completes under its new customer order id."""
    async with RecordingReceiver() as receiver:
        await api.call(
            "POST",
            "/subscriptions",
            f"<Subscription><OrderType>orders</OrderType><CallbackSubscription><URL>"
            f"{receiver.url}</URL><Expiry>3600</Expiry></CallbackSubscription></Subscription>",
        )
        order_id = await place(api, BACKORDER)
        answer = await api.call(
            "PUT",
            f"/orders/{order_id}",
            "<Order><CustomerOrderId>renamed</CustomerOrderId></Order>",
        )
        assert answer.status == 200, answer.body
        api.emulator.add_numbers([f"51255590{i:02d}" for i in range(25)])
        await api.emulator.settle()
    statuses = [ET.fromstring(r.body) for r in receiver.requests]  # noqa: S314
    assert [(n.findtext("Status"), n.findtext("CustomerOrderId")) for n in statuses] == [
        ("BACKORDERED", "first-id"),
        ("COMPLETE", "renamed"),
    ]


async def test_a_refused_close_updates_nothing(api: Api) -> None:
    """Closing a COMPLETE order is 5060, and the name sent with it is not applied either."""
    order_id = await place(api, BY_NUMBER)
    body = "<Order><Name>after</Name><CloseOrder>true</CloseOrder></Order>"

    answer = await api.call("PUT", f"/orders/{order_id}", body)

    assert (answer.status, answer.texts("ErrorList/Error/Code")) == (400, ["5060"])
    assert (await order_of(api, order_id)).text("Order/Name") == "before"


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ("<Order/>", "5002", "nothing to update"),
        ("<Order><CloseOrder>false</CloseOrder></Order>", "5002", "nothing to update"),
        ("<Order><PartialAllowed>true</PartialAllowed></Order>", "5002", "nothing to update"),
        ("<Order><CloseOrder>yes</CloseOrder></Order>", "5002", "CloseOrder"),
        (f"<Order><Name>{'n' * 51}</Name></Order>", "5002", "Name"),
        ("<Order><Name> </Name></Order>", "5002", "Name"),
        ("<Order><CustomerOrderId>bad_id!</CustomerOrderId></Order>", "5052", "Customer"),
        (f"<Order><CustomerOrderId>{'c' * 41}</CustomerOrderId></Order>", "5052", "Customer"),
        ("<Order><CustomerOrderId/></Order>", "5052", "Customer"),
        (
            "<Order><Name>after</Name><CustomerOrderId>bad_id!</CustomerOrderId></Order>",
            "5052",
            "Customer",
        ),
    ],
)
async def test_a_bad_update_is_refused_and_changes_nothing(
    api: Api, body: str, code: str, words: str
) -> None:
    """Each refusal is a 400 OrderResponse/ErrorList; the order keeps its name and id."""
    order_id = await place(api, BY_NUMBER)

    answer = await api.call("PUT", f"/orders/{order_id}", body)

    assert (answer.status, answer.root) == (400, "OrderResponse")
    assert answer.texts("ErrorList/Error/Code") == [code]
    assert words in (answer.text("ErrorList/Error/Description") or "")
    got = await order_of(api, order_id)
    assert (got.text("Order/Name"), got.text("Order/CustomerOrderId")) == ("before", "first-id")


async def test_an_unknown_order_is_404(api: Api) -> None:
    answer = await api.call("PUT", "/orders/nope", "<Order><Name>x</Name></Order>")
    assert answer.status == 404


# ---------------------------------------------------------------- the client on the emulator


async def test_update_order_renames_and_re_ids(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """find_order finds the order by its new id only; get_order shows both changes."""
    order = await client.create_order(
        site_id="743", numbers=["5402278098"], customer_order_id="old-id", name="before"
    )
    assert order.id is not None
    await bandwidth_emulator.settle()

    await client.update_order(order.id, name="after", customer_order_id="new-id")

    details = await client.get_order(order.id)
    assert (details.order.name, details.customer_order_id) == ("after", "new-id")
    assert details.status is OrderStatus.COMPLETE
    found = await client.find_order("new-id")
    assert found is not None
    assert found.id == order.id
    assert await client.find_order("old-id") is None
    history = await client.get_order_history(order.id)
    assert history[-1].note == "Order updated: Name set to 'after', CustomerOrderId set to 'new-id'"


async def test_update_order_then_close_order(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A backorder renamed with update_order is still closed by close_order."""
    order = await client.create_order(
        site_id="743", search=Search(area_code="512", quantity=25), back_order_requested=True
    )
    assert order.id is not None
    await bandwidth_emulator.settle()
    await client.update_order(order.id, name="renamed backorder")
    await client.close_order(order.id)
    details = await client.get_order(order.id)
    assert (details.order.name, details.status) == ("renamed backorder", OrderStatus.FAILED)


async def test_update_order_of_an_unknown_order(bandwidth_emulator: BandwidthEmulator) -> None:
    async with bandwidth_emulator.client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.update_order("nope", name="x")
    assert info.value.order_id == "nope"


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


# ---------------------------------------------------------------- the client's request


async def test_update_order_puts_name_and_customer_order_id(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """The body is the specification's OrderUpdate without CloseOrder; only what was given."""
    fake_transport.put("/orders/o%201", body=b"<OrderResponse/>")
    fake_transport.put("/orders/o%201", body=b"<OrderResponse/>")

    await fake_client.update_order("o 1", name="New & improved", customer_order_id="c-2")
    await fake_client.update_order("o 1", customer_order_id="c-3")

    first, second = fake_transport.calls("PUT")
    assert first.body is not None
    assert first.body.endswith(
        b"<Order><Name>New &amp; improved</Name><CustomerOrderId>c-2</CustomerOrderId></Order>"
    )
    assert second.body is not None
    assert second.body.endswith(b"<Order><CustomerOrderId>c-3</CustomerOrderId></Order>")


async def test_update_order_is_retried_as_a_put(
    fake_transport: FakeTransport, fake_client: NumbersClient, sleeps: list[float]
) -> None:
    """A 503 is retried (a PUT is idempotent): the same body goes out twice."""
    fake_transport.put("/orders/o1", status=503)
    fake_transport.put("/orders/o1", body=b"<OrderResponse/>")

    await fake_client.update_order("o1", name="again")

    first, second = fake_transport.calls("PUT")
    assert first.body == second.body
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({}, "name= and/or customer_order_id="),
        ({"name": ""}, "name= is empty"),
        ({"name": "n" * 51}, "at most 50"),
        ({"customer_order_id": "bad_id!"}, "customer_order_id='bad_id!' is invalid"),
        ({"customer_order_id": "c" * 41}, "at most 40"),
        ({"name": "ok", "customer_order_id": 7}, "customer_order_id=7 is invalid"),
    ],
)
async def test_update_order_checks_before_sending(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    kwargs: dict[str, object],
    words: str,
) -> None:
    with pytest.raises(ValidationError, match=words.replace("(", r"\(")):
        await fake_client.update_order("o1", **kwargs)  # type: ignore[arg-type]
    assert fake_transport.requests == []
