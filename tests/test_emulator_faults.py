"""The emulator's fault knobs refuse values they would not act on, for every knob there is."""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest

from bwnumbers import ValidationError
from bwnumbers.testing import BandwidthEmulator, Faults

KNOBS = [field.name for field in attrs.fields(Faults)]


def knobs_accepting_anything(faults_class: type[Faults]) -> list[str]:
    """The knobs of *faults_class* that take a value no knob can act on (an ``object()``)."""
    lax = []
    for field in attrs.fields(faults_class):
        faults = faults_class()
        try:
            setattr(faults, field.name, object())
        except ValidationError:
            continue
        lax.append(field.name)
    return lax


def test_every_knob_is_validated() -> None:
    """No knob, present or future, accepts a value of the wrong type."""
    assert knobs_accepting_anything(Faults) == []


def test_a_knob_added_without_a_validator_is_caught() -> None:
    """The walk over the fields finds a knob that someone forgot to validate."""

    @attrs.define(kw_only=True)
    class FutureFaults(Faults):
        new_knob: float = 0.0

    assert knobs_accepting_anything(FutureFaults) == ["new_knob"]


@pytest.mark.parametrize("knob", KNOBS)
def test_a_refused_value_leaves_the_knob_as_it_was(knob: str) -> None:
    """Assigning a wrong value raises, names the knob, and changes nothing."""
    faults = Faults()
    before = getattr(faults, knob)
    with pytest.raises(ValidationError, match=rf"^faults\.{knob} = <object object at"):
        setattr(faults, knob, object())
    assert getattr(faults, knob) == before


@pytest.mark.parametrize("knob", KNOBS)
def test_the_constructor_validates_every_knob(knob: str) -> None:
    """Faults(...) refuses a wrong value just as assignment does."""
    wrong: dict[str, Any] = {knob: object()}
    with pytest.raises(ValidationError, match=rf"^faults\.{knob} = "):
        Faults(**wrong)


NONSENSE: list[tuple[str, Any, str]] = [
    ("fail_next_order", "explode", "one of '500', 'disconnect', 'truncate' or None"),
    ("fail_next_order", 500, "one of '500', 'disconnect', 'truncate' or None"),
    ("fail_next_disconnect", "drop", "one of '500', 'disconnect', 'truncate' or None"),
    ("drop_callbacks", 5, "a probability from 0 (never) to 1 (always)"),
    ("drop_callbacks", -0.1, "a probability from 0 (never) to 1 (always)"),
    ("drop_callbacks", True, "a probability from 0 (never) to 1 (always)"),
    ("duplicate_callbacks", "0.5", "a probability from 0 (never) to 1 (always)"),
    ("duplicate_callbacks", math.nan, "a probability from 0 (never) to 1 (always)"),
    ("callback_delay", -1, "a finite number of seconds >= 0"),
    ("response_delay", math.inf, "a finite number of seconds >= 0"),
    ("rate_limit_reset", None, "a finite number of seconds >= 0"),
    ("rate_limit_next", -1, "a whole number >= 0"),
    ("rate_limit_next", 1.5, "a whole number >= 0"),
    ("rate_limit_next", True, "a whole number >= 0"),
    ("callback_before_response", 1, "True or False"),
    ("callback_before_response", "yes", "True or False"),
    ("omit_customer_order_id", 0, "True or False"),
    ("omit_customer_order_id", None, "True or False"),
    (
        "rate_limit_header",
        "minutes",
        "one of 'seconds', 'milliseconds', 'delta', 'missing', 'garbled' or 'past'",
    ),
    ("token_failure", 503, "one of '503', 'timeout' or None"),
    ("token_failure", "crash", "one of '503', 'timeout' or None"),
]


@pytest.mark.parametrize(("knob", "value", "allowed"), NONSENSE)
def test_nonsense_is_refused_with_the_allowed_values(knob: str, value: Any, allowed: str) -> None:
    """The error names the knob, the value given and the values the knob takes."""
    with pytest.raises(ValidationError) as refused:
        setattr(Faults(), knob, value)
    assert str(refused.value) == f"faults.{knob} = {value!r} is not allowed: give {allowed}."


SENSE: list[tuple[str, Any]] = [
    ("fail_next_order", "500"),
    ("fail_next_order", "disconnect"),
    ("fail_next_order", "truncate"),
    ("fail_next_order", None),
    ("fail_next_disconnect", "truncate"),
    ("fail_next_disconnect", None),
    ("drop_callbacks", 0),
    ("drop_callbacks", 1),
    ("duplicate_callbacks", 0.5),
    ("callback_delay", 0.3),
    ("response_delay", 0),
    ("rate_limit_reset", 2),
    ("rate_limit_next", 3),
    ("callback_before_response", True),
    ("omit_customer_order_id", True),
    ("rate_limit_header", "milliseconds"),
    ("token_failure", "timeout"),
]


@pytest.mark.parametrize(("knob", "value"), SENSE)
def test_sensible_values_are_taken(knob: str, value: Any) -> None:
    """Every documented value is accepted, on assignment and in the constructor."""
    faults = Faults()
    setattr(faults, knob, value)
    assert getattr(faults, knob) == value
    assert getattr(Faults(**{knob: value}), knob) == value


def test_a_misspelt_knob_is_refused() -> None:
    """A knob that does not exist raises instead of being stored and ignored."""
    with pytest.raises(AttributeError, match="drop_callback"):
        Faults().drop_callback = 1.0  # type: ignore[attr-defined]


async def test_the_running_emulator_refuses_nonsense(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """The running emulator's faults refuse a bad knob and keep the value they had."""
    with pytest.raises(ValidationError, match="fail_next_order = 'explode'"):
        bandwidth_emulator.faults.fail_next_order = "explode"  # type: ignore[assignment]
    assert bandwidth_emulator.faults.fail_next_order is None


def test_emulator_faults_take_only_faults() -> None:
    """emulator.faults can be replaced by a Faults, and by nothing else."""
    emulator = BandwidthEmulator()
    fresh = Faults(drop_callbacks=1.0)
    emulator.faults = fresh
    assert emulator.faults is fresh
    with pytest.raises(ValidationError, match=r"^emulator\.faults = \{'drop_callbacks': 1\}"):
        emulator.faults = {"drop_callbacks": 1}  # type: ignore[assignment]
    assert emulator.faults is fresh
