"""Public exceptions read as users import them, and survive pickling with their attributes."""

from __future__ import annotations

import pickle
import traceback

import pytest

import bwnumbers
from bwnumbers import OrderError

PUBLIC_ERRORS = sorted(
    (
        value
        for value in vars(bwnumbers).values()
        if isinstance(value, type) and issubclass(value, BaseException)
    ),
    key=lambda cls: cls.__name__,
)


def test_every_public_error_is_listed() -> None:
    """The parametrized tests below cover the whole tree, not a hand-kept subset."""
    assert bwnumbers.BWNumbersError in PUBLIC_ERRORS
    assert len(PUBLIC_ERRORS) >= 15
    assert all(issubclass(cls, bwnumbers.BWNumbersError) for cls in PUBLIC_ERRORS)


@pytest.mark.parametrize("cls", PUBLIC_ERRORS, ids=lambda cls: cls.__name__)
def test_public_error_lives_in_bwnumbers(cls: type[BaseException]) -> None:
    """`bwnumbers.<Name>` is the class, and tracebacks call it that, not bwnumbers._exceptions."""
    assert cls.__module__ == "bwnumbers"
    assert getattr(bwnumbers, cls.__name__) is cls


def test_traceback_names_the_public_module() -> None:
    """The last line of a traceback is what users see first."""
    try:
        raise bwnumbers.OrderFailedError(order_id="o-1", message="no numbers left")
    except bwnumbers.OrderFailedError as error:
        last = traceback.format_exception(error)[-1]
    assert last == "bwnumbers.OrderFailedError: Order o-1 failed: no numbers left.\n"


ERROR_SAMPLES: list[BaseException] = [
    bwnumbers.ValidationError("site_id= is empty."),
    bwnumbers.TransportError(
        "Could not connect",
        method="GET",
        path="/orders",
        request_sent=False,
        attempts=2,
        hint="Check base_url=.",
    ),
    bwnumbers.DecodeError("Not XML.", body=b"<html>"),
    bwnumbers.APIError(status=418, code=None, description="I'm a teapot", method="GET"),
    bwnumbers.NotFoundError(
        status=404, code=None, description="gone", path="/orders/x", order_id="x", hint="Look."
    ),
    bwnumbers.ServerError(status=503, code=None, description="down", body=b"<x/>"),
    bwnumbers.AmbiguousOrderError("Maybe placed.", customer_order_id="c-1"),
    bwnumbers.OrderFailedError(
        order_id="o-1",
        errors=[OrderError(code=5005, description="Unavailable", number="5402278098")],
        failed_numbers=["5402278098"],
    ),
    bwnumbers.OrderTimeoutError(order_id="o-2", timeout=5, last_status="RECEIVED"),
    bwnumbers.DisconnectFailedError(
        order_id="d-1",
        errors=[OrderError(code=5006, description="Not yours", number="5402278098")],
        failed_numbers=["5402278098"],
    ),
]


@pytest.mark.parametrize("error", ERROR_SAMPLES, ids=lambda error: type(error).__name__)
def test_errors_survive_pickling(error: BaseException) -> None:
    """Keyword-only constructors do not stop an error from crossing a process boundary."""
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_rate_limit_error_keeps_when_to_retry() -> None:
    """Attributes set after construction (reset_at, retry_after) survive pickling too."""
    error = bwnumbers.RateLimitError(status=429, code=None, description="Too many")
    error.reset_at, error.retry_after = 1_800_000_000.0, 12.5
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.reset_at, copy.retry_after) == (1_800_000_000.0, 12.5)
