"""The emulator's disconnects over raw HTTP: the request variants Bandwidth documents, its
validation codes, COMPLETE/PARTIAL/FAILED, notifications per subscription type, the fault
knob, the DISCONNECT rate limit and the paged, filtered list."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bwnumbers._exceptions import DecodeError
from bwnumbers._xml._tree import parse_document
from bwnumbers.testing import BandwidthEmulator, RateLimit
from tests.lifecycle_http import XML, Answer, Api, api_for, disconnect, texts
from tests.receivers import RecordingReceiver

OWNED = ("5405514342", "5405515330", "5405515329")  # the ordering guide's numbers
NOT_OURS = "5402278098"
REQUEST = "orderRequest/DisconnectTelephoneNumberOrderType"


@pytest.fixture
async def api(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[Api]:
    async with api_for(bandwidth_emulator) as raw:
        await raw.order(*OWNED)
        yield raw


async def test_the_answer_is_the_docs_201(api: Api) -> None:
    """201, Location = .../disconnects/{id}, orderRequest with lower-case id, RECEIVED."""
    body = disconnect(OWNED[:2], top="<CustomerOrderId>My OrderId</CustomerOrderId>")
    answer = await api.call("POST", "/disconnects", body)
    assert (answer.status, answer.root) == (201, "DisconnectTelephoneNumberOrderResponse")
    prefix, disconnect_id = answer.headers["Location"].rsplit("/", 1)
    assert prefix == f"{api.account}/disconnects"
    assert answer.texts("orderRequest/id") == [disconnect_id]
    assert answer.texts("orderRequest/CustomerOrderId") == ["My OrderId"]
    assert answer.texts(f"{REQUEST}/TelephoneNumberList/TelephoneNumber") == list(OWNED[:2])
    assert answer.texts(f"{REQUEST}/DisconnectMode") == ["normal"]
    assert answer.texts("OrderStatus") == ["RECEIVED"]
    assert answer.text("orderRequest/OrderCreateDate")


@pytest.mark.parametrize(
    ("top", "extra", "name", "mode", "protected"),
    [
        ("<Name>old</Name>", "", "old", "normal", None),
        ("<name>lower</name>", "<DisconnectMode>NORMAL</DisconnectMode>", "lower", "normal", None),
        ("", "<DisconnectMode>PURGE</DisconnectMode>", None, "purge", None),
        ("", "<DisconnectMode>Soft-Remove</DisconnectMode>", None, "soft-remove", None),
        ("<DisconnectMode>purge</DisconnectMode>", "", None, "purge", None),
        ("", "<Protected>unchanged</Protected>", None, "normal", "UNCHANGED"),
        ("", "<DisconnectMode>normal</DisconnectMode><Protected>TRUE</Protected>", None,
         "normal", "TRUE"),
    ],
)  # fmt: skip
async def test_documented_variants_are_accepted(
    api: Api, top: str, extra: str, name: str | None, mode: str, protected: str | None
) -> None:
    """Name or name, either DisconnectMode vocabulary in any case, Protected; echoed."""
    answer = await api.call("POST", "/disconnects", disconnect(OWNED[:1], extra=extra, top=top))
    assert answer.status == 201, answer.body
    assert answer.texts("orderRequest/Name") == ([name] if name else [])
    assert answer.texts(f"{REQUEST}/DisconnectMode") == [mode]
    assert answer.texts(f"{REQUEST}/Protected") == ([protected] if protected else [])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (disconnect(OWNED[:1], top="<CustomerOrderId>bad_id!</CustomerOrderId>"), "5052"),
        (disconnect(OWNED[:1], top=f"<Name>{'n' * 51}</Name>"), "5002"),
        (disconnect(()), "5002"),
        (disconnect(("540551434",)), "5070"),
        (disconnect((OWNED[0], OWNED[0])), "5093"),
        (disconnect(OWNED[:1], extra="<DisconnectMode>obsolete</DisconnectMode>"), "5084"),
        (disconnect(OWNED[:1], extra="<Protected>MAYBE</Protected>"), "5108"),
        (
            disconnect(
                OWNED[:1], extra="<DisconnectMode>PURGE</DisconnectMode><Protected>TRUE</Protected>"
            ),
            "5109",
        ),
        ("<Order/>", "5002"),
        ("<DisconnectTelephoneNumberOrder>", "5002"),
    ],
)
async def test_bad_requests_get_bandwidths_codes(api: Api, body: str, code: str) -> None:
    """400 with the code in DisconnectTelephoneNumberOrderResponse/ErrorList; nothing created."""
    answer = await api.call("POST", "/disconnects", body)
    assert (answer.status, answer.root) == (400, "DisconnectTelephoneNumberOrderResponse")
    assert answer.texts("ErrorList/Error/Code") == [code]
    assert api.emulator.disconnect_count == 0


async def read(api: Api, disconnect_id: str) -> Answer:
    answer = await api.call("GET", f"/disconnects/{disconnect_id}")
    assert (answer.status, answer.root) == (200, "DisconnectTelephoneNumberOrderResponse")
    return answer


async def test_complete_partial_and_failed(api: Api) -> None:
    """In-service numbers are disconnected; the others fail with 5006 and their number."""
    complete = await read(api, await api.disconnect(OWNED[0]))
    assert complete.texts("OrderStatus") == ["COMPLETE"]
    assert complete.texts("DisconnectedTelephoneNumberList/TelephoneNumber") == [OWNED[0]]
    assert "ErrorList" in complete.node
    assert complete.texts("ErrorList/Error/Code") == []
    partial = await read(api, await api.disconnect(OWNED[1], NOT_OURS))
    assert partial.texts("OrderStatus") == ["PARTIAL"]
    assert partial.texts("DisconnectedTelephoneNumberList/TelephoneNumber") == [OWNED[1]]
    assert partial.texts("ErrorList/Error/Code") == ["5006"]
    assert partial.texts("ErrorList/Error/TelephoneNumber") == [NOT_OURS]
    failed = await read(api, await api.disconnect(OWNED[0], NOT_OURS))  # OWNED[0] is aging
    assert failed.texts("OrderStatus") == ["FAILED"]
    assert "DisconnectedTelephoneNumberList" not in failed.node
    assert failed.texts("ErrorList/Error/TelephoneNumber") == [OWNED[0], NOT_OURS]
    assert api.emulator.number_status(OWNED[0]) == "Aging"
    assert (await api.call("GET", "/disconnects/no-such-id")).status == 404


async def test_a_pending_disconnect_reads_received(bandwidth_emulator: BandwidthEmulator) -> None:
    async with api_for(bandwidth_emulator) as api:
        await api.order(OWNED[0])
        bandwidth_emulator.order_delay = 60
        pending = await read(api, await api.disconnect(OWNED[0], settle=False))
        assert pending.texts("OrderStatus") == ["RECEIVED"]
        assert bandwidth_emulator.number_status(OWNED[0]) == "Inservice"


def subscription(url: str, order_type: str) -> str:
    return (
        f"<Subscription><OrderType>{order_type}</OrderType><CallbackSubscription><URL>{url}"
        "</URL><Expiry>3600</Expiry></CallbackSubscription></Subscription>"
    )


async def test_notifications_go_to_the_subscriptions_of_their_type(api: Api) -> None:
    """A disconnect notifies `disconnects` subscriptions only; an order `orders` ones only."""
    async with RecordingReceiver() as orders, RecordingReceiver() as disconnects:
        for url, kind in ((orders.url, "orders"), (disconnects.url, "disconnects")):
            assert (await api.call("POST", "/subscriptions", subscription(url, kind))).status == 201
        body = disconnect(OWNED[:2], top="<CustomerOrderId>release-1</CustomerOrderId>")
        created = await api.call("POST", "/disconnects", body)
        disconnect_id = created.headers["Location"].rsplit("/", 1)[1]
        await api.emulator.settle()
        assert orders.requests == []
        (received,) = disconnects.requests
        await api.order(NOT_OURS)
        assert len(orders.requests) == 1
        assert len(disconnects.requests) == 1
    _root, node = parse_document(received.body, ("Notification",))
    assert texts(node, "OrderType") == ["disconnects"]
    assert texts(node, "OrderId") == [disconnect_id]
    assert texts(node, "CustomerOrderId") == ["release-1"]
    assert texts(node, "Status") == ["COMPLETE"]
    assert texts(node, "CompletedTelephoneNumbers/TelephoneNumber") == list(OWNED[:2])
    assert texts(node, "SubscriptionId")
    assert texts(node, "LastModifiedDate")
    kinds = [(d.order_type, d.order_id) for d in api.emulator.deliveries]
    assert kinds[0] == ("disconnects", disconnect_id)
    assert kinds[1][0] == "orders"


async def test_dropped_disconnect_notifications(api: Api) -> None:
    """drop_callbacks loses disconnect notifications too; the disconnect still happens."""
    async with RecordingReceiver() as receiver:
        await api.call("POST", "/subscriptions", subscription(receiver.url, "disconnects"))
        api.emulator.faults.drop_callbacks = 1.0
        disconnect_id = await api.disconnect(OWNED[0])
    assert receiver.requests == []
    (delivery,) = api.emulator.deliveries
    assert (delivery.order_type, delivery.order_id, delivery.dropped) == (
        "disconnects",
        disconnect_id,
        True,
    )
    assert api.emulator.disconnect_status(disconnect_id) == "COMPLETE"


@pytest.mark.parametrize("failure", ["500", "disconnect", "truncate"])
async def test_fail_next_disconnect_commits_exactly_one(api: Api, failure: Any) -> None:
    """The disconnect is committed and processed, then the answer fails; the next is normal."""
    api.emulator.faults.fail_next_disconnect = failure
    url = f"{api.account}/disconnects"
    try:
        async with api.session.post(
            url, data=disconnect(OWNED[:1]), headers={**api.authorization, **XML}
        ) as response:
            status, body = response.status, await response.read()
    except aiohttp.ClientError:
        status, body = 0, b""
    expected = {"500": 500, "disconnect": 0, "truncate": 201}[failure]
    assert status == expected
    if failure == "truncate":
        with pytest.raises(DecodeError):
            parse_document(body, None)
    await api.emulator.settle()
    assert api.emulator.disconnect_count == 1
    assert api.emulator.number_status(OWNED[0]) == "Aging"
    assert api.emulator.faults.fail_next_disconnect is None
    await api.disconnect(OWNED[1])
    assert api.emulator.disconnect_count == 2


async def test_the_disconnect_rate_limit() -> None:
    """POST /disconnects is the DISCONNECT group: over the limit, 429 and nothing executed."""
    limits = {"DISCONNECT": RateLimit(per_window=1, window=3600)}
    async with BandwidthEmulator(rate_limits=limits) as emulator, api_for(emulator) as api:
        await api.order(*OWNED)
        await api.disconnect(OWNED[0])
        refused = await api.call("POST", "/disconnects", disconnect(OWNED[1:2]))
        assert refused.status == 429
        assert emulator.disconnect_count == 1
        assert (await api.call("GET", "/disconnects")).status == 200  # reading is not limited
        assert emulator.rate_limit_counts["DISCONNECT"].refused == 1


# ---------------------------------------------------------------- the list


def next_link(answer: Answer) -> dict[str, str] | None:
    """The query of the ``next`` link, checked to point at the same list."""
    link = answer.text("ListOrderIdUserIdDate/Links/next")
    if not link:
        return None
    assert link.startswith("Link=<")
    assert link.endswith('>;rel="next";')
    url = urllib.parse.urlsplit(link[len("Link=<") : -len('>;rel="next";')])
    return dict(urllib.parse.parse_qsl(url.query))


async def test_the_list_pages_with_links_and_filters(api: Api) -> None:
    """5 disconnects, size 2: 3 pages by the next links, filters kept, rows without a coid."""
    ids = [await api.disconnect(n, extra="", settle=True) for n in (*OWNED, NOT_OURS, "5405514342")]
    query = {"status": "complete", "size": "2"}
    seen: list[str] = []
    pages = 0
    while True:
        answer = await api.call("GET", "/disconnects?" + urllib.parse.urlencode(query))
        assert (answer.status, answer.root) == (200, "ResponseSelectWrapper")
        assert answer.texts("ListOrderIdUserIdDate/TotalCount") == ["3"]
        rows = "ListOrderIdUserIdDate/OrderIdUserIdDate"
        assert set(answer.texts(f"{rows}/OrderType")) == {"disconnect"}
        assert answer.texts(f"{rows}/CustomerOrderId") == []
        seen += answer.texts(f"{rows}/OrderId")
        pages += 1
        following = next_link(answer)
        if following is None:
            break
        assert following["status"] == "complete"
        query = following
    assert (pages, seen) == (2, ids[:3])
    everything: list[str] = []
    query = {"size": "2"}
    for _ in range(3):
        answer = await api.call("GET", "/disconnects?" + urllib.parse.urlencode(query))
        everything += answer.texts("ListOrderIdUserIdDate/OrderIdUserIdDate/OrderId")
        query = next_link(answer) or {}
    assert everything == ids
    assert query == {}


async def test_the_list_filters_by_date_and_answers_204_when_empty(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    async with api_for(bandwidth_emulator) as api:
        assert (await api.call("GET", "/disconnects")).status == 204
        await api.disconnect(NOT_OURS)
        today = dt.datetime.now(dt.UTC).date()
        day = dt.timedelta(days=1)
        window = f"startdate={(today - day):%y-%m-%d}&enddate={today:%Y-%m-%d}"
        assert (await api.call("GET", f"/disconnects?{window}")).status == 200
        later = f"startdate={(today + day):%y-%m-%d}&enddate={(today + 2 * day):%y-%m-%d}"
        assert (await api.call("GET", f"/disconnects?{later}")).status == 204
        assert (await api.call("GET", "/disconnects?status=partial")).status == 204
        for bad in ("size=0", "size=5001", "status=done", "startdate=yesterday", "page=nope"):
            assert (await api.call("GET", f"/disconnects?{bad}")).status == 400
