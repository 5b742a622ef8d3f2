"""parse_notification's fast reader agrees with the generic decoding rules on any input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bwnumbers import DecodeError, Notification, parse_notification
from bwnumbers._xml import _tree as tree
from tests.conftest import sample
from tests.test_hardening_receiver import VALID_SAMPLES, mutated


def generic(body: bytes) -> Notification:
    """A notification decoded by the generic rules every other response follows."""
    _, root = tree.parse_document(body, ("Notification",))
    return Notification(
        subscription_id=tree.text_in(root, "SubscriptionId"),
        order_type=tree.text_in(root, "OrderType"),
        order_id=tree.text_in(root, "OrderId"),
        customer_order_id=tree.text_in(root, "CustomerOrderId"),
        status=tree.order_status(tree.text_in(root, "Status")),
        message=tree.text_in(root, "Message"),
        note=tree.text_in(root, "Note"),
        completed_numbers=tree.texts_in(
            tree.child_at(root, "CompletedTelephoneNumbers"), "TelephoneNumber"
        ),
        last_modified=tree.datetime_in(root, "LastModifiedDate"),
        actual_foc_date=tree.datetime_in(root, "ActualFocDate"),
        event_type=tree.text_in(root, "EventType"),
        impacted_numbers=tree.texts_in(
            tree.child_at(root, "ImpactedTelephoneNumbers"), "TelephoneNumber"
        ),
    )


def outcome(decode: object, body: bytes) -> Notification | str:
    try:
        return decode(body)  # type: ignore[operator, no-any-return]
    except DecodeError:
        return "DecodeError"


TRICKY = [
    b"<Notification><Status>COMP<x/>LETE</Status><OrderId> a </OrderId></Notification>",
    b"<Notification><Status/><Status>COMPLETE</Status></Notification>",
    b"<Notification><CompletedTelephoneNumbers>text</CompletedTelephoneNumbers>"
    b"<CompletedTelephoneNumbers><TelephoneNumber>1</TelephoneNumber></CompletedTelephoneNumbers>"
    b"</Notification>",
    b"<Notification><CompletedTelephoneNumbers><TelephoneNumber>1<i>x</i>2</TelephoneNumber>"
    b"<TelephoneNumber/><Other>3</Other></CompletedTelephoneNumbers></Notification>",
    b"<ns:Notification xmlns:ns='urn:x'><ns:Status>COMPLETE</ns:Status></ns:Notification>",
    b"<Notification><Wrapper><Status>COMPLETE</Status></Wrapper></Notification>",
    b"<Notification><![CDATA[x]]><Message><![CDATA[5005: <b>no</b>]]></Message></Notification>",
    b"<Notification><Message>a &amp; b</Message><!-- c --><?pi x?></Notification>",
    b"<Notification>\n  <Status>\n COMPLETE \n</Status>\n</Notification>",
    b"<Notification><LastModifiedDate>not a date</LastModifiedDate></Notification>",
    sample("notification_generic.xml"),
]


def test_tricky_documents_agree() -> None:
    """Mixed content, repeats, namespaces, CDATA, nesting and comments decode the same."""
    for body in TRICKY:
        assert outcome(parse_notification, body) == outcome(generic, body), body


@settings(max_examples=300)
@given(st.one_of(mutated(), st.binary(max_size=512), st.sampled_from(VALID_SAMPLES)))
def test_fast_reader_agrees_with_generic_rules(body: bytes) -> None:
    """On real, mutated and random bodies both give the same Notification, or both refuse."""
    assert outcome(parse_notification, body) == outcome(generic, body)
