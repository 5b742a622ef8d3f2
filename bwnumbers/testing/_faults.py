"""The emulator's fault knobs, each checked whenever it is set.

A knob that swallowed a wrong value (``fail_next_order = "explode"``, ``drop_callbacks = 5``)
would let a test pass without its fault ever happening, so every field of :class:`Faults` is
given one of the validators below, which attrs runs both in ``__init__`` and on assignment.
The emulator's own tests walk the fields and fail for any knob that accepts a value of the
wrong type, so a new knob cannot skip this.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable
from typing import Any, Literal, TypeGuard, get_args

import attrs

from bwnumbers import ValidationError

from ._ratelimit import RESET_HEADERS, ResetHeader
from ._tokens import TokenFailure

__all__ = ["ORDER_FAILURES", "TOKEN_FAILURES", "Faults", "OrderFailure", "shown"]

OrderFailure = Literal["500", "disconnect", "truncate"]
ORDER_FAILURES: tuple[OrderFailure, ...] = get_args(OrderFailure)
TOKEN_FAILURES: tuple[TokenFailure, ...] = get_args(TokenFailure)

# Long enough for any sensible value, short enough that a pasted blob stays one line.
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60

_Validator = Callable[[object, "attrs.Attribute[Any]", object], None]


def _rule(check: Callable[[object], bool], allowed: str) -> _Validator:
    """A validator that accepts the values passing *check*; *allowed* names them for people."""

    def validate(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not check(value):
            raise ValidationError(
                f"faults.{attribute.name} = {shown(value)} is not allowed: give {allowed}."
            )

    return validate


def shown(value: object) -> str:
    """*value* as an error message quotes it."""
    return _SHOWN.repr(value)


def _is_number(value: object) -> TypeGuard[int | float]:
    # bool is an int, but ``drop_callbacks = True`` is a mistake rather than a probability.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _one_of(*choices: object) -> _Validator:
    names = [repr(c) for c in choices]
    return _rule(lambda v: v in choices, f"one of {', '.join(names[:-1])} or {names[-1]}")


_PROBABILITY = _rule(
    lambda v: _is_number(v) and 0 <= v <= 1, "a probability from 0 (never) to 1 (always)"
)
_SECONDS = _rule(
    lambda v: _is_number(v) and math.isfinite(v) and v >= 0, "a finite number of seconds >= 0"
)
_COUNT = _rule(
    lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a whole number >= 0"
)
_SWITCH = _rule(lambda v: isinstance(v, bool), "True or False")


@attrs.define(kw_only=True)
class Faults:
    """Failures to inject, for your tests and ours. Change them at any time.

    Every knob is checked when it is set (here or in ``Faults(...)``): a value it does not
    accept raises :class:`bwnumbers.ValidationError` naming the knob, the value and what it
    accepts, and a misspelt knob raises ``AttributeError``, so no fault is silently ignored.

    Attributes:
        callback_delay: seconds between an order's change and its notification.
        drop_callbacks: probability (0 to 1) that a notification is never sent.
        duplicate_callbacks: probability that a notification is sent twice.
        callback_before_response: process the next orders at once and deliver their
            notifications *before* answering ``POST /orders``.
        omit_customer_order_id: notifications carry only the ``OrderId``, no
            ``CustomerOrderId``, so they can be matched only by the order id that the
            ``POST /orders`` answer returns (with *callback_before_response*, only after it).
        fail_next_order: the next ``POST /orders`` commits the order, then answers ``"500"``,
            drops the connection (``"disconnect"``) or sends a truncated body (``"truncate"``).
        fail_next_disconnect: the same for the next ``POST /disconnects``: the disconnect
            order is committed (and processed), then the answer fails. ``drop_callbacks``,
            ``duplicate_callbacks`` and ``callback_delay`` apply to disconnect notifications
            too.
        rate_limit_next: answer the next N API requests with 429 (not executed), before and
            apart from the emulator's ``rate_limits``.
        rate_limit_reset: seconds until the ``rate_limit_next`` limit resets, sent as
            ``X-RateLimit-Reset``.
        rate_limit_header: how every 429 gives its reset time: ``"seconds"`` (epoch seconds,
            as Bandwidth documents; the default), ``"milliseconds"`` (epoch milliseconds),
            ``"delta"`` (seconds from now), ``"missing"`` (no header), ``"garbled"`` (``soon``)
            or ``"past"`` (epoch seconds, 5 s ago).
        response_delay: seconds to wait before answering every API request.
        token_failure: make every request to the token endpoint fail until set back to
            ``None``: ``"503"`` answers 503 with a small HTML page (a proxy in front of a down
            service), ``"timeout"`` never answers, so the client's own timeout ends the request
            (``stop()`` still returns at once). ``rate_limit_next`` and ``response_delay``
            never apply to the token endpoint.

    .. versionadded:: 0.2 *token_failure*, *rate_limit_header*.
    .. versionadded:: 0.2 *omit_customer_order_id*.
    .. versionadded:: 0.2 *fail_next_disconnect*.
    .. versionchanged:: 0.2
       ``rate_limit_next`` sends epoch seconds by default, as Bandwidth does (it sent
       milliseconds); ``rate_limit_header="milliseconds"`` brings that back.
    .. versionchanged:: 0.2
       Every knob is validated on assignment and in ``Faults(...)`` and raises
       :class:`bwnumbers.ValidationError` for a value it does not accept.
    """

    callback_delay: float = attrs.field(default=0.0, validator=_SECONDS)
    drop_callbacks: float = attrs.field(default=0.0, validator=_PROBABILITY)
    duplicate_callbacks: float = attrs.field(default=0.0, validator=_PROBABILITY)
    callback_before_response: bool = attrs.field(default=False, validator=_SWITCH)
    omit_customer_order_id: bool = attrs.field(default=False, validator=_SWITCH)
    fail_next_order: OrderFailure | None = attrs.field(
        default=None, validator=_one_of(*ORDER_FAILURES, None)
    )
    fail_next_disconnect: OrderFailure | None = attrs.field(
        default=None, validator=_one_of(*ORDER_FAILURES, None)
    )
    rate_limit_next: int = attrs.field(default=0, validator=_COUNT)
    rate_limit_reset: float = attrs.field(default=1.0, validator=_SECONDS)
    rate_limit_header: ResetHeader = attrs.field(
        default="seconds", validator=_one_of(*RESET_HEADERS)
    )
    response_delay: float = attrs.field(default=0.0, validator=_SECONDS)
    token_failure: TokenFailure | None = attrs.field(
        default=None, validator=_one_of(*TOKEN_FAILURES, None)
    )
