"""Exit codes that scripts can branch on, the ones Bandwidth's own ``band`` command uses.

Every exception class of :mod:`bwnumbers._exceptions` has an explicit entry in
:data:`EXIT_CODES` (a test checks it), so a new exception class cannot silently exit 1.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from bwnumbers._exceptions import (
    AmbiguousOrderError,
    APIError,
    AuthenticationError,
    BadRequestError,
    BWNumbersError,
    ConflictError,
    DecodeError,
    DisconnectFailedError,
    ForbiddenError,
    IdempotencyConflictError,
    NeverCreatedError,
    NotFoundError,
    NumberUnavailableError,
    OrderFailedError,
    OrderTimeoutError,
    RateLimitError,
    ReservationError,
    ReservationNotFoundError,
    ServerError,
    StoreUnavailableError,
    TransportError,
    ValidationError,
    WaitersClosedError,
)


class ExitCode(enum.IntEnum):
    """What the ``bwnumbers`` command's exit status means."""

    OK = 0
    ERROR = 1
    AUTHENTICATION = 2
    NOT_FOUND = 3
    CONFLICT = 4
    TIMEOUT = 5
    USAGE = 6
    RATE_LIMITED = 7
    INTERRUPTED = 130


class UsageError(Exception):
    """The command line asks for something the command cannot do; exits 6."""


class NoOrderError(Exception):
    """No order has the customer order id asked for; exits 3, like a 404."""


class SeveralOrdersError(Exception):
    """More than one order has the customer order id asked for; exits 1."""


class ListenError(Exception):
    """``bwnumbers emulator`` could not listen where it was asked to (a busy port); exits 1."""


#: The exit code of each exception class; subclasses not listed use their nearest base.
EXIT_CODES: Final[Mapping[type[BaseException], ExitCode]] = {
    BWNumbersError: ExitCode.ERROR,
    # Rejected before anything was sent: the flags (or BW_* variables) need fixing.
    ValidationError: ExitCode.USAGE,
    TransportError: ExitCode.ERROR,
    DecodeError: ExitCode.ERROR,
    APIError: ExitCode.ERROR,
    BadRequestError: ExitCode.ERROR,
    AuthenticationError: ExitCode.AUTHENTICATION,
    ForbiddenError: ExitCode.AUTHENTICATION,
    NotFoundError: ExitCode.NOT_FOUND,
    ConflictError: ExitCode.CONFLICT,
    RateLimitError: ExitCode.RATE_LIMITED,
    ServerError: ExitCode.ERROR,
    AmbiguousOrderError: ExitCode.ERROR,
    OrderFailedError: ExitCode.CONFLICT,
    DisconnectFailedError: ExitCode.CONFLICT,
    OrderTimeoutError: ExitCode.TIMEOUT,
    WaitersClosedError: ExitCode.ERROR,
    # A customer order id re-used for another order: like a 409.
    IdempotencyConflictError: ExitCode.CONFLICT,
    StoreUnavailableError: ExitCode.ERROR,
    NeverCreatedError: ExitCode.NOT_FOUND,
    ReservationError: ExitCode.ERROR,
    # Taken by another account, in service or aging: the number exists, just not for us.
    NumberUnavailableError: ExitCode.CONFLICT,
    # Expired, released or another account's: a not found (also by class), not a 400.
    ReservationNotFoundError: ExitCode.NOT_FOUND,
    UsageError: ExitCode.USAGE,
    NoOrderError: ExitCode.NOT_FOUND,
    SeveralOrdersError: ExitCode.ERROR,
    ListenError: ExitCode.ERROR,
}


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for *error*: its class's entry, else its nearest listed base's, else 1."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return ExitCode.ERROR


#: The table as ``--help`` and the README show it.
HELP: Final = """\
exit codes:
  0    success
  1    any other error (Bandwidth refused the request, could not be reached, ...)
  2    authentication: the credentials were refused (HTTP 401) or lack access (403)
  3    not found: no such order or reservation (HTTP 404, or no order with that
       customer order id; a reservation that expired or was released)
  4    conflict: the resource already exists (HTTP 409), the order or disconnect
       ended FAILED, or a number is not available (reserved, in service, aging)
  5    timeout: --timeout ran out; the order was not cancelled and can still complete
  6    usage: a flag or argument is wrong or missing, or no command was given
  7    rate limited: Bandwidth's rate limit would not reset in time (HTTP 429)
  130  interrupted (Ctrl-C)"""
