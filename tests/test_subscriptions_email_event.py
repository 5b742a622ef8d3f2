"""Email and event subscriptions, NumberFormat and quoted URLs: the client and the emulator.

Bandwidth's specification (Bandwidth/api-docs ``site/specs/numbers.yml``, commit 2fcdf57e,
``POST /accounts/{accountId}/subscriptions``) gives four request examples: a callback or an
email subscription, to an order type or to an event type. The client's bodies are checked
through the transport seam (tests/fake_transport.py), then each kind is driven end to end
against the real emulator; tests/test_subscriptions_email_event_raw.py sends the examples
themselves.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from bwnumbers import NumbersClient, Subscription, ValidationError
from bwnumbers import _xml as codec
from bwnumbers._transport import Response
from bwnumbers.testing import BandwidthEmulator
from tests.conftest import ROOT
from tests.fake_transport import FakeTransport
from tests.receivers import RecordingReceiver

SUBS = "/subscriptions"
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def created(subscription_id: str = "sub-1") -> Response:
    return Response(status=201, headers={"Location": f"{ROOT}{SUBS}/{subscription_id}"}, body=b"")


def sent(transport: FakeTransport, method: str = "POST") -> bytes:
    (request,) = transport.calls(method)
    assert request.body is not None
    return request.body.removeprefix(DECLARATION.encode())


# ---------------------------------------------------------------- request bodies


async def test_an_email_subscription_by_order_type(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """OrderType, OrderId, then EmailSubscription; the digest is sent in upper case."""
    fake_transport.post(SUBS, answer=lambda _: created())
    got = await fake_client.create_subscription(
        email="ops@example.com", digest="daily", order_type="portins", order_id="o-1"
    )
    assert sent(fake_transport) == (
        b"<Subscription><OrderType>portins</OrderType><OrderId>o-1</OrderId>"
        b"<EmailSubscription><Email>ops@example.com</Email>"
        b"<DigestRequested>DAILY</DigestRequested></EmailSubscription></Subscription>"
    )
    assert got == Subscription(
        id="sub-1", order_type="portins", order_id="o-1", email="ops@example.com", digest="DAILY"
    )


async def test_an_email_subscription_by_event_type_digests_none_by_default(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.post(SUBS, answer=lambda _: created())
    got = await fake_client.create_subscription(
        email="ops@example.com", event_type="MESSAGING_LOST"
    )
    assert sent(fake_transport) == (
        b"<Subscription><EventType>MESSAGING_LOST</EventType>"
        b"<EmailSubscription><Email>ops@example.com</Email>"
        b"<DigestRequested>NONE</DigestRequested></EmailSubscription></Subscription>"
    )
    assert (got.event_type, got.order_type, got.digest, got.url) == (
        "MESSAGING_LOST", None, "NONE", None,
    )  # fmt: skip


async def test_a_callback_subscription_by_event_type_with_a_number_format(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """NumberFormat is sent as given, after CallbackCredentials, as in the spec's example."""
    fake_transport.post(SUBS, answer=lambda _: created())
    got = await fake_client.create_subscription(
        "https://me.test/bw",
        event_type="MESSAGING_LOST",
        username="cb",
        password="pw",
        expiry=600,
        number_format="E164",
    )
    assert sent(fake_transport) == (
        b"<Subscription><EventType>MESSAGING_LOST</EventType><CallbackSubscription>"
        b"<URL>https://me.test/bw</URL><Expiry>600</Expiry><CallbackCredentials>"
        b"<BasicAuthentication><Username>cb</Username><Password>pw</Password>"
        b"</BasicAuthentication></CallbackCredentials><NumberFormat>E164</NumberFormat>"
        b"</CallbackSubscription></Subscription>"
    )
    assert (got.event_type, got.number_format, got.username) == ("MESSAGING_LOST", "E164", "cb")


async def test_a_positional_url_still_subscribes_to_orders(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.post(SUBS, answer=lambda _: created())
    got = await fake_client.create_subscription("https://me.test/bw", expiry=60)
    assert sent(fake_transport) == (
        b"<Subscription><OrderType>orders</OrderType><CallbackSubscription>"
        b"<URL>https://me.test/bw</URL><Expiry>60</Expiry></CallbackSubscription></Subscription>"
    )
    assert (got.order_type, got.url, got.expiry) == ("orders", "https://me.test/bw", 60)


async def test_update_to_an_email_subscription(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.put(f"{SUBS}/sub-9")
    got = await fake_client.update_subscription("sub-9", email="ops@example.com", digest="NONE")
    assert sent(fake_transport, "PUT") == (
        b"<Subscription><OrderType>orders</OrderType><EmailSubscription>"
        b"<Email>ops@example.com</Email><DigestRequested>NONE</DigestRequested>"
        b"</EmailSubscription></Subscription>"
    )
    assert (got.id, got.email, got.url) == ("sub-9", "ops@example.com", None)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"url": "https://me.test/bw", "email": "a@b.test"}, r"url= .* or email= .*\(both"),
        ({}, r"url= .* or email= .*\(neither"),
        ({"email": "a@b.test", "event_type": "MESSAGING_LOST", "order_type": "orders"}, "not both"),
        ({"email": "nobody"}, "email='nobody' is not an email address"),
        ({"email": "a@b.test", "username": "u", "password": "p"}, "callback subscriptions only"),
        ({"email": "a@b.test", "number_format": "LEGACY"}, "callback subscriptions only"),
        ({"email": "a@b.test", "expiry": 60}, "email subscriptions do not expire"),
        ({"email": "a@b.test", "digest": "weekly"}, "digest='weekly' is not a digest frequency"),
        ({"url": "https://me.test/bw", "digest": "DAILY"}, "email subscriptions only"),
        (
            {"url": "https://me.test/bw", "event_type": "MESSAGING_LOST", "order_id": "o"},
            "order_id",
        ),
    ],
)
async def test_conflicting_arguments_are_refused_before_any_request(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    arguments: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        await fake_client.create_subscription(**arguments)
    assert str(raised.value).endswith(".")
    with pytest.raises(ValidationError, match=message):
        await fake_client.update_subscription("sub-1", **arguments)
    assert fake_transport.requests == []


# ---------------------------------------------------------------- decoding


def test_every_variant_of_the_spec_list_example_decodes() -> None:
    """The GetSubscriptions example (abridged Status): email, callback, by order or event."""
    callback = (
        '<CallbackSubscription><URL>"https://company.com/iriscallback"</URL><Expiry>30000</Expiry>'
        "<Status>200 OK</Status><CallbackCredentials><BasicAuthentication><Username>iris"
        "</Username></BasicAuthentication></CallbackCredentials><NumberFormat>LEGACY</NumberFormat>"
        "</CallbackSubscription>"
    )
    body = (
        "<SubscriptionsResponse><Subscriptions>"
        "<Subscription><SubscriptionId>a</SubscriptionId><OrderType>orders</OrderType>"
        "<EmailSubscription><Email>bwtest@gmail.com</Email><DigestRequested>NONE</DigestRequested>"
        f"</EmailSubscription></Subscription><Subscription><SubscriptionId>b</SubscriptionId>"
        f"{callback}</Subscription><Subscription><SubscriptionId>c</SubscriptionId>"
        "<EventType>MESSAGING_LOST</EventType><EmailSubscription><Email>bwtest@gmail.com</Email>"
        "<DigestRequested>DAILY</DigestRequested></EmailSubscription></Subscription>"
        "<Subscription><SubscriptionId>d</SubscriptionId><EventType>MESSAGING_LOST</EventType>"
        f"{callback}</Subscription></Subscriptions></SubscriptionsResponse>"
    )
    a, b, c, d = codec.decode_subscriptions(body.encode())
    assert a == Subscription(id="a", order_type="orders", email="bwtest@gmail.com", digest="NONE")
    assert b == Subscription(
        id="b",
        url='"https://company.com/iriscallback"',
        expiry=30000,
        status="200 OK",
        username="iris",
        number_format="LEGACY",
    )
    assert c == Subscription(
        id="c", event_type="MESSAGING_LOST", email="bwtest@gmail.com", digest="DAILY"
    )
    assert d == attrs.evolve(b, id="d", event_type="MESSAGING_LOST")


def test_the_unwrapped_event_callback_example_decodes() -> None:
    """GetSubscription's eventCallbackSubscription example has no <Subscriptions> wrapper."""
    body = (
        b"<SubscriptionsResponse><Subscription><SubscriptionId>e</SubscriptionId>"
        b"<EventType>MESSAGING_LOST</EventType><CallbackSubscription>"
        b"<URL>http://customer.com:8087/path/BandwidthHandler</URL><Expiry>4283455101</Expiry>"
        b"<Status>200 OK</Status><NumberFormat>LEGACY</NumberFormat></CallbackSubscription>"
        b"</Subscription></SubscriptionsResponse>"
    )
    (got,) = codec.decode_subscriptions(body)
    assert (got.event_type, got.url, got.number_format) == (
        "MESSAGING_LOST", "http://customer.com:8087/path/BandwidthHandler", "LEGACY",
    )  # fmt: skip


async def test_ensure_subscription_never_takes_an_email_or_event_subscription(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """Listed (by a server ignoring the filter): an email one for orders and an event one for
    the same URL; ensure_subscription creates its own callback subscription all the same."""
    url = "https://me.test/bw"
    listed = (
        "<SubscriptionsResponse><Subscriptions><Subscription><SubscriptionId>mail"
        "</SubscriptionId><OrderType>orders</OrderType><EmailSubscription><Email>a@b.test</Email>"
        "<DigestRequested>NONE</DigestRequested></EmailSubscription></Subscription>"
        "<Subscription><SubscriptionId>event</SubscriptionId><EventType>MESSAGING_LOST"
        f"</EventType><CallbackSubscription><URL>{url}</URL><Expiry>999999</Expiry>"
        "</CallbackSubscription></Subscription></Subscriptions></SubscriptionsResponse>"
    )
    fake_transport.get(SUBS, body=listed.encode(), repeat=True)
    fake_transport.post(SUBS, answer=lambda _: created("new"))
    assert (await fake_client.ensure_subscription(url)).id == "new"
    assert (await fake_client._find_subscription(url, "orders")) is None


# ---------------------------------------------------------------- the emulator, end to end


async def test_each_kind_through_the_client(bandwidth_emulator: BandwidthEmulator) -> None:
    """Create, read back, list by order type, update and delete each kind of subscription."""
    async with bandwidth_emulator.client() as client:
        mail = await client.create_subscription(email="ops@example.com", digest="Daily")
        event_mail = await client.create_subscription(
            email="ops@example.com", event_type="MESSAGING_LOST"
        )
        event_hook = await client.create_subscription(
            "https://me.test/lost", event_type="MESSAGING_LOST", number_format="E164"
        )
        hook = await client.create_subscription(
            "https://me.test/bw", username="cb", password="pw", number_format="LEGACY"
        )
        got = {s.id: s for s in await client.list_subscriptions()}
        assert (got[mail.id].email, got[mail.id].digest, got[mail.id].order_type) == (
            "ops@example.com", "DAILY", "orders",
        )  # fmt: skip
        assert (got[event_mail.id].event_type, got[event_mail.id].digest) == (
            "MESSAGING_LOST", "NONE",
        )  # fmt: skip
        assert (got[event_hook.id].event_type, got[event_hook.id].number_format) == (
            "MESSAGING_LOST", "E164",
        )  # fmt: skip
        assert (got[hook.id].username, got[hook.id].number_format) == ("cb", "LEGACY")
        orders = await client.list_subscriptions(order_type="orders")
        assert [s.id for s in orders] == [mail.id, hook.id]
        await client.update_subscription(mail.id, "https://me.test/now-a-hook")
        changed = await client.get_subscription(mail.id)
        assert (changed.url, changed.email, changed.number_format) == (
            "https://me.test/now-a-hook", None, "LEGACY",
        )  # fmt: skip
        await client.update_subscription(
            event_hook.id, email="x@y.test", event_type="MESSAGING_LOST"
        )
        assert (await client.get_subscription(event_hook.id)).email == "x@y.test"
        for subscription in (mail, event_mail, event_hook, hook):
            await client.delete_subscription(subscription.id)
        assert await client.list_subscriptions() == ()


async def test_email_and_event_subscriptions_get_no_order_notifications(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """Only the callback subscription to orders is notified: the emulator sends no email, and
    an order is no MESSAGING_LOST event, even for a subscription at the same URL."""
    async with (
        RecordingReceiver() as lost,
        RecordingReceiver() as orders,
        bandwidth_emulator.client() as client,
    ):
        await client.create_subscription(email="ops@example.com")
        await client.create_subscription(lost.url, event_type="MESSAGING_LOST")
        await client.create_subscription(email="ops@example.com", event_type="MESSAGING_LOST")
        hook = await client.create_subscription(orders.url)
        await client.create_order(site_id="743", numbers=["5402278098"])
        await bandwidth_emulator.settle()
    assert (len(lost.requests), len(orders.requests)) == (0, 1)
    assert [d.subscription_id for d in bandwidth_emulator.deliveries] == [hook.id]


async def test_ensure_subscription_on_the_emulator_creates_its_own(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    async with RecordingReceiver() as receiver, bandwidth_emulator.client() as client:
        event = await client.create_subscription(receiver.url, event_type="MESSAGING_LOST")
        mail = await client.create_subscription(email="ops@example.com")
        ensured = await client.ensure_subscription(receiver.url)
        assert ensured.id not in (event.id, mail.id)
        assert (await client.ensure_subscription(receiver.url)).id == ensured.id
