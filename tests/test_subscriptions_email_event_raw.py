"""The specification's subscription examples, sent to the real emulator through raw aiohttp.

Bandwidth's specification (Bandwidth/api-docs ``site/specs/numbers.yml``, commit 2fcdf57e,
``POST``/``PUT /accounts/{accountId}/subscriptions``) gives four request examples: a callback
or an email subscription, to an order type or to an event type. They are sent verbatim, from
``tests/data/numbers_spec``; only the account id in the path is the emulator's. The answers
are compared with the shape of the specification's GET examples.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bwnumbers.testing import BandwidthEmulator
from tests.receivers import RecordingReceiver
from tests.spec_conformance import OPERATIONS

DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'

# The specification's four request examples of POST and PUT /subscriptions (the two lists are
# the same), as tests/data/numbers_spec keeps them.
SPEC_EXAMPLES: dict[str, str] = dict(OPERATIONS["CreateSubscriptions"]["requests"])
assert OPERATIONS["UpdateSubscription"]["requests"] == SPEC_EXAMPLES


class Raw:
    """Raw HTTP to the emulator's subscriptions, Basic credentials in a header."""

    def __init__(self, emulator: BandwidthEmulator, session: aiohttp.ClientSession) -> None:
        self.root = f"{emulator.base_url}/accounts/{emulator.account_id}/subscriptions"
        pair = f"{emulator.username}:{emulator.password}".encode()
        self.headers = {
            "Authorization": "Basic " + base64.b64encode(pair).decode(),
            "Content-Type": "application/xml",
        }
        self.session = session

    async def call(
        self, method: str, path: str = "", body: str | None = None
    ) -> tuple[int, str, ET.Element | None]:
        if body is not None and not body.startswith("<?xml"):
            body = DECLARATION + "\n" + body
        data = None if body is None else body.encode()
        url = self.root + path
        async with self.session.request(method, url, data=data, headers=self.headers) as resp:
            text = await resp.read()
            parsed = ET.fromstring(text) if text.strip() else None  # noqa: S314 - our emulator
            return resp.status, resp.headers.get("Location", ""), parsed

    async def create(self, body: str) -> str:
        status, where, answer = await self.call("POST", body=body)
        assert (status, answer) == (201, None)
        return where.rsplit("/", 1)[1]

    async def one(self, subscription_id: str) -> ET.Element:
        status, _, answer = await self.call("GET", f"/{subscription_id}")
        assert status == 200
        assert answer is not None
        found = answer.find("Subscriptions/Subscription")
        assert found is not None
        return found


@pytest.fixture
async def raw(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as session:
        yield Raw(bandwidth_emulator, session)


def shape(node: ET.Element) -> list[Any]:
    """Element names and nesting, children in order."""
    return [(c.tag, shape(c)) if len(c) else c.tag for c in node]


def text(node: ET.Element, path: str) -> str | None:
    found = node.find(path)
    return None if found is None else found.text


CALLBACK_SHAPE = (
    "CallbackSubscription",
    [
        "URL", "Expiry", "Status",
        ("CallbackCredentials", [("BasicAuthentication", ["Username"])]),
        "NumberFormat",
    ],
)  # fmt: skip
EMAIL_SHAPE = ("EmailSubscription", ["Email", "DigestRequested"])
ECHOED = {
    "eventCallbackSubscription": ["SubscriptionId", "EventType", CALLBACK_SHAPE],
    "eventEmailSubscription": ["SubscriptionId", "EventType", EMAIL_SHAPE],
    "orderCallbackSubscription": ["SubscriptionId", "OrderType", CALLBACK_SHAPE],
    "orderEmailSubscription": ["SubscriptionId", "OrderType", "OrderId", EMAIL_SHAPE],
}


@pytest.mark.parametrize("name", SPEC_EXAMPLES)
async def test_each_spec_example_is_created_and_echoed(raw: Raw, name: str) -> None:
    """201, then a GET in the spec's shape: the URL as sent, quotes included; no password and
    no PublicKey; NumberFormat after the credentials."""
    subscription_id = await raw.create(SPEC_EXAMPLES[name])
    got = await raw.one(subscription_id)
    assert shape(got) == ECHOED[name]
    assert text(got, "SubscriptionId") == subscription_id
    if "Callback" in name:
        assert text(got, "CallbackSubscription/URL") == '"http://yourhost:8080/path/to/resource"'
        assert text(got, "CallbackSubscription/NumberFormat") == "LEGACY"
        assert text(got, ".//Username") == "superuser"
    else:
        assert (text(got, ".//Email"), text(got, ".//DigestRequested")) == (
            "newtest@gmail.com", "DAILY",
        )  # fmt: skip


@pytest.mark.parametrize("name", SPEC_EXAMPLES)
async def test_each_spec_example_updates_a_subscription(raw: Raw, name: str) -> None:
    """PUT takes every example too, overwriting whichever kind the subscription was."""
    subscription_id = await raw.create(
        "<Subscription><OrderType>disconnects</OrderType><CallbackSubscription>"
        "<URL>https://me.test/old</URL></CallbackSubscription></Subscription>"
    )
    status, _, _ = await raw.call("PUT", f"/{subscription_id}", SPEC_EXAMPLES[name])
    assert status == 200
    assert shape(await raw.one(subscription_id)) == ECHOED[name]


def callback(url: str = "https://me.test/bw", extra: str = "") -> str:
    return f"<CallbackSubscription><URL>{url}</URL>{extra}</CallbackSubscription>"


def email(address: str = "a@b.test", digest: str = "NONE") -> str:
    return (
        f"<EmailSubscription><Email>{address}</Email>"
        f"<DigestRequested>{digest}</DigestRequested></EmailSubscription>"
    )


ORDERS = "<OrderType>orders</OrderType>"
EVENT = "<EventType>MESSAGING_LOST</EventType>"


@pytest.mark.parametrize(
    ("inner", "code", "description"),
    [
        (callback(), "14508", "OrderType or EventType should be specified."),
        (ORDERS + EVENT + callback(), "14508", "OrderType and EventType cannot both be specified."),
        ("<EventType>NUMBER_LOST</EventType>" + callback(), "14507", "Incorrect event type."),
        (EVENT + "<OrderId>o-1</OrderId>" + callback(), "14501", "OrderId applies"),
        (EVENT, "14501", "Subscription object is invalid"),
        (ORDERS + callback() + email(), "14501", "not both"),
        (ORDERS + email(address="nobody"), "14501", "Email is not a valid email address"),
        (ORDERS + email(digest="WEEKLY"), "14502", "Incorrect digest type."),
        (ORDERS + email(digest=""), "14502", "Incorrect digest type."),
        (ORDERS + callback('""'), "14503", "Callback URL is empty"),
        (ORDERS + callback('"not a url"'), "14506", "Callback URL is invalid"),
        (ORDERS + callback(extra="<NumberFormat>e.164</NumberFormat>"), "14501", "NumberFormat"),
    ],
)
async def test_bad_bodies_are_refused_with_what_went_wrong(
    raw: Raw, inner: str, code: str, description: str
) -> None:
    status, _, answer = await raw.call("POST", body=f"<Subscription>{inner}</Subscription>")
    assert status == 400
    assert answer is not None
    assert text(answer, "ResponseStatus/ErrorCode") == code
    assert description in (text(answer, "ResponseStatus/Description") or "")


async def test_duplicates_are_per_target(raw: Raw) -> None:
    """409 16008 for the same type or event, order, and URL (quoted or not) or address."""
    for inner in [
        ORDERS + email(),
        EVENT + email(),
        ORDERS + "<OrderId>o-1</OrderId>" + email(),
        EVENT + callback(),
        ORDERS + callback(),
        ORDERS + email(address="c@d.test", digest="DAILY"),
    ]:
        await raw.create(f"<Subscription>{inner}</Subscription>")
    for inner in [
        ORDERS + email(digest="DAILY"),
        EVENT + callback(extra="<Expiry>60</Expiry>"),
        ORDERS + callback('"https://me.test/bw"'),
    ]:
        status, _, answer = await raw.call("POST", body=f"<Subscription>{inner}</Subscription>")
        assert status == 409
        assert answer is not None
        assert text(answer, "ResponseStatus/ErrorCode") == "16008"


async def test_the_order_type_filter_leaves_event_subscriptions_out(raw: Raw) -> None:
    mail = await raw.create(f"<Subscription>{ORDERS}{email()}</Subscription>")
    hook = await raw.create(f"<Subscription>{ORDERS}{callback()}</Subscription>")
    await raw.create(f"<Subscription>{EVENT}{callback()}</Subscription>")
    await raw.create(f"<Subscription>{EVENT}{email()}</Subscription>")
    _, _, listed = await raw.call("GET", "?orderType=orders")
    assert listed is not None
    ids = [e.text for e in listed.iterfind("Subscriptions/Subscription/SubscriptionId")]
    assert ids == [mail, hook]
    _, _, everything = await raw.call("GET")
    assert everything is not None
    assert len(everything.findall("Subscriptions/Subscription")) == 4


async def test_a_quoted_url_is_echoed_quoted_and_delivered_to_unquoted(
    raw: Raw, bandwidth_emulator: BandwidthEmulator
) -> None:
    async with RecordingReceiver() as receiver, bandwidth_emulator.client() as client:
        quoted = f'"{receiver.url}"'
        subscription_id = await raw.create(
            f"<Subscription>{ORDERS}{callback(quoted)}</Subscription>"
        )
        await client.create_order(site_id="743", numbers=["5402278098"])
        await bandwidth_emulator.settle()
        got = await client.get_subscription(subscription_id)
    assert len(receiver.requests) == 1
    assert (got.url, got.status) == (f'"{receiver.url}"', "200 OK")
