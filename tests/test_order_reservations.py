"""Ordering reserved numbers: ``reservation_ids=`` on the wire, in the journal and its digest.

Sent as the SPEC's ``ExistingTelephoneNumberOrderType/ReservationIdList/ReservationId``
(reference/lifecycle.md §1.6); part of the request a customer order id stands for, so a
re-call with other reservation ids is a conflict, and ``recover(resubmit=True)`` sends them.
"""

from __future__ import annotations

import time

import pytest
import xmltodict

import bwnumbers
from bwnumbers import (
    IdempotencyConflictError,
    MemoryStore,
    NumbersClient,
    OrderRequest,
    Search,
    ValidationError,
    order_and_wait,
)
from bwnumbers._store import request_digest, request_fields, request_from_fields
from bwnumbers._xml import encode_order
from tests.fake_transport import FakeTransport
from tests.journaling import dead_intent

NUMBERS = ["9193752369", "9193752720"]
CREATED = (
    b"<OrderResponse><Order><id>o-1</id><CustomerOrderId>c-1</CustomerOrderId></Order>"
    b"<OrderStatus>RECEIVED</OrderStatus></OrderResponse>"
)


def reserved(*ids: str, coid: str = "c-1") -> OrderRequest:
    return OrderRequest.build(
        site_id="743", numbers=NUMBERS, customer_order_id=coid, reservation_ids=list(ids)
    )


async def test_create_order_sends_the_reservation_id_list(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.post("/orders", status=201, body=CREATED)
    await fake_client.create_order(
        site_id="743", numbers=NUMBERS, customer_order_id="c-1", reservation_ids=["r-1", "r-2"]
    )
    (post,) = fake_transport.calls("POST", "/orders")
    assert post.body is not None
    existing = xmltodict.parse(post.body)["Order"]["ExistingTelephoneNumberOrderType"]
    assert existing == {
        "TelephoneNumberList": {"TelephoneNumber": NUMBERS},
        "ReservationIdList": {"ReservationId": ["r-1", "r-2"]},
    }


def test_without_reservations_nothing_new_is_sent() -> None:
    body = encode_order(OrderRequest.build(site_id="743", numbers=NUMBERS))
    assert b"Reservation" not in body


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"search": Search(area_code="540", quantity=1)}, "numbers="),
        ({"numbers": NUMBERS, "reservation_ids": "r-1"}, "not a single string"),
        ({"numbers": NUMBERS, "reservation_ids": ["r-1", "r-1"]}, "more than once"),
        ({"numbers": NUMBERS, "reservation_ids": ["a/b"]}, "reservation_ids"),
    ],
    ids=["with search", "a string", "twice", "not an id"],
)
async def test_bad_reservation_ids_are_refused_before_sending(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    kwargs: dict[str, object],
    words: str,
) -> None:
    kwargs.setdefault("reservation_ids", ["r-1"])
    with pytest.raises(ValidationError, match=words):
        await fake_client.create_order(site_id="743", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=words):
        await order_and_wait(fake_client, None, site_id="743", **kwargs)  # type: ignore[arg-type]
    assert fake_transport.requests == []


# ---------------------------------------------------------------- the journal


def test_the_journal_keeps_and_rebuilds_reservation_ids() -> None:
    request = reserved("r-1", "r-2")
    fields = request_fields(request)
    assert fields["reservation_ids"] == ["r-1", "r-2"]
    assert request_from_fields(fields, "c-1") == request


def test_old_journals_stay_readable_and_keep_their_digest() -> None:
    """An intent recorded before reservations existed has no reservation_ids field: it is
    rebuilt without any, and a request without any has the digest it had then."""
    request = OrderRequest.build(site_id="743", numbers=NUMBERS, customer_order_id="c-1")
    fields = request_fields(request)
    assert "reservation_ids" not in fields
    assert request_from_fields(fields, "c-1").reservation_ids == ()
    # Pinned: the digest of this request as journals before reservation_ids recorded it.
    assert request_digest(request) == (
        "3f48e135d08615329e46d273c63ca5161696736f8284dea046ab337d694ec995"
    )


def test_the_digest_tells_reservation_ids_apart_but_not_their_order() -> None:
    assert request_digest(reserved("r-1")) != request_digest(reserved("r-2"))
    assert request_digest(reserved("r-1")) != request_digest(reserved())
    assert request_digest(reserved("r-1", "r-2")) == request_digest(reserved("r-2", "r-1"))


async def test_a_re_call_with_other_reservation_ids_is_a_conflict(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    store = MemoryStore()
    await store.begin(dead_intent(reserved("r-1"), created_at=time.time()))
    with pytest.raises(IdempotencyConflictError):
        await order_and_wait(
            fake_client,
            None,
            site_id="743",
            numbers=NUMBERS,
            customer_order_id="c-1",
            reservation_ids=["r-2"],
            store=store,
        )
    assert fake_transport.requests == []


async def test_recover_rebuilds_the_request_with_its_reservation_ids(
    fake_client: NumbersClient,
) -> None:
    store = MemoryStore()
    await store.begin(dead_intent(reserved("r-1", coid="c-9"), created_at=time.time() - 120))
    (pending,) = await bwnumbers.recover(fake_client, None, store=store)
    assert pending.request.reservation_ids == ("r-1",)
    assert b"<ReservationId>r-1</ReservationId>" in encode_order(pending.request)
