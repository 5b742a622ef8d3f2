"""Command-line messages speak flags: SDK keywords are translated, misspelled flags suggested."""

from __future__ import annotations

import argparse

import pytest

from bwnumbers import OrderWaiters, ValidationError, cli, order_and_wait
from bwnumbers._cli._flags import FLAGS, speak_flags
from bwnumbers.testing import BandwidthEmulator

SITE = ["--site-id", "743"]

# For every flag that sets an SDK argument: a command line the SDK rejects for that flag.
BAD_VALUES = {
    "area_code": ["search", "--emulator", "--area-code", "54"],
    "npa_nxx": ["search", "--emulator", "--npa-nxx", "12"],
    "npa_nxxx": ["search", "--emulator", "--npa-nxxx", "540551"],
    "rate_center": ["search", "--emulator", "--rate-center", "CARY!", "--state", "NC"],
    "city": ["search", "--emulator", "--city", "Cary?", "--state", "NC"],
    "state": ["search", "--emulator", "--state", "North Carolina"],
    "zip": ["search", "--emulator", "--zip", "2760"],
    "lata": ["search", "--emulator", "--lata", "123456"],
    "local_vanity": ["search", "--emulator", "--local-vanity", "ab"],
    "toll_free_vanity": ["search", "--emulator", "--toll-free-vanity", "abc"],
    "toll_free_wildcard_pattern": ["search", "--emulator", "--toll-free-wildcard", "9**"],
    "quantity": ["search", "--emulator", "--area-code", "540", "--quantity", "0"],
    "enable_tn_detail": [],  # a flag without a value: the SDK has nothing to reject
    "site_id": ["order", "--emulator", "--site-id", "a/b", "5402278098"],
    "peer_id": ["order", "--emulator", *SITE, "--peer-id", "a?b", "5402278098"],
    "name": ["order", "--emulator", *SITE, "--name", "n" * 60, "5402278098"],
    "partial_allowed": [],  # a flag without a value
    "timeout": [],  # checked by argparse (see test_timeout_is_checked_before_anything)
    "customer_order_id": ["order-status", "--customer-order-id", "a/b"],
    "reservation_ids": ["order", "--emulator", *SITE, "--reservation-id", "a/b", "5402278098"],
}


def test_every_flag_that_sets_an_sdk_argument_is_translated() -> None:
    """The table covers every parser destination that is passed to the SDK, and only flags
    that exist."""
    parser = cli.build_parser()
    flags = {
        action.dest: action.option_strings[0]
        for name in ("search", "order", "order-status")
        for action in parser.commands[name]._actions
        if action.option_strings and action.dest not in ("help", "emulator", "wait")
    }
    assert flags == dict(FLAGS)
    assert set(BAD_VALUES) == set(FLAGS)


@pytest.mark.parametrize("name", [name for name, argv in BAD_VALUES.items() if argv])
def test_an_sdk_rejection_names_the_flag(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value the SDK rejects is reported with its flag, never the Python keyword."""
    monkeypatch.setenv("BW_ACCOUNT_ID", "9900000")
    monkeypatch.setenv("BW_CLIENT_ID", "someone")
    monkeypatch.setenv("BW_CLIENT_SECRET", "something")
    assert cli.main(BAD_VALUES[name]) == 6
    err = capsys.readouterr().err
    assert FLAGS[name] in err, err
    assert f"{name}=" not in err
    assert len(err.strip().splitlines()) == 1


async def test_the_sdks_timeout_message_names_the_flag() -> None:
    """order_and_wait's own timeout message, should it ever reach the CLI, names --timeout."""
    async with BandwidthEmulator() as emulator, emulator.client() as client:
        with pytest.raises(ValidationError) as info:
            await order_and_wait(
                client, OrderWaiters(), site_id="743", numbers=["5402278098"], timeout=-5.0
            )
    assert speak_flags(str(info.value)).startswith("--timeout -5.0 must be")


@pytest.mark.parametrize(
    ("message", "spoken"),
    [
        ("area_code='54' is invalid.", "--area-code 54 is invalid."),
        ("name= has 60 characters; at most 50.", "--name has 60 characters; at most 50."),
        ("name= is empty: Bandwidth requires an order name.",
         "--name is empty: Bandwidth requires an order name."),
        ("rate_center= requires state= as well.", "--rate-center requires --state as well."),
        ("such as area_code, npa_nxx, state, zip or toll_free_wildcard_pattern.",
         "such as --area-code, --npa-nxx, --state, --zip or --toll-free-wildcard."),
        ("customer_order_id='a b/c' is invalid", "--customer-order-id 'a b/c' is invalid"),
    ],
)  # fmt: skip
def test_speak_flags(message: str, spoken: str) -> None:
    """Keywords, their values and bare mentions become flags; plain words stay words."""
    assert speak_flags(message) == spoken


def test_timeout_is_checked_before_anything(capsys: pytest.CaptureFixture[str]) -> None:
    """--timeout -5 is a usage error naming --timeout, before any order id is printed."""
    argv = ["order", "--emulator", "--wait", "--timeout", "-5", *SITE, "5402278098"]
    assert cli.main(argv) == 6
    err = capsys.readouterr().err
    assert "argument --timeout: expected a number of seconds > 0, not '-5'" in err
    assert "customer order id" not in err


def test_timeout_without_wait_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--timeout is not silently ignored without --wait."""
    assert cli.main(["order", "--emulator", "--timeout", "5", *SITE, "5402278098"]) == 6
    err = capsys.readouterr().err
    assert "bwnumbers order: error: --timeout only applies with --wait" in err


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["search", "--area-cod", "540"], "--area-cod: did you mean --area-code?"),
        (["search", "--npanxx=540551"], "--npanxx: did you mean --npa-nxx?"),
        (["order", *SITE, "--wiat", "5402278098"], "--wiat: did you mean --wait?"),
        (["serch"], "did you mean search?"),
    ],
)
def test_a_misspelled_flag_or_command_suggests_the_close_one(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown flag or command names the close one, in the command's own usage."""
    assert cli.main(argv) == 6
    err = capsys.readouterr().err
    assert hint in err
    if argv[0] == "search":
        assert "usage: bwnumbers search" in err


def test_abbreviations_are_not_guessed() -> None:
    """--area-cod is not taken for --area-code: scripts must not depend on a prefix."""
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["search", "--area-cod", "540"])
    assert isinstance(cli.build_parser(), argparse.ArgumentParser)


def test_missing_credentials_mention_the_emulator(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without BW_* variables the error says how to try the command without an account."""
    for name in ("BW_ACCOUNT_ID", "BW_CLIENT_ID", "BW_CLIENT_SECRET", "BW_USERNAME",
                 "BW_PASSWORD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["search", "--npa-nxx", "540551"]) == 6
    err = capsys.readouterr().err
    assert "BW_ACCOUNT_ID" in err
    assert "--emulator" in err
    assert "bwnumbers emulator" in err
    assert len(err.strip().splitlines()) == 1


def test_search_flags_set_search_criteria() -> None:
    """Every search flag's destination is a key of SearchCriteria (the CLI casts to it)."""
    from bwnumbers import SearchCriteria
    from bwnumbers._cli._parser import SEARCH_OPTIONS

    keys = set(SearchCriteria.__annotations__)
    assert {name for _, name, _ in SEARCH_OPTIONS} <= keys
    assert {"quantity", "enable_tn_detail"} <= keys
