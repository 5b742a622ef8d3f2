"""The reservation methods of :class:`NumbersClient`: hold a number while someone chooses.

``/accounts/{accountId}/tnreservation`` (``reference/lifecycle.md`` §1): a reservation keeps
other accounts from ordering a number for about 4 hours; the order that buys it names the
reservation (``create_order(reservation_ids=[...])``), which consumes it. Refusals are
:class:`ReservationError`s (mapped in :mod:`._api_errors`).

``POST /tnreservation`` has no idempotency key, so like ``POST /orders`` it is retried only
when it provably did not execute: a second POST after one that did would be refused with 5041
by our own reservation. Unlike an order, a reservation cannot be looked up by number, so an
ambiguous failure is raised with a sentence saying that the number may be reserved by you and
that such a reservation expires on its own.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Final
from urllib.parse import urlsplit

from ._api import ApiBase
from ._checks import id_segment
from ._exceptions import BWNumbersError, DecodeError, ServerError, TransportError
from ._number_models import Reservation
from ._numbers import normalize_number
from ._xml import _lifecycle

__all__ = ["Reservation", "ReservationMethods"]

log = logging.getLogger("bwnumbers.client")

_PATH: Final = "/tnreservation"
_SEGMENTS: Final = frozenset({"tnreservation", "tnsreservation"})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def reservation_location(location: str | None) -> str | None:
    """The reservation id at the end of a ``Location`` header, in any of its casings
    (``.../TnReservation/{id}``, ``tnreservation``, ``tnsreservation``); ``None`` without one."""
    if not location:
        return None
    segments = urlsplit(location).path.rstrip("/").split("/")
    if len(segments) < 2 or segments[-2].lower() not in _SEGMENTS:
        return None
    return segments[-1] or None


def _say_ambiguous(error: BWNumbersError, number: str) -> None:
    """Add to *error* that the POST it failed may have reserved *number* all the same."""
    sentence = (
        f"The reservation of {number} may have been made before this failure, so it was not "
        "sent again (a second one would be refused with 5041 by that very reservation): if it "
        "was made, it is yours and expires on its own in about 4 hours; "
        f"client.get_number({number!r}) shows the number Reserved meanwhile."
    )
    if isinstance(error, TransportError):  # its message is composed with the hint on demand
        error.hint = f"{error.hint} {sentence}".strip()
    else:
        error.args = (f"{error} {sentence}",)


class ReservationMethods(ApiBase):
    """Reserve, read and release number reservations (mixed into NumbersClient)."""

    async def reserve_number(self, number: str) -> Reservation:
        """Reserve *number* for this account: ``POST /tnreservation``.

        Other accounts cannot order it while the reservation lasts (about 4 hours); order it
        with ``create_order(..., reservation_ids=[reservation.id])`` or let it go with
        :meth:`release_reservation`. Bandwidth answers with the reservation's id only, so the
        reservation is read once more (``GET``) for how long it lasts; if that read fails,
        the reservation is returned without *seconds_left*.

        Raises:
            ValidationError: *number* is not a North American number (nothing sent).
            NumberUnavailableError: 5041: another account holds the number, or it is in
                service or aging: pick another number.
            ReservationNotFoundError: 5040: Bandwidth does not know the number.
            ReservationError: another refusal (5044-5047: the account may lack the feature).
            TransportError, ServerError: the POST failed in a way that does not say whether
                the number was reserved; it was not sent again (the message says so).
            DecodeError: the number was reserved but the answer named no reservation id.

        .. versionadded:: 0.3
        """
        tn = normalize_number(number)
        body = _lifecycle.encode_reservation(tn)
        try:
            response = await self._request("POST", _PATH, body=body, idempotent=False)
        except TransportError as error:
            if error.request_sent:
                _say_ambiguous(error, tn)
            raise
        except ServerError as error:
            _say_ambiguous(error, tn)
            raise
        now = _now()
        reservation_id = reservation_location(response.headers.get("Location"))
        echoed = None
        if response.body.strip():
            try:  # no source shows a body here; read one if it names the reservation
                echoed = _lifecycle.decode_reservation(
                    response.body, now=now, reservation_id=reservation_id
                )
            except DecodeError:
                echoed = None
        if echoed is not None and echoed.seconds_left is not None:
            return echoed
        reservation_id = reservation_id or (echoed.id if echoed is not None else None)
        if reservation_id is None:
            raise DecodeError(
                f"Bandwidth accepted the reservation of {tn} (HTTP {response.status}) but named "
                "no reservation id (no Location header), so it cannot be ordered with or "
                "released; it expires on its own in about 4 hours.",
                body=response.body[:512],
            )
        try:
            return await self.get_reservation(reservation_id)
        except BWNumbersError as error:
            log.warning(
                "Reserved %s as %s, but reading how long it lasts failed (%s)",
                tn,
                reservation_id,
                error,
            )
            return Reservation(id=reservation_id, number=tn)

    async def get_reservation(self, reservation_id: str) -> Reservation:
        """The reservation and how long it has left: ``GET /tnreservation/{id}``.

        Raises:
            ReservationNotFoundError: it expired, was released or ordered, or belongs to
                another account (5042, 5043).
            ReservationError: another refusal.

        .. versionadded:: 0.3
        """
        path = f"{_PATH}/{id_segment('reservation_id', reservation_id)}"
        response = await self._request("GET", path)
        reservation = _lifecycle.decode_reservation(
            response.body, now=_now(), reservation_id=reservation_id
        )
        if reservation is None:
            raise DecodeError(
                f"The answer for reservation {reservation_id} names no reserved number.",
                body=response.body[:512],
            )
        return reservation

    async def release_reservation(self, reservation_id: str) -> None:
        """Give a reserved number back: ``DELETE /tnreservation/{id}``.

        Raises:
            ReservationNotFoundError: it expired, was released or ordered already, or belongs
                to another account (5042, 5043): either way it no longer holds the number
                for you.
            ReservationError: Bandwidth could not release it (5047).

        .. versionadded:: 0.3
        """
        path = f"{_PATH}/{id_segment('reservation_id', reservation_id)}"
        await self._request("DELETE", path)  # the SPEC's body or none: nothing to read
