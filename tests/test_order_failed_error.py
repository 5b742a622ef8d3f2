"""OrderFailedError: which number failed for what, in its attributes and its message."""

from __future__ import annotations

from bwnumbers import OrderError, OrderFailedError

UNAVAILABLE = "The telephone number is unavailable for ordering"


def test_errors_are_grouped_with_the_numbers_they_name() -> None:
    """Bandwidth repeats an error per number; the message groups them and keeps the others."""
    failure = OrderFailedError(
        order_id="o-1",
        errors=[
            OrderError(code=5005, description=UNAVAILABLE, number="5402278098"),
            OrderError(code=5005, description=UNAVAILABLE + ".", number="5402278089"),
            OrderError(code=5018, description="The entire quantity of numbers is unavailable"),
            OrderError(code=None, description=""),
        ],
        failed_numbers=["5402278098", "5402278089", "5402278090"],
    )
    assert str(failure) == (
        "Order o-1 failed with 3 errors: Bandwidth error code 5005 for 5402278098, 5402278089: "
        f"{UNAVAILABLE}; Bandwidth error code 5018: The entire quantity of numbers is "
        "unavailable; an error: no description."
    )
    assert failure.codes == (5005, 5005, 5018)
    assert failure.descriptions == (
        UNAVAILABLE,
        UNAVAILABLE + ".",
        "The entire quantity of numbers is unavailable",
    )
    assert "5402278090" not in str(failure)  # failed, but no error named it


def test_without_errors() -> None:
    """No ErrorList: the message says so, and the attributes are empty."""
    failure = OrderFailedError(order_id="o-2", failed_numbers=["5402278098"])
    assert str(failure) == "Order o-2 failed: no reason given."
    assert failure.codes == ()
    assert failure.descriptions == ()
