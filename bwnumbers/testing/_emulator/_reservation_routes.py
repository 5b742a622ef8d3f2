"""``/tnreservation``: reserving a number for a while, reading and releasing the reservation.

Shapes from Bandwidth's API reference (https://dev.bandwidth.com/apis/numbers/ ,
``POST/GET/DELETE /accounts/{accountId}/tnreservation``) and the reservation codes of
https://dev.bandwidth.com/docs/numbers/errors/ . Bandwidth's SDKs write the path as
``tnreservation`` or ``TnReservation``, so both (any case) are routed. Assumed where nothing
is documented: the HTTP statuses of the errors (400 for 5040, 5041, 5044 and 5045, 404 for 5042
and 5043), an empty body on 201, and the 404 of ``/tns/{tn}/tnreservation`` for a number this
account has not reserved.
"""

from __future__ import annotations

import re

from aiohttp import web

from bwnumbers.testing import _wire as wire

from ._book import now
from ._context import Context
from ._http import Refusal, location, read_xml, xml_response
from ._numbers import NumberStates, Reservation, ReservationRefused

__all__ = ["RESERVATION", "ReservationRoutes"]

RESERVATION = "{kind:(?i:tnreservation)}"
"""The path segment ``tnreservation`` in any case, as a route pattern."""

_TN = re.compile(r"\d{10}")
_NOT_FOUND = frozenset({5042, 5043})


def _refusal(refused: ReservationRefused) -> Refusal:
    status = 404 if refused.code in _NOT_FOUND else 400
    body = wire.response_status("ReservationResponse", refused.code, refused.description)
    return Refusal(status, body)


def _invalid(message: str) -> Refusal:
    return _refusal(ReservationRefused(5044, f"Reservation object is invalid: {message}"))


def _response(reservation: Reservation) -> bytes:
    return wire.document(
        wire.element(
            "ReservationResponse",
            wire.element(
                "Reservation",
                wire.element("ReservationId", text=reservation.id),
                wire.element("AccountId", text=reservation.account_id),
                wire.element("ReservationExpires", text=reservation.seconds_left(now())),
                wire.element("ReservedTn", text=reservation.number),
            ),
        )
    )


class ReservationRoutes:
    """The reservation routes of one account, on its :class:`NumberStates`."""

    def __init__(self, context: Context, numbers: NumberStates) -> None:
        self._context = context
        self._numbers = numbers

    def add_routes(self, router: web.UrlDispatcher, prefix: str, *, api_root: str) -> None:
        router.add_post(f"{prefix}/{RESERVATION}", self._create)
        router.add_get(f"{prefix}/{RESERVATION}/{{id}}", self._get)
        router.add_delete(f"{prefix}/{RESERVATION}/{{id}}", self._delete)
        router.add_get(f"{api_root}/tns/{{tn}}/{RESERVATION}", self._by_number)

    async def _create(self, request: web.Request) -> web.Response:
        node = await read_xml(request, "Reservation", _invalid)
        # "If multiple <ReservedTn> are sent, only the last ReservedTn will be reserved."
        sent = [(n.text or "").strip() for n in node.findall("ReservedTn")]
        if not sent or not sent[-1]:
            raise _invalid("ReservedTn is required")
        number = sent[-1]
        if not _TN.fullmatch(number):
            raise _refusal(
                ReservationRefused(5045, f"Reservation request param is invalid: {number}")
            )
        try:
            reservation = self._numbers.reserve(
                number,
                reservation_id=self._context.new_id(),
                account_id=self._context.account_id,
                now=now(),
            )
        except ReservationRefused as refused:
            raise _refusal(refused) from None
        # The SPEC's Location spells TnReservation; clients take its last segment as the id.
        where = location(request, self._context.account_id, "TnReservation", reservation.id)
        return web.Response(status=201, headers={"Location": where})

    def _find(self, request: web.Request, *, release: bool) -> Reservation:
        reservation_id = request.match_info["id"]
        try:
            if release:
                return self._numbers.release(reservation_id, now=now())
            return self._numbers.reservation(reservation_id, now=now())
        except ReservationRefused as refused:
            raise _refusal(refused) from None

    async def _get(self, request: web.Request) -> web.Response:
        return xml_response(_response(self._find(request, release=False)))

    async def _delete(self, request: web.Request) -> web.Response:
        # The SPEC answers DELETE with the reservation, as GET does (SDK mocks send no body).
        return xml_response(_response(self._find(request, release=True)))

    async def _by_number(self, request: web.Request) -> web.Response:
        number = request.match_info["tn"]
        self._numbers.sweep(now())
        reservation = self._numbers.reserved(number)
        if reservation is None or reservation.account_id != self._context.account_id:
            raise Refusal(404, wire.error_response(f"Telephone number {number} has no reservation"))
        # The older globalTnSearch document's spelling, the only sample of this route.
        root = wire.element(
            "TNReservation",
            wire.element("ReservationID", text=reservation.id),
            wire.element("Account", text=reservation.account_id),
            wire.element("ReservationExpires", text=reservation.seconds_left(now())),
            wire.element("ReservedTN", text=reservation.number),
        )
        return xml_response(wire.document(root))
