"""What the emulator echoes of a ``POST /orders``: ``TnAttributes`` in the 201 and GET answers,
and the order that was sent after the ``ErrorList`` of a 400, as Bandwidth's specification shows.

The request examples are Bandwidth/api-docs ``site/specs/numbers.yml`` (commit 2fcdf57e), as
``tests/data/numbers_spec`` keeps them; only the General example's site and SIP peer are
substituted (743 and 546348, the emulator's), the others name site 743 already.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest

from bwnumbers import BadRequestError
from bwnumbers.testing import BandwidthEmulator
from tests.lifecycle_http import Answer, Api, api_for
from tests.spec_conformance import OPERATIONS

_EXAMPLES = OPERATIONS["CreateOrder"]["requests"]
PROTECTED_STATUS_EXAMPLE: str = _EXAMPLES["CombinedSearchAndOrderType (protected status)"]
# The "General" example, site 202 and peer 518824 replaced by the emulator's: it has no Name
# and no order type, so it is refused, with the order echoed.
GENERAL_EXAMPLE: str = (
    _EXAMPLES["General"]
    .replace("<SiteId>202</SiteId>", "<SiteId>743</SiteId>")
    .replace("<PeerId>518824</PeerId>", "<PeerId>546348</PeerId>")
)
assert "546348" in GENERAL_EXAMPLE
# The order the specification's 400 example echoes, sent: the AreaCodeSearchAndOrderType
# example with its TnAttributes, at site 763, which is no site of the account (5016).
BAD_SITE_ORDER = (
    "<Order><CustomerOrderId>123456789</CustomerOrderId><Name>Area Code Order</Name>"
    "<BackOrderRequested>false</BackOrderRequested><AreaCodeSearchAndOrderType>"
    "<AreaCode>435</AreaCode><Quantity>1</Quantity></AreaCodeSearchAndOrderType>"
    "<TnAttributes><TnAttribute>Protected</TnAttribute><TnAttribute>External</TnAttribute>"
    "<TnAttribute>Imported</TnAttribute></TnAttributes><PartialAllowed>true</PartialAllowed>"
    "<SiteId>763</SiteId></Order>"
)
ATTRIBUTES = ["Protected", "External", "Imported"]


@pytest.fixture
async def api(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[Api]:
    async with api_for(bandwidth_emulator) as raw:
        yield raw


def order_tags(answer: Answer) -> list[str]:
    """The element names of the answer's ``<Order>``, in document order."""
    return [child.tag for child in _order_element(answer)]


def _order_element(answer: Answer) -> ET.Element:
    root = ET.fromstring(answer.body)  # noqa: S314 - the emulator's own XML
    found = root.find("Order")
    assert found is not None, answer.body
    return found


# ---------------------------------------------------------------- TnAttributes


async def test_the_protected_status_example_echoes_its_attributes(api: Api) -> None:
    """201 and GET carry TnAttributes after the order type, in the specification's order."""
    created = await api.call("POST", "/orders", PROTECTED_STATUS_EXAMPLE)
    assert created.status == 201, created.body
    assert created.texts("Order/TnAttributes/TnAttribute") == ATTRIBUTES
    # No PeerId: the example sends none, and the 201 echoes one only when it was sent.
    assert order_tags(created) == [
        "CustomerOrderId", "id", "Name", "OrderCreateDate", "BackOrderRequested",
        "CombinedSearchAndOrderType", "TnAttributes", "PartialAllowed", "SiteId",
    ]  # fmt: skip
    order_id = created.text("Order/id")
    await api.emulator.settle()
    got = await api.call("GET", f"/orders/{order_id}")
    assert got.texts("Order/TnAttributes/TnAttribute") == ATTRIBUTES
    assert "PeerId" in order_tags(got)  # GET names the site's default peer the order went to
    assert order_tags(got)[-4:] == [
        "CombinedSearchAndOrderType", "TnAttributes", "PartialAllowed", "SiteId",
    ]  # fmt: skip


async def test_no_attributes_no_element_and_an_empty_one_stays_empty(api: Api) -> None:
    body = (
        "<Order><Name>n</Name><ExistingTelephoneNumberOrderType><TelephoneNumberList>"
        "<TelephoneNumber>5402278098</TelephoneNumber></TelephoneNumberList>"
        "</ExistingTelephoneNumberOrderType>{}<SiteId>743</SiteId></Order>"
    )
    without = await api.call("POST", "/orders", body.format(""))
    empty = await api.call("POST", "/orders", body.format("<TnAttributes/>"))
    assert (without.status, empty.status) == (201, 201)
    assert "TnAttributes" not in order_tags(without)
    assert [list(e) for e in _order_element(empty).iter("TnAttributes")] == [[]]


async def test_an_unknown_attribute_is_refused(api: Api) -> None:
    body = BAD_SITE_ORDER.replace("<SiteId>763", "<SiteId>743").replace("External", "Golden")
    answer = await api.call("POST", "/orders", body)
    assert (answer.status, answer.texts("ErrorList/Error/Code")) == (400, ["5002"])
    assert "'Golden'" in (answer.text("ErrorList/Error/Description") or "")
    assert api.emulator.order_count == 0


async def test_the_client_reads_the_attributes(
    api: Api, bandwidth_emulator: BandwidthEmulator
) -> None:
    created = await api.call("POST", "/orders", PROTECTED_STATUS_EXAMPLE)
    async with bandwidth_emulator.client() as client:
        details = await client.get_order(created.text("Order/id") or "")
    assert details.order.tn_attributes == tuple(ATTRIBUTES)


# ---------------------------------------------------------------- the 400 echo


async def test_a_refused_order_is_echoed_as_the_specs_400_example(api: Api) -> None:
    """ErrorList, then the order as sent, no id, with OrderCreateDate: the example's shape."""
    answer = await api.call("POST", "/orders", BAD_SITE_ORDER)
    assert (answer.status, answer.root) == (400, "OrderResponse")
    root = ET.fromstring(answer.body)  # noqa: S314
    assert [child.tag for child in root] == ["ErrorList", "Order"]
    assert answer.texts("ErrorList/Error/Code") == ["5016"]
    assert order_tags(answer) == [
        "CustomerOrderId", "Name", "OrderCreateDate", "BackOrderRequested",
        "AreaCodeSearchAndOrderType", "TnAttributes", "PartialAllowed", "SiteId",
    ]  # fmt: skip
    assert answer.texts("Order/AreaCodeSearchAndOrderType/AreaCode") == ["435"]
    assert answer.texts("Order/TnAttributes/TnAttribute") == ATTRIBUTES
    assert (answer.text("Order/SiteId"), answer.text("Order/PartialAllowed")) == ("763", "true")


async def test_the_general_example_is_refused_and_echoed(api: Api) -> None:
    answer = await api.call("POST", "/orders", GENERAL_EXAMPLE)
    assert (answer.status, answer.texts("ErrorList/Error/Code")) == (400, ["5002"])
    assert order_tags(answer) == [
        "CustomerOrderId", "OrderCreateDate", "PeerId", "TnAttributes", "SiteId",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "body",
    ["<Order><Name>x</Name>", "<Subscription/>", "<!DOCTYPE Order [<!ENTITY a 'b'>]><Order/>"],
)
async def test_no_echo_for_a_body_that_is_no_order(api: Api, body: str) -> None:
    answer = await api.call("POST", "/orders", body)
    assert (answer.status, answer.texts("ErrorList/Error/Code")) == (400, ["5002"])
    assert "Order" not in [child.tag for child in ET.fromstring(answer.body)]  # noqa: S314


async def test_the_client_reads_the_error_not_the_echo(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """BadRequestError carries the one ErrorList entry; the echoed order adds none."""
    async with bandwidth_emulator.client() as client:
        with pytest.raises(BadRequestError) as info:
            await client.create_order(site_id="763", numbers=["5402278098"])
    assert (info.value.code, len(info.value.errors)) == (5016, 1)
    assert str(info.value).endswith("The SiteId submitted is invalid.")
