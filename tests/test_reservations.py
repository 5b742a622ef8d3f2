"""Reservations through the transport seam: every documented variant of reference/lifecycle.md §1.

201 or 200 on create, the Location's three casings, a body or none on create and DELETE, the
SPEC's and the older element spellings, and Bandwidth's reservation codes (5040 means "not
found" only on reservation paths; elsewhere it is a note's).
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import xmltodict

from bwnumbers import (
    BadRequestError,
    DecodeError,
    NotFoundError,
    NumbersClient,
    NumberUnavailableError,
    Reservation,
    ReservationError,
    ReservationNotFoundError,
    ServerError,
    TransportError,
    ValidationError,
)
from bwnumbers._cli._exit_codes import ExitCode, exit_code_for
from tests.conftest import ROOT
from tests.fake_transport import FakeTransport

NUMBER = "4354770625"
RESERVATION_ID = "8dddbd6f-77ca-4a17-97ca-83d334fc404e"


def reservation_body(
    reservation_id: str = RESERVATION_ID, number: str = NUMBER, expires: int = 14293
) -> bytes:
    """The SPEC's GET (and DELETE) answer."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><ReservationResponse>'
        f"<Reservation><ReservationId>{reservation_id}</ReservationId>"
        f"<AccountId>12346099</AccountId><ReservationExpires>{expires}</ReservationExpires>"
        f"<ReservedTn>{number}</ReservedTn></Reservation></ReservationResponse>"
    ).encode()


def refusal(code: int, description: str) -> bytes:
    """The SPEC's 400 body for a reservation refusal."""
    return (
        "<ReservationResponse><ResponseStatus>"
        f"<ErrorCode>{code}</ErrorCode><Description>{description}</Description>"
        "</ResponseStatus></ReservationResponse>"
    ).encode()


def close_to_now_plus(when: dt.datetime | None, seconds: int) -> bool:
    assert when is not None
    assert when.tzinfo is not None
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return abs((when - expected).total_seconds()) < 60


# ---------------------------------------------------------------- reserve_number


@pytest.mark.parametrize(
    ("status", "location"),
    [
        (201, f"https://dashboard.bandwidth.com/api/accounts/1/TnReservation/{RESERVATION_ID}"),
        (200, f"https://dashboard.bandwidth.com/api/accounts/1/tnreservation/{RESERVATION_ID}"),
        (201, f"http://localhost:8080/api/accounts/1/tnsreservation/{RESERVATION_ID}/"),
    ],
    ids=["SPEC 201 TnReservation", "JIRIS 200 tnreservation", "PHP tnsreservation"],
)
async def test_reserve_reads_the_id_from_every_location_casing(
    fake_transport: FakeTransport, fake_client: NumbersClient, status: int, location: str
) -> None:
    """No body (no source shows one): the id is the Location's last segment; one GET says how
    long the reservation lasts."""
    fake_transport.post("/tnreservation", status=status, headers={"Location": location})
    fake_transport.get(f"/tnreservation/{RESERVATION_ID}", body=reservation_body())
    reservation = await fake_client.reserve_number("+1 (435) 477-0625")
    assert reservation.id == RESERVATION_ID
    assert reservation.number == NUMBER
    assert reservation.seconds_left == 14293
    assert reservation.account_id == "12346099"
    assert close_to_now_plus(reservation.expires_at, 14293)
    (post,) = fake_transport.calls("POST")
    assert post.url == f"{ROOT}/tnreservation"
    assert post.body is not None
    assert xmltodict.parse(post.body) == {"Reservation": {"ReservedTn": NUMBER}}


async def test_reserve_uses_a_body_that_says_how_long_without_a_second_request(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.post("/tnreservation", status=201, body=reservation_body(expires=14400))
    reservation = await fake_client.reserve_number(NUMBER)
    assert (reservation.id, reservation.seconds_left) == (RESERVATION_ID, 14400)
    assert [r.method for r in fake_transport.requests] == ["POST"]


async def test_reserve_without_any_reservation_id_is_a_decode_error_not_a_retry(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.post("/tnreservation", status=201, headers={"Location": f"{ROOT}/tnreservation"})
    with pytest.raises(DecodeError) as info:
        await fake_client.reserve_number(NUMBER)
    assert "expires on its own" in str(info.value)
    assert len(fake_transport.calls("POST")) == 1


async def test_reserve_returns_the_reservation_when_reading_it_back_fails(
    fake_transport: FakeTransport, fake_client: NumbersClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The number is reserved: the caller gets its id even if the follow-up GET fails."""
    fake_transport.post(
        "/tnreservation", status=201, headers={"Location": f"{ROOT}/tnreservation/r-9"}
    )
    fake_transport.get("/tnreservation/r-9", status=404)
    with caplog.at_level(logging.WARNING, logger="bwnumbers.client"):
        reservation = await fake_client.reserve_number(NUMBER)
    assert reservation == Reservation(id="r-9", number=NUMBER)
    assert "r-9" in caplog.text


async def test_reserve_refuses_a_bad_number_before_sending(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    with pytest.raises(ValidationError):
        await fake_client.reserve_number("12345")
    assert fake_transport.requests == []


@pytest.mark.parametrize(
    "failure",
    [
        TransportError("Connection reset", method="POST", path="/tnreservation"),
        500,
    ],
    ids=["reset after sending", "HTTP 500"],
)
async def test_an_ambiguous_reserve_is_sent_once_and_says_the_number_may_be_yours(
    fake_transport: FakeTransport, fake_client: NumbersClient, failure: object
) -> None:
    """A second POST would be refused with 5041 by our own reservation: never sent."""
    if isinstance(failure, BaseException):
        fake_transport.post("/tnreservation", exception=failure)
        expected: type[Exception] = TransportError
    else:
        fake_transport.post("/tnreservation", status=500, repeat=True)
        expected = ServerError
    with pytest.raises(expected) as info:
        await fake_client.reserve_number(NUMBER)
    assert len(fake_transport.calls("POST")) == 1
    message = str(info.value)
    assert f"reservation of {NUMBER} may have been made" in message
    assert "expires on its own" in message
    assert "get_number" in message


async def test_a_reserve_refused_before_sending_is_retried(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.post(
        "/tnreservation",
        exception=TransportError("refused", method="POST", path="/x", request_sent=False),
    )
    fake_transport.post("/tnreservation", status=201, body=reservation_body())
    assert (await fake_client.reserve_number(NUMBER)).id == RESERVATION_ID
    assert len(fake_transport.calls("POST")) == 2


# ---------------------------------------------------------------- get and release


async def test_get_reservation_spec_shape(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get("/tnreservation/f342904f", body=reservation_body("f342904f", expires=1492))
    reservation = await fake_client.get_reservation("f342904f")
    assert reservation.number == NUMBER
    assert reservation.seconds_left == 1492
    assert close_to_now_plus(reservation.expires_at, 1492)


async def test_get_reservation_older_spelling_without_id(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    """OLDDOCS' <TNReservation> spelling; an answer without an id keeps the one asked for."""
    fake_transport.get(
        "/tnreservation/d285",
        body=b"<TNReservation><Account>12346099</Account><ReservationExpires>0"
        b"</ReservationExpires><ReservedTN>6136211234</ReservedTN></TNReservation>",
    )
    reservation = await fake_client.get_reservation("d285")
    assert (reservation.id, reservation.number, reservation.account_id) == (
        "d285",
        "6136211234",
        "12346099",
    )
    assert reservation.seconds_left == 0


async def test_get_reservation_without_a_number_is_a_decode_error(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.get("/tnreservation/r1", body=b"<ReservationResponse/>")
    with pytest.raises(DecodeError):
        await fake_client.get_reservation("r1")


@pytest.mark.parametrize(
    "body", [b"", reservation_body()], ids=["SDK mocks: empty", "SPEC: the reservation"]
)
async def test_release_accepts_a_body_or_none(
    fake_transport: FakeTransport, fake_client: NumbersClient, body: bytes
) -> None:
    fake_transport.delete(f"/tnreservation/{RESERVATION_ID}", body=body)
    await fake_client.release_reservation(RESERVATION_ID)
    (delete,) = fake_transport.calls("DELETE")
    assert delete.url == f"{ROOT}/tnreservation/{RESERVATION_ID}"


async def test_reservation_ids_are_quoted(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    fake_transport.delete("/tnreservation/a%2Fb")
    await fake_client.release_reservation("a/b")
    with pytest.raises(ValidationError):
        await fake_client.release_reservation(" ")


# ---------------------------------------------------------------- errors


async def test_5041_is_number_unavailable_with_bandwidths_words_and_what_to_do(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    said = f"Reservation failed: telephone number {NUMBER} is not available."
    fake_transport.post("/tnreservation", status=400, body=refusal(5041, said))
    with pytest.raises(NumberUnavailableError) as info:
        await fake_client.reserve_number(NUMBER)
    error = info.value
    assert isinstance(error, ReservationError)
    assert isinstance(error, BadRequestError)
    assert not isinstance(error, NotFoundError)
    assert (error.status, error.code) == (400, 5041)
    assert said.rstrip(".") in str(error)
    assert "pick another number" in str(error)
    assert exit_code_for(error) is ExitCode.CONFLICT


@pytest.mark.parametrize(
    ("status", "code", "description"),
    [
        (400, 5042, "Reservation r-1 for account 9900000 not found."),
        (404, 5043, "Reservation r-1 not found."),
        (404, None, ""),
    ],
    ids=["5042", "5043", "bare 404"],
)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_a_gone_reservation_is_reservation_not_found(
    fake_transport: FakeTransport,
    fake_client: NumbersClient,
    status: int,
    code: int | None,
    description: str,
    method: str,
) -> None:
    body = refusal(code, description) if code is not None else b""
    fake_transport.add(method, "/tnreservation/r-1", status=status, body=body)
    call = fake_client.get_reservation if method == "GET" else fake_client.release_reservation
    with pytest.raises(ReservationNotFoundError) as info:
        await call("r-1")
    error = info.value
    assert isinstance(error, NotFoundError)
    assert isinstance(error, ReservationError)
    assert error.code == code
    assert "expired, was released" in str(error)
    assert "another account" in str(error)
    assert exit_code_for(error) is ExitCode.NOT_FOUND


async def test_5040_on_a_reservation_path_is_an_unknown_number(
    fake_transport: FakeTransport, fake_client: NumbersClient
) -> None:
    said = f"Reservation failed: telephone number {NUMBER} not found."
    fake_transport.post("/tnreservation", status=400, body=refusal(5040, said))
    with pytest.raises(ReservationNotFoundError) as info:
        await fake_client.reserve_number(NUMBER)
    assert "does not know this number" in str(info.value)


@pytest.mark.parametrize(
    ("code", "words"), [(5046, "enable it"), (5044, "Reservation object is invalid")]
)
async def test_other_reservation_codes_are_reservation_errors(
    fake_transport: FakeTransport, fake_client: NumbersClient, code: int, words: str
) -> None:
    fake_transport.post(
        "/tnreservation", status=400, body=refusal(code, "Reservation object is invalid.")
    )
    with pytest.raises(ReservationError) as info:
        await fake_client.reserve_number(NUMBER)
    assert type(info.value) is ReservationError
    assert words in str(info.value)
    assert exit_code_for(info.value) is ExitCode.ERROR


@pytest.mark.parametrize("status", [400, 404])
async def test_5040_elsewhere_is_still_a_note_not_found(
    fake_transport: FakeTransport, fake_client: NumbersClient, status: int
) -> None:
    """Outside reservation paths 5040 is "Note not found.": today's mapping, by status."""
    body = (
        b"<OrderResponse><ErrorList><Error><Code>5040</Code>"
        b"<Description>Note not found.</Description></Error></ErrorList></OrderResponse>"
    )
    fake_transport.get("/orders/o1", status=status, body=body)
    with pytest.raises((BadRequestError, NotFoundError)) as info:
        await fake_client.get_order("o1")
    assert not isinstance(info.value, ReservationError)
    assert type(info.value) is (BadRequestError if status == 400 else NotFoundError)
    assert "Note not found" in str(info.value)
