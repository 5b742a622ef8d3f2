"""The XML of a number's life after the search: reservations, in-service lists, ``/tns``.

Every documented variant is read (``reference/lifecycle.md`` §1, §3, §5): a reservation under
``ReservationResponse`` or bare, in the SPEC's spelling (``ReservationId``, ``ReservedTn``) or
the older one (``ReservationID``, ``ReservedTN``, ``Account``); one ``TelephoneNumber`` like
many; a ``404`` whose body is only ``<Links>`` as an empty list. What is sent follows the SPEC.
"""

from __future__ import annotations

import datetime as dt

from bwnumbers._exceptions import DecodeError
from bwnumbers._number_models import NumberInfo, NumberStatus, Reservation

from ._encode import _document
from ._links import PageCursor, next_page
from ._tree import (
    Node,
    child_at,
    datetime_in,
    has_element,
    int_in,
    nested_texts,
    parse_document,
    text_in,
    texts_in,
)

__all__ = [
    "decode_number_info",
    "decode_number_page",
    "decode_order_numbers",
    "decode_reservation",
    "encode_reservation",
    "is_links_only",
]

# The roots a reservation comes in: the SPEC's GET/DELETE answer, a bare <Reservation> (the
# shape of the POST body, should an answer echo it), and /tns/{tn}/tnreservation's.
_RESERVATION_ROOTS = ("ReservationResponse", "Reservation", "TNReservation", "TnReservation")


def encode_reservation(number: str) -> bytes:
    """The body of ``POST /tnreservation``: one number (Bandwidth reserves one at a time)."""
    return _document("Reservation", {"ReservedTn": number})


def decode_reservation(
    body: bytes, *, now: dt.datetime, reservation_id: str | None = None
) -> Reservation | None:
    """The reservation in *body*, or ``None`` when it names no reservation id and no number.

    *reservation_id* (the id asked for, or the ``Location``'s) fills a missing id; *now* is
    when the answer was read, from which ``expires_at`` is computed.

    Raises:
        DecodeError: *body* is not a reservation document.
    """
    root_name, root = parse_document(body, _RESERVATION_ROOTS)
    node = child_at(root, "Reservation") if root_name == "ReservationResponse" else root
    found_id = text_in(node, "ReservationId", "ReservationID") or reservation_id
    number = text_in(node, "ReservedTn", "ReservedTN")
    if found_id is None or number is None:
        return None
    seconds_left = int_in(node, "ReservationExpires")
    return Reservation(
        id=found_id,
        number=number,
        seconds_left=seconds_left,
        expires_at=None if seconds_left is None else now + dt.timedelta(seconds=seconds_left),
        account_id=text_in(node, "AccountId", "Account"),
    )


def decode_number_page(body: bytes) -> tuple[tuple[str, ...], PageCursor | None]:
    """One page of ``GET /inserviceNumbers``: its numbers and where the next page starts.

    Raises:
        DecodeError: *body* is not a ``<TNs>`` document.
    """
    _, root = parse_document(body, ("TNs",))
    return nested_texts(root, "TelephoneNumbers", "TelephoneNumber"), next_page(root)


def is_links_only(body: bytes) -> bool:
    """Whether *body* is a bare ``<Links>`` document: how some listings answer 404 for
    "nothing here" (SPEC ``GET /disconnects``)."""
    try:
        parse_document(body, ("Links",))
    except DecodeError:
        return False
    return True


def decode_order_numbers(body: bytes) -> tuple[str, ...]:
    """The numbers of ``GET /orders/{id}/tns``: ``<TelephoneNumbers><TelephoneNumber>...``.

    Raises:
        DecodeError: *body* is not a ``<TelephoneNumbers>`` document.
    """
    root_name, root = parse_document(body, ("TelephoneNumbers", "TNs"))
    if root_name == "TNs":  # assumed: the in-service shape, should this endpoint ever use it
        return nested_texts(root, "TelephoneNumbers", "TelephoneNumber")
    return texts_in(root, "TelephoneNumber")


def decode_number_info(body: bytes, *, number: str) -> NumberInfo:
    """``GET /tns/{tn}``'s ``<TelephoneNumberResponse>``; *number* is the one asked for.

    The ``/tndetails`` shape (``TelephoneNumberDetails`` with ``FullNumber``) is read too.

    Raises:
        DecodeError: *body* is not a ``<TelephoneNumberResponse>``.
    """
    _, root = parse_document(body, ("TelephoneNumberResponse",))
    node: Node = root
    if has_element(root, "TelephoneNumberDetails"):
        node = child_at(root, "TelephoneNumberDetails")
    status = text_in(node, "Status")
    site_id = text_in(node, "SiteId") or text_in(child_at(node, "Site"), "Id")
    return NumberInfo(
        number=text_in(node, "TelephoneNumber") or text_in(node, "FullNumber") or number,
        status=NumberStatus(status) if status else None,
        site_id=site_id,
        account_id=text_in(node, "AccountId"),
        order_id=text_in(node, "OrderId"),
        order_type=text_in(node, "OrderType"),
        order_created_at=datetime_in(node, "OrderCreateDate"),
        in_service_at=datetime_in(node, "InServiceDate"),
        last_modified=datetime_in(node, "LastModifiedDate") or datetime_in(node, "LastModified"),
    )
