"""Turn an API error response into the bwnumbers exception, with a sentence saying what to do.

A 401 or 403 is the error a newcomer meets first, and Bandwidth's own words for it ("Access
Denied") say nothing about which credentials were refused or why; so the exception adds which
credentials the request used (never a secret) and what to check.

Bandwidth's codes collide across endpoints (5040 is "Note not found" for orders and "telephone
number not found" for reservations), so a code picks a subclass only on the paths it belongs
to: the reservation codes 5040-5047 only on ``/tnreservation`` paths (see
``reference/lifecycle.md`` §1.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from . import _transport, _xml
from ._auth import Authenticator
from ._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    NumberUnavailableError,
    RateLimitError,
    ReservationError,
    ReservationNotFoundError,
    ServerError,
)
from ._transport import Response

__all__ = ["api_error"]

_STATUS_ERRORS: Final[Mapping[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def api_error(
    response: Response,
    *,
    method: str,
    path: str,
    order_id: str | None,
    auth: Authenticator,
    account_id: str,
    base_url: str,
) -> APIError:
    """The exception for an error *response* to ``method path``."""
    code, description, errors = _xml.decode_error(response.body)
    status = response.status
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIError)
    hint = refusal_hint(status, auth, account_id=account_id, base_url=base_url)
    segments = path.split("?", 1)[0].lower().strip("/").split("/")
    if 400 <= status < 500 and status not in (401, 403, 429):
        if segments[-1] in _RESERVATION_SEGMENTS:  # POST /tnreservation
            cls, hint = _reservation_error(cls, code, hint, named=False)
        elif len(segments) > 1 and segments[-2] in _RESERVATION_SEGMENTS:  # .../{id}
            cls, hint = _reservation_error(cls, code, hint, named=True)
    return cls(
        status=status,
        code=code,
        description=description or _transport.reason(status),
        body=response.body,
        errors=errors,
        method=method,
        path=path,
        order_id=order_id,
        hint=hint,
    )


# The last path segment of a reservation, in every casing Bandwidth's documents and SDKs use
# (TnReservation, tnreservation, tnsreservation): reference/lifecycle.md §1.1.
_RESERVATION_SEGMENTS: Final = frozenset({"tnreservation", "tnsreservation"})
_RESERVATION_CODES: Final = range(5040, 5048)
_NOT_FOUND_CODES: Final = frozenset({5040, 5042, 5043})

_UNAVAILABLE_HINT: Final = (
    "The number is reserved already (by another account, or by an earlier reservation of "
    "yours), in service or aging, so it cannot be reserved now: pick another number "
    "(client.search_available_numbers)."
)
_UNKNOWN_NUMBER_HINT: Final = (
    "Bandwidth does not know this number: check it, or pick one that "
    "client.search_available_numbers found."
)
_GONE_HINT: Final = (
    "The reservation expired, was released or used by an order, or belongs to another "
    "account: reserve the number again with client.reserve_number if it is still wanted."
)
_NOT_ALLOWED_HINT: Final = (
    "Reservations are a feature of the Bandwidth account: ask Bandwidth to enable it, or "
    "order the number without reserving it."
)


def _reservation_error(
    cls: type[APIError], code: int | None, hint: str | None, *, named: bool
) -> tuple[type[APIError], str | None]:
    """The class and hint of a 4xx to a reservation request, from Bandwidth's code.

    A 404 without a reservation code means "no such reservation" only when the request
    *named* one (``GET``/``DELETE .../tnreservation/{id}``); *cls* is the class by status.
    """
    if code == 5041:
        return NumberUnavailableError, _UNAVAILABLE_HINT
    if code == 5040:
        return ReservationNotFoundError, _UNKNOWN_NUMBER_HINT
    if code in _NOT_FOUND_CODES or (cls is NotFoundError and named and code is None):
        return ReservationNotFoundError, _GONE_HINT
    if code == 5046:
        return ReservationError, _NOT_ALLOWED_HINT
    if code in _RESERVATION_CODES:
        return ReservationError, hint
    return cls, hint


def refusal_hint(status: int, auth: Authenticator, *, account_id: str, base_url: str) -> str | None:
    """What to check after a 401 or 403, naming the credentials used; ``None`` otherwise."""
    if status == 401:
        return auth.refused(f"account {account_id} at base_url={base_url!r}")
    if status == 403:
        return (
            f"The request used {auth.describe()}, which Bandwidth accepted but does not allow "
            "to do this: check in the Bandwidth App that it has the role this request needs "
            f"(the Numbers role, to search and order numbers) and access to account {account_id}."
        )
    return None
