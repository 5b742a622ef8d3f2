"""Disconnect orders and their one step: pure, like :mod:`._orders`.

Bandwidth's disconnect guide, https://dev.bandwidth.com/docs/numbers/disconnectNumbers/ , and
its API reference give the shapes; the rules here are:

- each number in service on this account is disconnected and starts aging (:mod:`._numbers`);
  any other number fails with 5006 "Telephone number could not be disconnected since it is
  not associated with your account" and its ``TelephoneNumber``;
- the order ends COMPLETE (all disconnected), PARTIAL (some; assumed: Bandwidth's webhooks
  name PARTIAL for disconnects but no sample shows one) or FAILED (none).
"""

from __future__ import annotations

import datetime as dt

import attrs

from ._numbers import NumberStates
from ._orders import FINAL, Notice

__all__ = ["NOT_YOURS", "Disconnect", "notice", "process"]

NOT_YOURS = (
    "Telephone number could not be disconnected since it is not associated with your account"
)


@attrs.define(kw_only=True)
class Disconnect:
    """A disconnect order as the emulator keeps it.

    *mode* is as Bandwidth echoes it (``normal``, ``purge``, ``soft-remove``); *protected* as
    sent (``TRUE``, ``FALSE``, ``UNCHANGED``) or ``None``.
    """

    id: str
    customer_order_id: str | None
    name: str | None
    mode: str
    protected: str | None
    numbers: tuple[str, ...]
    created: dt.datetime
    status: str = "RECEIVED"
    modified: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    disconnected: list[str] = attrs.Factory(list)
    errors: list[tuple[int, str, str | None]] = attrs.Factory(list)

    @property
    def failed(self) -> list[str]:
        """The numbers that were not disconnected."""
        return [number for _, _, number in self.errors if number is not None]


def process(disconnect: Disconnect, numbers: NumberStates, *, now: dt.datetime) -> Notice | None:
    """Disconnect what *disconnect* asks at *now*; the notice to send, ``None`` if it was final."""
    if disconnect.status in FINAL:
        return None
    for number in disconnect.numbers:
        if numbers.disconnect(number, disconnect_id=disconnect.id, now=now):
            disconnect.disconnected.append(number)
        else:
            disconnect.errors.append((5006, NOT_YOURS, number))
    if not disconnect.errors:
        disconnect.status = "COMPLETE"
    else:
        disconnect.status = "PARTIAL" if disconnect.disconnected else "FAILED"
    disconnect.modified = disconnect.completed_at = now
    return notice(disconnect)


def notice(disconnect: Disconnect) -> Notice:
    """The ``OrderType`` ``disconnects`` notification of *disconnect*'s current status.

    Its shape is SYNTHESIZED from Bandwidth's generic ``OrderWebhook`` (no disconnect sample
    exists). Like an order's, a FAILED one lists the numbers the disconnect attempted under
    ``CompletedTelephoneNumbers`` (assumed: the same quirk), so clients must read the
    disconnect to learn what happened.
    """
    if disconnect.status == "FAILED":
        code, description, _ = disconnect.errors[0]
        message = f"{code}: {description}"
        numbers = disconnect.numbers
    else:
        message = f"{len(disconnect.disconnected)} number(s) disconnected"
        if disconnect.status == "PARTIAL":
            message += f", {len(disconnect.errors)} failed"
        numbers = tuple(disconnect.disconnected)
    return Notice(
        order_id=disconnect.id,
        customer_order_id=disconnect.customer_order_id,
        status=disconnect.status,
        message=message,
        numbers=numbers,
        modified=disconnect.modified,
        order_type="disconnects",
    )
