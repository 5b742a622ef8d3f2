"""ensure_subscription(order_type=) and ensure_subscriptions: one subscription per order type.

Bandwidth allows one OrderType per subscription, so a receiver taking order and disconnect
notifications on one URL needs two. A tiny in-memory subscriptions endpoint behind the
transport seam (tests/fake_transport.py) plays Bandwidth.
"""

from __future__ import annotations

import asyncio
import re

import attrs
import pytest
import xmltodict

from bwnumbers import NumbersClient, ValidationError
from bwnumbers._transport import Request, Response
from tests.conftest import ROOT
from tests.fake_transport import FakeTransport

URL = "https://me.test/bw"
SUBS = "/subscriptions"
_ANY_SUBSCRIPTION = re.compile(r"/subscriptions/[^/]+")


@attrs.define
class Subscriptions:
    """Bandwidth's subscriptions of one account: listed (filtered by orderType), created."""

    rows: list[tuple[str, str, str, int]] = attrs.Factory(list)  # id, type, url, expiry
    conflict_once: set[str] = attrs.Factory(set)  # types whose next POST answers 409
    ignore_filter: bool = False  # list every type whatever orderType asks

    def install(self, transport: FakeTransport) -> None:
        transport.get(SUBS, answer=self.listed, repeat=True)
        transport.post(SUBS, answer=self.created, repeat=True)
        transport.put(
            _ANY_SUBSCRIPTION,
            answer=lambda _: Response(status=200, headers={}, body=b""),
            repeat=True,
        )

    def listed(self, request: Request) -> Response:
        wanted = None if self.ignore_filter else (request.params or {}).get("orderType")
        entries = "".join(
            f"<Subscription><SubscriptionId>{sid}</SubscriptionId><OrderType>{kind}</OrderType>"
            f"<CallbackSubscription><URL>{url}</URL><Expiry>{expiry}</Expiry>"
            "</CallbackSubscription></Subscription>"
            for sid, kind, url, expiry in self.rows
            if wanted is None or kind == wanted
        )
        body = f"<SubscriptionsResponse><Subscriptions>{entries}</Subscriptions>"
        return Response(status=200, headers={}, body=(body + "</SubscriptionsResponse>").encode())

    def created(self, request: Request) -> Response:
        assert request.body is not None
        sent = xmltodict.parse(request.body)["Subscription"]
        kind = sent["OrderType"]
        sid = f"sub-{len(self.rows) + 1}"
        self.rows.append((sid, kind, sent["CallbackSubscription"]["URL"], 10**9))
        if kind in self.conflict_once:  # another process won the race
            self.conflict_once.discard(kind)
            return Response(status=409, headers={}, body=b"<SubscriptionResponse/>")
        return Response(status=201, headers={"Location": f"{ROOT}{SUBS}/{sid}"}, body=b"")


def posted_types(transport: FakeTransport) -> list[str]:
    return [
        xmltodict.parse(r.body or b"")["Subscription"]["OrderType"]
        for r in transport.calls("POST", SUBS)
    ]


async def test_ensure_subscriptions_creates_one_per_type(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """With none, one orders and one disconnects subscription are created, in that order."""
    Subscriptions().install(fake_transport)
    created = await fake_client.ensure_subscriptions(URL)
    assert [(s.id, s.order_type, s.url) for s in created] == [
        ("sub-1", "orders", URL),
        ("sub-2", "disconnects", URL),
    ]
    assert posted_types(fake_transport) == ["orders", "disconnects"]
    assert [r.params for r in fake_transport.calls("GET", SUBS)] == [
        {"orderType": "orders"},
        {"orderType": "disconnects"},
    ]


async def test_ensure_subscriptions_reuses_each_type_and_creates_the_missing_one(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A live orders subscription is reused; an orders one never stands in for disconnects."""
    # A server ignoring the orderType filter must not make the orders one count twice.
    Subscriptions(rows=[("old-orders", "orders", URL, 10**9)], ignore_filter=True).install(
        fake_transport
    )
    found = await fake_client.ensure_subscriptions(URL)
    assert [(s.id, s.order_type) for s in found] == [
        ("old-orders", "orders"),
        ("sub-2", "disconnects"),
    ]
    assert posted_types(fake_transport) == ["disconnects"]
    again = await fake_client.ensure_subscriptions(URL, order_types=["disconnects", "orders"])
    assert [s.id for s in again] == ["sub-2", "old-orders"]
    assert len(fake_transport.calls("POST")) == 1


async def test_ensure_subscription_of_one_type(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """ensure_subscription(order_type="disconnects") ensures that type only."""
    Subscriptions(rows=[("o", "orders", URL, 10**9)]).install(fake_transport)
    sub = await fake_client.ensure_subscription(URL, order_type="disconnects")
    assert (sub.order_type, sub.url) == ("disconnects", URL)
    assert posted_types(fake_transport) == ["disconnects"]
    assert (await fake_client.ensure_subscription(URL)).id == "o"


async def test_a_conflict_is_resolved_per_type(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """A 409 for the disconnects subscription reuses the one that won; orders is unaffected."""
    Subscriptions(conflict_once={"disconnects"}).install(fake_transport)
    found = await fake_client.ensure_subscriptions(URL)
    assert [(s.id, s.order_type) for s in found] == [("sub-1", "orders"), ("sub-2", "disconnects")]


async def test_renewal_and_credentials_apply_per_type(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Credentials are written to each type's subscription, with its own OrderType."""
    Subscriptions(rows=[("o", "orders", URL, 10**9), ("d", "disconnects", URL, 10)]).install(
        fake_transport
    )
    found = await fake_client.ensure_subscriptions(URL, username="cb", password="pw")
    assert [(s.id, s.order_type, s.username) for s in found] == [
        ("o", "orders", "cb"),
        ("d", "disconnects", "cb"),
    ]
    puts = fake_transport.calls("PUT")
    assert [r.path for r in puts] == ["/subscriptions/o", "/subscriptions/d"]
    assert [xmltodict.parse(r.body or b"")["Subscription"]["OrderType"] for r in puts] == [
        "orders",
        "disconnects",
    ]


async def test_concurrent_calls_create_each_type_once(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Concurrent ensure calls in one process create one subscription per type, no more."""
    Subscriptions().install(fake_transport)
    results = await asyncio.gather(
        fake_client.ensure_subscriptions(URL),
        fake_client.ensure_subscription(URL, order_type="disconnects"),
        fake_client.ensure_subscriptions(URL, order_types=("disconnects",)),
        fake_client.ensure_subscriptions(URL),
    )
    assert sorted(posted_types(fake_transport)) == ["disconnects", "orders"]
    ids: set[str] = set()
    for result in results:
        ids.update(s.id for s in (result if isinstance(result, tuple) else (result,)))
    assert ids == {"sub-1", "sub-2"}


@pytest.mark.parametrize(
    ("order_types", "message"),
    [
        ((), "empty"),
        (("orders", "orders"), "twice"),
        ("orders", "sequence"),
        (("orders", ""), "non-empty"),
    ],
)
async def test_bad_order_types_are_refused(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    order_types: tuple[str, ...],
    message: str,
) -> None:
    """Empty, repeated or blank order types fail before any request."""
    with pytest.raises(ValidationError, match=message):
        await fake_client.ensure_subscriptions(URL, order_types=order_types)
    with pytest.raises(ValidationError, match="both username= and password="):
        await fake_client.ensure_subscriptions(URL, username="cb")
    assert fake_transport.requests == []
