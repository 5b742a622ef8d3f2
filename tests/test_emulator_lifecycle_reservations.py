"""The emulator's reservations over raw HTTP: shapes, any-case paths, errors, expiry, and
ordering reserved numbers (with, without and with someone else's reservation)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bwnumbers import ValidationError
from bwnumbers.testing import BandwidthEmulator
from tests.lifecycle_http import Api, api_for, order, reservation

NUMBER = "5402278098"  # in the seeded stock (Bandwidth's ordering guide)
OTHER = "5402278089"
UNKNOWN = "2025550100"  # in no seeded block


@pytest.fixture
async def api(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[Api]:
    async with api_for(bandwidth_emulator) as raw:
        yield raw


async def refused(api: Api, method: str, path: str, body: str | None = None) -> tuple[int, str]:
    """The HTTP status and ``ErrorCode`` of a refused reservation request."""
    answer = await api.call(method, path, body)
    assert answer.root == "ReservationResponse"
    assert answer.text("ResponseStatus/Description")
    return answer.status, answer.text("ResponseStatus/ErrorCode") or ""


async def test_reserve_read_release_in_bandwidths_shapes(api: Api) -> None:
    """201 + Location (SPEC casing, last segment = id, no body); GET and DELETE answer the
    ReservationResponse with seconds left; a released reservation is gone (5043)."""
    created = await api.call("POST", "/tnreservation", reservation(NUMBER))
    assert (created.status, created.body) == (201, b"")
    location = created.headers["Location"]
    prefix, reservation_id = location.rsplit("/", 1)
    assert prefix == f"{api.account}/TnReservation"
    got = await api.call("GET", f"/tnreservation/{reservation_id}")
    assert (got.status, got.root) == (200, "ReservationResponse")
    assert got.texts("Reservation/ReservationId") == [reservation_id]
    assert got.texts("Reservation/AccountId") == [api.emulator.account_id]
    assert got.texts("Reservation/ReservedTn") == [NUMBER]
    assert 14_000 < int(got.text("Reservation/ReservationExpires") or 0) <= 14_400
    released = await api.call("DELETE", f"/tnreservation/{reservation_id}")
    assert released.status == 200
    assert released.texts("Reservation/ReservationId") == [reservation_id]
    assert await refused(api, "GET", f"/tnreservation/{reservation_id}") == (404, "5043")
    assert api.emulator.number_status(NUMBER) == "Available"


@pytest.mark.parametrize("spelling", ["tnreservation", "TnReservation", "TNRESERVATION"])
async def test_paths_are_matched_in_any_case(api: Api, spelling: str) -> None:
    """Bandwidth's SDKs write tnreservation or TnReservation; every verb answers either."""
    created = await api.call("POST", f"/{spelling}", reservation(NUMBER))
    assert created.status == 201
    reservation_id = created.headers["Location"].rsplit("/", 1)[1]
    assert (await api.call("GET", f"/{spelling}/{reservation_id}")).status == 200
    assert (await api.call("DELETE", f"/{spelling}/{reservation_id}")).status == 200


async def test_only_the_last_reserved_tn_is_reserved(api: Api) -> None:
    """ "If multiple <ReservedTn> are sent, only the last ReservedTn will be reserved"."""
    answer = await api.call("POST", "/tnreservation", reservation(OTHER, NUMBER))
    reservation_id = answer.headers["Location"].rsplit("/", 1)[1]
    got = await api.call("GET", f"/tnreservation/{reservation_id}")
    assert got.texts("Reservation/ReservedTn") == [NUMBER]
    assert api.emulator.number_status(OTHER) == "Available"


async def test_reservation_errors(api: Api, bandwidth_emulator: BandwidthEmulator) -> None:
    """5040 unknown number, 5041 not available (reserved by anyone, in service, aging, taken),
    5042 another account's, 5043 unknown id, 5044 bad body, 5045 bad number."""
    post = "POST", "/tnreservation"
    assert await refused(api, *post, reservation(UNKNOWN)) == (400, "5040")
    await api.reserve(NUMBER)
    assert await refused(api, *post, reservation(NUMBER)) == (400, "5041")
    elsewhere = bandwidth_emulator.reserve_elsewhere(OTHER)
    assert await refused(api, *post, reservation(OTHER)) == (400, "5041")
    assert await refused(api, "GET", f"/tnreservation/{elsewhere}") == (404, "5042")
    assert await refused(api, "DELETE", f"/tnreservation/{elsewhere}") == (404, "5042")
    assert await refused(api, "GET", "/tnreservation/no-such-id") == (404, "5043")
    assert await refused(api, "DELETE", "/tnreservation/no-such-id") == (404, "5043")
    assert await refused(api, *post, "<Reservation/>") == (400, "5044")
    assert await refused(api, *post, "<Other/>") == (400, "5044")
    assert await refused(api, *post, reservation("54022")) == (400, "5045")
    owned, aging, taken = "5405514342", "5405515330", "5405515329"
    await api.order(owned, aging)
    await api.disconnect(aging)
    bandwidth_emulator.take(taken)
    for number in (owned, aging, taken):
        assert await refused(api, *post, reservation(number)) == (400, "5041")


async def test_reservations_expire() -> None:
    """After reservation_lifetime the id answers 5042 and the number is back in stock."""
    async with BandwidthEmulator(reservation_lifetime=0.1) as emulator, api_for(emulator) as api:
        reservation_id = await api.reserve(NUMBER)
        await asyncio.sleep(0.15)
        assert await refused(api, "GET", f"/tnreservation/{reservation_id}") == (404, "5042")
        assert NUMBER in emulator.inventory
        await api.order(NUMBER)  # anyone can have it again, without the old id
        assert emulator.number_status(NUMBER) == "Inservice"


async def test_reserved_numbers_are_not_found_by_searches(api: Api) -> None:
    """Assumed: a reserved number leaves the stock, so searches do not offer it."""
    search = "/availableNumbers?npaNxx=540227&quantity=100"
    before = (await api.call("GET", search)).texts("TelephoneNumberList/TelephoneNumber")
    await api.reserve(NUMBER)
    after = (await api.call("GET", search)).texts("TelephoneNumberList/TelephoneNumber")
    assert NUMBER in before
    assert sorted(after) == sorted(n for n in before if n != NUMBER)


async def order_outcome(api: Api, body: str) -> tuple[str, list[str], list[str]]:
    """Place an order; its final status, ErrorList codes and the numbers they name."""
    created = await api.call("POST", "/orders", body)
    order_id = created.headers["Location"].rsplit("/", 1)[1]
    await api.emulator.settle()
    got = await api.call("GET", f"/orders/{order_id}")
    return (
        got.text("OrderStatus") or "",
        got.texts("ErrorList/Error/Code"),
        got.texts("ErrorList/Error/TelephoneNumber"),
    )


async def test_ordering_with_the_reservation_id_uses_the_reservation(api: Api) -> None:
    """The listed reservation lets the order have the number, and is used up (5043 after)."""
    reservation_id = await api.reserve(NUMBER)
    created = await api.call("POST", "/orders", order([NUMBER], [reservation_id]))
    listed = "Order/ExistingTelephoneNumberOrderType/ReservationIdList/ReservationId"
    assert created.texts(listed) == [reservation_id]
    order_id = created.headers["Location"].rsplit("/", 1)[1]
    await api.emulator.settle()
    got = await api.call("GET", f"/orders/{order_id}")
    assert got.text("OrderStatus") == "COMPLETE"
    assert got.texts(listed) == [reservation_id]
    assert await refused(api, "GET", f"/tnreservation/{reservation_id}") == (404, "5043")
    assert api.emulator.number_status(NUMBER) == "Inservice"


async def test_a_reserved_number_fails_without_its_id(api: Api) -> None:
    """Assumed: 5005 for the number, FAILED without PartialAllowed; the reservation stays."""
    reservation_id = await api.reserve(NUMBER)
    assert await order_outcome(api, order([NUMBER, OTHER])) == ("FAILED", ["5005"], [NUMBER])
    assert await order_outcome(api, order([NUMBER, OTHER], ["wrong-id"], partial=True)) == (
        "PARTIAL",
        ["5005"],
        [NUMBER],
    )
    assert (await api.call("GET", f"/tnreservation/{reservation_id}")).status == 200


async def test_another_accounts_reservation_cannot_be_used(
    api: Api, bandwidth_emulator: BandwidthEmulator
) -> None:
    """Even with its id in the list, a number another account holds fails with 5005."""
    elsewhere = bandwidth_emulator.reserve_elsewhere(NUMBER)
    assert await order_outcome(api, order([NUMBER], [elsewhere])) == ("FAILED", ["5005"], [NUMBER])
    assert bandwidth_emulator.number_status(NUMBER) == "Reserved"


async def test_take_and_reserve_elsewhere_refuse_reserved_numbers(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """take() of a reserved number raises and says why; so does reserving it twice."""
    reservation_id = bandwidth_emulator.reserve_elsewhere(NUMBER)
    with pytest.raises(ValidationError) as taking:
        bandwidth_emulator.take(NUMBER)
    assert str(taking.value) == (
        f"take('{NUMBER}') is not possible: the number is reserved (reservation "
        f"{reservation_id}); release the reservation first, or take another number."
    )
    with pytest.raises(ValidationError, match=r"is not available\. Reserve a number"):
        bandwidth_emulator.reserve_elsewhere(NUMBER)
    assert bandwidth_emulator.take(OTHER) is True


async def test_reservation_by_number(api: Api, bandwidth_emulator: BandwidthEmulator) -> None:
    """GET /tns/{tn}/tnreservation in the older document's spelling; 404 when not ours."""
    reservation_id = await api.reserve(NUMBER)
    got = await api.call("GET", f"/tns/{NUMBER}/tnreservation")
    assert (got.status, got.root) == (200, "TNReservation")
    assert got.texts("ReservationID") == [reservation_id]
    assert got.texts("Account") == [bandwidth_emulator.account_id]
    assert got.texts("ReservedTN") == [NUMBER]
    assert int(got.text("ReservationExpires") or 0) > 0
    bandwidth_emulator.reserve_elsewhere(OTHER)
    assert (await api.call("GET", f"/tns/{OTHER}/TnReservation")).status == 404
    assert (await api.call("GET", "/tns/5405514342/tnreservation")).status == 404
