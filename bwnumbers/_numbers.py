"""Phone numbers as users write them, and as Bandwidth wants them: ten NANP digits."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._exceptions import ValidationError

# Separators people put in numbers; anything else (letters, '#', ...) is an error, not noise.
_SEPARATORS = re.compile(r"[\s().\-]")
# NANP: NPA and NXX both start with 2-9.
_NANP = re.compile(r"[2-9]\d{2}[2-9]\d{6}")


def normalize_number(value: object) -> str:
    """Return *value* as ten NANP digits.

    Accepts ``5402278098``, ``+15402278098``, ``1 540 227 8098`` and ``(540) 227-8098``.

    Raises:
        ValidationError: *value* is not a string of a North American number.
    """
    if not isinstance(value, str):
        raise ValidationError(
            f"A phone number must be a string such as '5402278098', not {type(value).__name__}."
        )
    digits = _SEPARATORS.sub("", value)
    if digits.startswith("+"):
        if not digits.startswith("+1"):
            raise ValidationError(f"{value!r} is not a North American (+1) number.")
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if not _NANP.fullmatch(digits):
        raise ValidationError(
            f"{value!r} is not a valid North American number: expected 10 digits whose area "
            "code and exchange start with 2-9, like '5402278098' or '+15402278098'."
        )
    return digits


def normalize_numbers(values: Iterable[object]) -> tuple[str, ...]:
    """Normalize every number of *values*, refusing an empty list and duplicates.

    Raises:
        ValidationError: a number is invalid, the list is empty, or a number repeats
            (``+15402278098`` and ``5402278098`` are the same number).
    """
    if isinstance(values, str | bytes):
        raise ValidationError("numbers= takes a list of phone numbers, not a single string.")
    numbers = tuple(normalize_number(v) for v in values)
    if not numbers:
        raise ValidationError("numbers= is empty: give at least one phone number to order.")
    seen: set[str] = set()
    for number in numbers:
        if number in seen:
            raise ValidationError(f"Number {number} appears more than once in the order.")
        seen.add(number)
    return numbers
