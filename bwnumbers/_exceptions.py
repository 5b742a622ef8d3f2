"""The bwnumbers error tree.

Every exception the SDK raises on purpose derives from :class:`BWNumbersError`::

    BWNumbersError
    ├── ValidationError (also ValueError)      bad input, caught before any request is sent
    │   └── IdempotencyConflictError           a customer order id re-used for another order
    ├── TransportError                         no usable HTTP answer (refused, reset, timed out)
    │   └── StoreUnavailableError              the order store failed before the POST: nothing sent
    ├── DecodeError                            a body that is not the XML we expected
    ├── APIError                               Bandwidth answered with an error status
    │   ├── BadRequestError                    400: validation failed on Bandwidth's side
    │   │   └── ReservationError               a reservation refused (5040-5047)
    │   │       ├── NumberUnavailableError     5041: reserved elsewhere, in service or aging
    │   │       └── ReservationNotFoundError   5042/5043: expired, released, another's (also
    │   │                                      a NotFoundError)
    │   ├── AuthenticationError                401, or the token endpoint refused
    │   ├── ForbiddenError                     403
    │   ├── NotFoundError                      404
    │   ├── ConflictError                      409
    │   ├── RateLimitError                     429 (carries when to try again)
    │   └── ServerError                        5xx
    ├── AmbiguousOrderError                    a POST may or may not have placed the order
    ├── OrderFailedError                       the order ended FAILED
    ├── DisconnectFailedError                  the disconnect ended FAILED
    ├── OrderTimeoutError (also TimeoutError)  the caller's timeout ran out; the order lives on
    ├── NeverCreatedError                      a journaled order's POST never reached Bandwidth
    └── WaitersClosedError                     the receiver stopped while an order waited

Messages are sentences meant for logs and people. Raw bodies live in attributes, never in the
message, and nothing here ever holds a password, an ``Authorization`` value or aiohttp's
``request_info`` (which carries the request headers).

Lifecycle misuse (using a closed client, say) raises plain :class:`RuntimeError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from ._disconnect_models import DisconnectDetails
    from ._models import Notification, OrderDetails, OrderError

__all__ = [
    "APIError",
    "AmbiguousOrderError",
    "AuthenticationError",
    "BWNumbersError",
    "BadRequestError",
    "ConflictError",
    "DecodeError",
    "DisconnectFailedError",
    "ForbiddenError",
    "IdempotencyConflictError",
    "NeverCreatedError",
    "NotFoundError",
    "NumberUnavailableError",
    "OrderFailedError",
    "OrderTimeoutError",
    "RateLimitError",
    "ReservationError",
    "ReservationNotFoundError",
    "ServerError",
    "StoreUnavailableError",
    "TransportError",
    "ValidationError",
    "WaitersClosedError",
]


class BWNumbersError(Exception):
    """Base class of every error bwnumbers raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds an exception by calling its class with self.args, which the
        # keyword-only constructors below refuse; rebuilding from args and the attributes
        # lets errors cross process boundaries (multiprocessing, task queues) intact.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[BWNumbersError], args: tuple[object, ...]) -> BWNumbersError:
    error = cls.__new__(cls)
    error.args = args
    return error


class ValidationError(BWNumbersError, ValueError):
    """An argument was rejected before any request was sent; nothing happened on Bandwidth."""


class TransportError(BWNumbersError):
    """The request got no usable HTTP answer: refused, reset, or timed out.

    The message names the host and port, what failed, how many times the request was tried,
    and what to check.

    Attributes:
        method, path: the request (the path never contains credentials).
        request_sent: ``False`` when the connection failed before anything was sent, so the
            request certainly did not execute; ``True`` when it may have.
        address: the ``host:port`` the request went to, when known.
        attempts: how many times the request was tried before bwnumbers gave up, when known.
        hint: the sentence saying what to check, also at the end of the message.

    .. versionchanged:: 0.2 *address*, *attempts* and *hint*.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        request_sent: bool = True,
        address: str = "",
        attempts: int | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.request_sent = request_sent
        self.address = address
        self.attempts = attempts
        self.hint = hint

    def __str__(self) -> str:
        # Composed on demand: the retry loop learns the number of attempts after the error
        # was made, and sets it before raising the error to the caller.
        text = super().__str__()
        if self.attempts is not None:
            tried = {1: "once", 2: "twice"}.get(self.attempts, f"{self.attempts} times")
            text = f"{text.rstrip('.')} (tried {tried})."
        if not self.hint:
            return text
        return f"{text} {self.hint}" if text.endswith(".") else f"{text}. {self.hint}"


class IdempotencyConflictError(ValidationError):
    """A customer order id already in the journal was given for a different order.

    Raised by ``order_and_wait`` before any request: the same customer order id resumes the
    same order, so a call with other numbers, criteria or options under it would otherwise be
    answered with the first order's result.

    .. versionadded:: 0.2
    """

    def __init__(self, message: str, *, customer_order_id: str) -> None:
        super().__init__(message)
        self.customer_order_id = customer_order_id


class StoreUnavailableError(TransportError):
    """The order store could not be used (closed, full, its disk failing).

    Raised before ``POST /orders`` when the intent cannot be recorded, so nothing was sent
    (``request_sent`` is ``False``) and it is safe to try again. After the POST, a store
    failure never fails an order: it is logged and retried.

    .. versionadded:: 0.2
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, request_sent=False)


class NeverCreatedError(BWNumbersError):
    """A journaled order was not found at Bandwidth after its reconcile window.

    Its ``POST /orders`` never arrived (the process died first), so nothing was ordered.
    ``recover(..., resubmit=True)`` sends the recorded request again under the same customer
    order id.

    .. versionadded:: 0.2
    """

    def __init__(self, message: str, *, customer_order_id: str) -> None:
        super().__init__(message)
        self.customer_order_id = customer_order_id


class DecodeError(BWNumbersError):
    """A body that is not a well-formed XML document of the expected kind.

    *body* holds the raw bytes (possibly truncated by the sender) for debugging.
    """

    def __init__(self, message: str, *, body: bytes = b"") -> None:
        super().__init__(message)
        self.body = body


class APIError(BWNumbersError):
    """Bandwidth answered with an error status.

    Attributes:
        status: the HTTP status code.
        code: Bandwidth's numeric error code when the body had one (``5005``), else ``None``.
            Bandwidth's code table has collisions, so read it together with *description*.
        description: Bandwidth's description of the error, or the HTTP reason phrase.
        errors: every error entry of the body (an ``ErrorList`` may hold several).
        body: the raw response body.
        method, path: the request that failed.
        order_id: the order concerned, when the request was about one.

    *message* replaces the standard sentence; *hint* adds one saying what to do.
    """

    def __init__(
        self,
        *,
        status: int,
        code: int | None,
        description: str,
        body: bytes = b"",
        errors: Sequence[OrderError] = (),
        method: str = "",
        path: str = "",
        order_id: str | None = None,
        message: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.description = description
        self.body = body
        self.errors = tuple(errors)
        self.method = method
        self.path = path
        self.order_id = order_id
        text = message or self._sentence()
        super().__init__(f"{text} {hint}" if hint else text)

    def _sentence(self) -> str:
        where = f" to {self.method} {self.path}" if self.method else ""
        code = f" with Bandwidth error code {self.code}" if self.code is not None else ""
        # Each fact once: GET /orders/{id} already names the order.
        named = self.order_id and quote(self.order_id, safe="") in self.path.split("/")
        order = f" for order {self.order_id}" if self.order_id and not named else ""
        text = self.description.rstrip(".") if self.description else "no description"
        return f"Bandwidth answered HTTP {self.status}{code}{where}{order}: {text}."


class BadRequestError(APIError):
    """HTTP 400: Bandwidth rejected the request (a 5016 invalid SiteId, a 4010 search, ...)."""


class AuthenticationError(APIError):
    """Bandwidth did not accept the credentials.

    Raised for a 401 from the API that a fresh token did not cure (or that no new token could
    cure: a static access token, a legacy password), and when the OAuth token endpoint refuses
    the client credentials (400 or 401) or does not exist (404). The message names the
    credentials used (the client id, the API user, or a static token or token callable) and
    what to check (the account id, ``base_url=``, ``token_url=``), never a secret or a token.
    """


class ForbiddenError(APIError):
    """HTTP 403: the credentials are valid but may not do this (or not on this account).

    The message names the credentials used and says to check their role and account access.
    """


class NotFoundError(APIError):
    """HTTP 404: the account, order or subscription does not exist."""


class ReservationError(BadRequestError):
    """Bandwidth refused a reservation request (its codes 5040 to 5047).

    Raised by ``reserve_number``, ``get_reservation`` and ``release_reservation``; the two
    subclasses below are the refusals a program acts on. *code* and *description* are
    Bandwidth's; the message adds what to do.

    .. versionadded:: 0.3
    """


class NumberUnavailableError(ReservationError):
    """5041: the number cannot be reserved: another account holds it, or it is in service or
    aging. Pick another number.

    .. versionadded:: 0.3
    """


class ReservationNotFoundError(ReservationError, NotFoundError):
    """5042 or 5043 (or a 404): the reservation expired, was released or ordered, or belongs
    to another account; 5040: Bandwidth does not know the number being reserved.

    Also a :class:`NotFoundError`, whatever the HTTP status was.

    .. versionadded:: 0.3
    """


class ConflictError(APIError):
    """HTTP 409: the resource already exists (a duplicate subscription, say)."""


class RateLimitError(APIError):
    """HTTP 429: Bandwidth's rate limit; the request was not executed.

    Raised when a request could not wait for the limit to reset: the wait would exceed its
    budget (``RetryPolicy.rate_limit_budget``) or the caller's ``timeout=``. Nothing was sent
    (or what was sent was refused unexecuted).

    Attributes:
        reset_at: when the limit resets, in epoch seconds, when known.
        retry_after: seconds from the error until then, when known.
    """

    retry_after: float | None = None
    reset_at: float | None = None


class ServerError(APIError):
    """HTTP 5xx: Bandwidth failed; for POST /orders the order may still have been placed."""


class AmbiguousOrderError(BWNumbersError):
    """``POST /orders`` (or ``/disconnects``) failed in a way that does not say whether the
    order (or disconnect) was placed.

    bwnumbers looked the order up by its *customer_order_id* and did not find it, so it did
    not adopt anything and did not place a second order. Look it up again later with
    ``client.find_order(customer_order_id)`` before ordering again. A disconnect is looked for
    by its numbers (Bandwidth cannot list disconnects by customer order id): check with
    ``client.find_disconnect(request, since=...)`` or ``client.list_disconnects()`` before
    disconnecting again. The original failure is chained as ``__cause__``.
    """

    def __init__(self, message: str, *, customer_order_id: str) -> None:
        super().__init__(message)
        self.customer_order_id = customer_order_id


class FinalFailure(BWNumbersError):
    """What :class:`OrderFailedError` and :class:`DisconnectFailedError` share: an order of
    some kind that ended FAILED, with Bandwidth's per-number errors. Not exported: catch the
    public classes."""

    #: How the message names the order ("Order", "Disconnect").
    noun = "Order"

    def __init__(
        self,
        *,
        order_id: str,
        errors: Sequence[OrderError] = (),
        failed_numbers: Sequence[str] = (),
        details: Any = None,
        notification: Notification | None = None,
        message: str | None = None,
    ) -> None:
        self.order_id = order_id
        self.errors = tuple(errors)
        self.failed_numbers = tuple(failed_numbers)
        self.details = details
        self.notification = notification
        if message is not None or not self.errors:
            reason = (message or "no reason given").rstrip(".")
            super().__init__(f"{self.noun} {order_id} failed: {reason}.")
            return
        causes = _causes(self.errors)
        counted = f"{len(causes)} errors: " if len(causes) > 1 else ""
        super().__init__(f"{self.noun} {order_id} failed with {counted}{'; '.join(causes)}.")

    @property
    def codes(self) -> tuple[int, ...]:
        """The Bandwidth error codes of every entry that has one."""
        return tuple(e.code for e in self.errors if e.code is not None)

    @property
    def descriptions(self) -> tuple[str, ...]:
        """Bandwidth's description of every entry that has one, in the order of :attr:`errors`."""
        return tuple(e.description for e in self.errors if e.description)


class OrderFailedError(FinalFailure):
    """The order reached the final status FAILED: no number was activated.

    The message names, for each of Bandwidth's errors, the numbers that error was reported
    for: in a FAILED order of two numbers where one was taken, only that one.

    Attributes:
        order_id: the Bandwidth order id.
        errors: the ``ErrorList`` entries (code, description, and the number concerned in
            :attr:`OrderError.number <bwnumbers.OrderError.number>`, when Bandwidth named one).
        failed_numbers: every number of the order that was not activated (for a FAILED
            order, usually all of them); :attr:`errors` says which number caused what.
        details: the order as ``GET /orders/{id}`` reported it, when it was fetched.
        notification: the callback that announced the failure, when one arrived.
    """

    details: OrderDetails | None


class DisconnectFailedError(FinalFailure):
    """The disconnect reached the final status FAILED: no number was disconnected.

    Attributes:
        order_id: the Bandwidth disconnect order id.
        errors: the ``ErrorList`` entries, each naming the number it concerns when Bandwidth
            named one (5006: the number is not on this account, say).
        failed_numbers: every number of the disconnect that was not disconnected.
        details: the disconnect as ``GET /disconnects/{id}`` reported it, when it was fetched.
        notification: the callback that announced the failure, when one arrived.

    .. versionadded:: 0.3
    """

    noun = "Disconnect"
    details: DisconnectDetails | None


def _causes(errors: Sequence[OrderError]) -> list[str]:
    """One phrase per distinct (code, description), naming the numbers it was reported for.

    Bandwidth repeats an error once per number (5005 for each unavailable number), so the
    entries are grouped rather than listed one by one.
    """
    numbers: dict[tuple[int | None, str], list[str]] = {}
    for error in errors:
        reported = numbers.setdefault((error.code, error.description.rstrip(".")), [])
        if error.number and error.number not in reported:
            reported.append(error.number)
    causes = []
    for (code, description), reported in numbers.items():
        which = f"Bandwidth error code {code}" if code is not None else "an error"
        for_numbers = f" for {', '.join(reported)}" if reported else ""
        causes.append(f"{which}{for_numbers}: {description or 'no description'}")
    return causes


class OrderTimeoutError(BWNumbersError, TimeoutError):
    """The caller's ``timeout=`` ran out before the order reached a final status.

    The order is not cancelled and not forgotten on Bandwidth's side: look it up with
    ``client.get_order(exc.order_id)``.
    """

    def __init__(
        self, *, order_id: str | None, timeout: float, last_status: str | None = None
    ) -> None:
        self.order_id = order_id
        self.timeout = timeout
        self.last_status = last_status
        seen = f"; last status {last_status}" if last_status else ""
        which = f"Order {order_id}" if order_id else "The order"
        super().__init__(
            f"{which} did not reach a final status within {timeout:g} s{seen}; "
            "it was not cancelled and can still complete."
        )


class WaitersClosedError(BWNumbersError):
    """The waiter registry closed (its receiver stopped) while an order waited for its callback.

    ``order_and_wait`` and ``wait_for_order`` raise it only when the registry is closed before
    they start (nothing is sent then); one that closes while they wait, they outlive by polling
    ``GET /orders/{id}``. Code that awaits a waiter itself sees it too.

    .. versionadded:: 0.1
    """


# Tracebacks and reprs name the errors as users import them (bwnumbers.OrderFailedError), not
# by this private module; pickle finds them there too, since the package exports every one.
for _name in __all__:
    globals()[_name].__module__ = "bwnumbers"
del _name
