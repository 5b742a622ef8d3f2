"""Disconnect models and documents: every documented variant in, the specification's shape out.

The samples are those of ``reference/lifecycle.md`` §2 (tests/data/disconnect_*.xml).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import xmltodict

from bwnumbers import (
    DecodeError,
    DisconnectMode,
    DisconnectOrder,
    DisconnectRequest,
    OrderStatus,
    ValidationError,
)
from bwnumbers._xml import (
    decode_disconnect_details,
    decode_disconnect_list,
    decode_disconnect_response,
    encode_disconnect,
    is_bare_links,
)
from bwnumbers._xml._disconnects import lenient_datetime
from bwnumbers._xml._links import PageCursor
from tests.conftest import sample

# ---------------------------------------------------------------- DisconnectMode


@pytest.mark.parametrize(
    ("given", "mode", "wire"),
    [
        ("NORMAL", DisconnectMode.NORMAL, "NORMAL"),
        ("normal", DisconnectMode.NORMAL, "NORMAL"),
        ("PURGE", DisconnectMode.PURGE, "PURGE"),
        (" Purge ", DisconnectMode.PURGE, "PURGE"),
        ("soft-remove", DisconnectMode.SOFT_REMOVE, "soft-remove"),
        ("SOFT-REMOVE", DisconnectMode.SOFT_REMOVE, "soft-remove"),
        ("soft_remove", DisconnectMode.SOFT_REMOVE, "soft-remove"),
    ],
)
def test_disconnect_mode_takes_both_vocabularies(
    given: str, mode: DisconnectMode, wire: str
) -> None:
    """The specification's NORMAL/PURGE and the error text's normal/soft-remove/purge, any case."""
    assert DisconnectMode(given) is mode
    assert mode.wire == wire
    request = DisconnectRequest.build(["5405514342"], disconnect_mode=given)
    sent = xmltodict.parse(encode_disconnect(request))["DisconnectTelephoneNumberOrder"]
    assert sent["DisconnectTelephoneNumberOrderType"]["DisconnectMode"] == wire


def test_an_unknown_disconnect_mode_is_refused() -> None:
    """A mode Bandwidth does not know is a ValidationError naming the valid ones."""
    with pytest.raises(ValidationError, match="normal, purge or soft-remove"):
        DisconnectRequest.build(["5405514342"], disconnect_mode="obsolete")
    with pytest.raises(ValidationError, match="DisconnectMode"):
        DisconnectRequest(numbers=("5405514342",), disconnect_mode="purge")  # type: ignore[arg-type]


# ---------------------------------------------------------------- DisconnectRequest


def test_request_defaults_to_a_uuid4_customer_order_id() -> None:
    """Without one, the customer order id is a UUID4, which fits Bandwidth's 40 characters."""
    request = DisconnectRequest.build(["+1 (540) 551-4342", "7034343704"])
    assert request.numbers == ("5405514342", "7034343704")
    assert uuid.UUID(request.customer_order_id).version == 4
    assert (request.name, request.disconnect_mode) == (None, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"numbers": []}, "at least one phone number to disconnect"),
        ({"numbers": "5405514342"}, "list of phone numbers"),
        ({"numbers": ["5405514342", "+15405514342"]}, "more than once"),
        ({"numbers": ["123"]}, "not a valid North American number"),
        ({"customer_order_id": "x" * 41}, "at most 40"),
        ({"customer_order_id": "under_score"}, "letters, digits, dashes and spaces"),
        ({"customer_order_id": ""}, "letters, digits, dashes and spaces"),
        ({"name": "n" * 51}, "at most 50"),
        ({"name": "   "}, "non-empty"),
    ],
)
def test_request_validation(kwargs: dict[str, object], message: str) -> None:
    """What Bandwidth would refuse for form is refused before any request."""
    arguments: dict[str, object] = {"numbers": ["5405514342"], **kwargs}
    numbers = arguments.pop("numbers")
    with pytest.raises(ValidationError, match=message):
        DisconnectRequest.build(numbers, **arguments)  # type: ignore[arg-type]


def test_request_accepts_a_40_character_id_with_dashes_and_spaces() -> None:
    """The longest customer order id Bandwidth allows, in its whole alphabet, is kept."""
    coid = "My Order-1 " + "a" * 29
    assert len(coid) == 40
    assert DisconnectRequest.build(["5405514342"], customer_order_id=coid).customer_order_id == coid


# ---------------------------------------------------------------- encode


def test_encode_sends_the_specification_shape() -> None:
    """CustomerOrderId, Name only if given, the number list inside the order type, no mode."""
    request = DisconnectRequest.build(["5405514342", "7034343704"], customer_order_id="My OrderId")
    body = encode_disconnect(request)
    assert body.startswith(b"<?xml")
    sent = xmltodict.parse(body)
    assert sent == {
        "DisconnectTelephoneNumberOrder": {
            "CustomerOrderId": "My OrderId",
            "DisconnectTelephoneNumberOrderType": {
                "TelephoneNumberList": {"TelephoneNumber": ["5405514342", "7034343704"]}
            },
        }
    }


def test_encode_sends_name_and_mode_when_given() -> None:
    """Name goes before the order type; DisconnectMode inside it, as Bandwidth echoes it."""
    request = DisconnectRequest.build(
        ["5405514342"], name="Release <1>", customer_order_id="c-1", disconnect_mode="purge"
    )
    sent = xmltodict.parse(encode_disconnect(request))["DisconnectTelephoneNumberOrder"]
    assert list(sent) == ["CustomerOrderId", "Name", "DisconnectTelephoneNumberOrderType"]
    assert sent["Name"] == "Release <1>"
    assert sent["DisconnectTelephoneNumberOrderType"] == {
        "TelephoneNumberList": {"TelephoneNumber": "5405514342"},
        "DisconnectMode": "PURGE",
    }


# ---------------------------------------------------------------- POST answer


def test_decode_created_docs_sample() -> None:
    """The DOCS 201: id from lower-case <id>, RECEIVED, both numbers, the echoed mode."""
    order = decode_disconnect_response(sample("disconnect_created.xml"))
    assert order == DisconnectOrder(
        id="df2gc2e2-653d-466c-945d-8f292f09ce55",
        numbers=("5405514342", "7034343704"),
        status=OrderStatus.RECEIVED,
        created_at=dt.datetime(2018, 1, 23, 21, 0, 23, 802000, tzinfo=dt.UTC),
        created_at_raw="2018-01-23T21:00:23.802Z",
        disconnect_mode="normal",
    )


def test_decode_created_spec_sample() -> None:
    """The SPEC 201: no OrderStatus, a hyphenated time (raw kept), one number, its coid."""
    order = decode_disconnect_response(sample("disconnect_created_spec.xml"))
    assert order.id == "e4c4a1d6-0b1c-4f53-9d56-56b6bfd1b31c"
    assert order.status is None
    assert order.numbers == ("5405514342",)
    assert order.customer_order_id == "My OrderId"
    assert order.created_at_raw == "2022-05-25T14-12-57.840Z"
    assert order.created_at == dt.datetime(2022, 5, 25, 14, 12, 57, 840000, tzinfo=dt.UTC)


def test_decode_created_takes_the_location_id_when_there_is_no_id() -> None:
    """Without <id> the id is the Location's last segment; an empty body needs it too."""
    body = (
        b"<DisconnectTelephoneNumberOrderResponse><orderRequest><name>n</name>"
        b"</orderRequest><CustomerOrderId>c-9</CustomerOrderId>"
        b"</DisconnectTelephoneNumberOrderResponse>"
    )
    order = decode_disconnect_response(body, location_id="from-location")
    assert (order.id, order.name, order.customer_order_id) == ("from-location", "n", "c-9")
    assert decode_disconnect_response(b"", location_id="loc-2") == DisconnectOrder(id="loc-2")
    with pytest.raises(DecodeError, match="no id"):
        decode_disconnect_response(body)
    with pytest.raises(DecodeError, match="Location"):
        decode_disconnect_response(b"  ")
    with pytest.raises(DecodeError):
        decode_disconnect_response(b"<OrderResponse/>", location_id="x")


# ---------------------------------------------------------------- GET


def test_decode_complete() -> None:
    """COMPLETE with <ErrorList/>: every number disconnected, no errors, no failures."""
    details = decode_disconnect_details(sample("disconnect_complete.xml"), disconnect_id="asked")
    assert details.id == "df2gc2e2-653d-466c-945d-8f292f09ce55"
    assert details.status is OrderStatus.COMPLETE
    assert details.disconnected_numbers == ("5405514342", "7034343704")
    assert details.order.numbers == ("7034343704", "5405514342")
    assert (details.failed_numbers, details.errors) == ((), ())
    assert details.order.created_at == dt.datetime(2015, 1, 20, 21, 5, 58, 26000, tzinfo=dt.UTC)


def test_decode_failed_names_each_number() -> None:
    """FAILED: one 5006 per number, each error carrying its TelephoneNumber."""
    details = decode_disconnect_details(sample("disconnect_failed.xml"), disconnect_id="asked")
    assert details.status is OrderStatus.FAILED
    assert details.customer_order_id == "Disconnect1234"
    assert details.disconnected_numbers == ()
    assert details.failed_numbers == ("9192755378", "9192755703")
    assert [(e.code, e.number) for e in details.errors] == [
        (5006, "9192755378"),
        (5006, "9192755703"),
    ]
    assert "not associated with your account" in details.errors[0].description


def test_decode_partial_has_both_lists() -> None:
    """PARTIAL: the disconnected number in one list, the other in the errors; name, lower-case."""
    details = decode_disconnect_details(sample("disconnect_partial.xml"), disconnect_id="asked")
    assert details.status is OrderStatus.PARTIAL
    assert details.disconnected_numbers == ("5405514342",)
    assert details.failed_numbers == ("7034343704",)
    assert details.order.name == "old style name"
    assert details.order.created_at == dt.datetime(2022, 5, 25, 14, 12, 57, tzinfo=dt.UTC)


def test_decode_details_of_the_bare_specification_schema() -> None:
    """No <id>, no lists (the SPEC fetch schema): the asked id; COMPLETE means all, FAILED none."""
    template = (
        "<DisconnectTelephoneNumberOrderResponse><orderRequest><Name>Upper</Name>"
        "<DisconnectTelephoneNumberOrderType><TelephoneNumberList>"
        "<TelephoneNumber>5405514342</TelephoneNumber><TelephoneNumber>7034343704</TelephoneNumber>"
        "</TelephoneNumberList></DisconnectTelephoneNumberOrderType></orderRequest>"
        "<OrderStatus>{}</OrderStatus></DisconnectTelephoneNumberOrderResponse>"
    )
    complete = decode_disconnect_details(template.format("COMPLETE").encode(), disconnect_id="d1")
    assert (complete.id, complete.order.id, complete.order.name) == ("d1", "d1", "Upper")
    assert complete.disconnected_numbers == ("5405514342", "7034343704")
    failed = decode_disconnect_details(template.format("failed").encode(), disconnect_id="d1")
    assert failed.status is OrderStatus.FAILED
    assert failed.failed_numbers == ("5405514342", "7034343704")
    assert failed.disconnected_numbers == ()


def test_decode_details_without_status_is_refused() -> None:
    """A GET answer without OrderStatus cannot say anything: DecodeError."""
    with pytest.raises(DecodeError, match="OrderStatus"):
        decode_disconnect_details(b"<DisconnectTelephoneNumberOrderResponse/>", disconnect_id="d1")


# ---------------------------------------------------------------- list


def test_decode_list_sample() -> None:
    """The SPEC list: both rows, hyphenated dates, lower-case userId, no next page."""
    rows, cursor = decode_disconnect_list(sample("disconnect_list.xml"))
    assert cursor is None
    assert [r.id for r in rows] == [
        "6d7da966-e071-4741-b31c-1d8932f4b8da",
        "4ffe9262-1965-4479-a1d5-b8584440667d",
    ]
    first = rows[0]
    assert (first.status, first.count_of_numbers, first.user_id) == (
        OrderStatus.COMPLETE, 1, "smckinnon",
    )  # fmt: skip
    assert first.ordered_at == dt.datetime(2014, 1, 10, 17, 34, 15, 797000, tzinfo=dt.UTC)
    assert first.last_modified == dt.datetime(2014, 1, 10, 17, 34, 15, tzinfo=dt.UTC)
    assert first.numbers == ()


def test_decode_list_reads_numbers_and_an_escaped_next_link_on_a_foreign_host() -> None:
    """Numbers from TelephoneNumberDetails; only page and size from the next link."""
    body = (
        b"<ResponseSelectWrapper><ListOrderIdUserIdDate><TotalCount>3</TotalCount><Links>"
        b"<next>Link=&lt;https://api.test.inetwork.com:443/v1.0/accounts/9/disconnects"
        b'?page=4ffe9262&amp;size=2&gt;;rel="next";</next></Links>'
        b"<OrderIdUserIdDate><orderId>d-1</orderId><TelephoneNumberDetails><TelephoneNumbers>"
        b"<Count>2</Count><TelephoneNumber>5405514342</TelephoneNumber>"
        b"<TelephoneNumber>7034343704</TelephoneNumber></TelephoneNumbers>"
        b"</TelephoneNumberDetails></OrderIdUserIdDate>"
        b"<OrderIdUserIdDate><OrderStatus>FAILED</OrderStatus></OrderIdUserIdDate>"
        b"</ListOrderIdUserIdDate></ResponseSelectWrapper>"
    )
    rows, cursor = decode_disconnect_list(body)
    assert [(r.id, r.numbers) for r in rows] == [("d-1", ("5405514342", "7034343704"))]
    assert cursor == PageCursor("4ffe9262", "2")


@pytest.mark.parametrize("body", [b"", b"<Links><first>   Link description  </first></Links>"])
def test_decode_list_empty_shapes(body: bytes) -> None:
    """A 204's empty body and the SPEC's 404 body (a bare <Links>) are an empty page."""
    assert decode_disconnect_list(body) == ((), None)


def test_bare_links_is_told_from_other_bodies() -> None:
    """Only a bare <Links> document is Bandwidth's "no disconnects" 404."""
    assert is_bare_links(b"<?xml version='1.0'?><Links><first>Link description</first></Links>")
    assert not is_bare_links(b"")
    assert not is_bare_links(b"<html>Not Found</html")
    assert not is_bare_links(sample("not_found.xml"))


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-05-25T14-12-57.840Z", dt.datetime(2022, 5, 25, 14, 12, 57, 840000, tzinfo=dt.UTC)),
        ("2014-01-10T17-34-15Z", dt.datetime(2014, 1, 10, 17, 34, 15, tzinfo=dt.UTC)),
        ("2014-01-10T17:34:15.797Z", dt.datetime(2014, 1, 10, 17, 34, 15, 797000, tzinfo=dt.UTC)),
        ("2014-01-10T17-34+01:00", dt.datetime(2014, 1, 10, 16, 34, tzinfo=dt.UTC)),
        ("2013-12-20T06", dt.datetime(2013, 12, 20, 6, tzinfo=dt.UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_lenient_datetime(text: str | None, expected: dt.datetime | None) -> None:
    """ISO 8601 and Bandwidth's hyphenated times read as UTC; anything else is None."""
    assert lenient_datetime(text) == expected
