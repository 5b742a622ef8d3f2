"""Exit codes scripts can branch on: one table for every error, each code seen in a real run."""

from __future__ import annotations

import inspect
import re

import pytest

from bwnumbers import _exceptions, cli
from bwnumbers._cli._exit_codes import EXIT_CODES, HELP, ExitCode, exit_code_for
from bwnumbers.testing import BandwidthEmulator
from tests.cli_runs import account_of, run_in_thread

NOT_IN_INVENTORY = "2025550123"


def test_every_exception_class_has_an_explicit_exit_code() -> None:
    """A new exception class cannot silently exit 1: each one is listed in the table."""
    classes = [
        value
        for name in _exceptions.__all__
        if inspect.isclass(value := getattr(_exceptions, name)) and issubclass(value, BaseException)
    ]
    assert len(classes) == len(_exceptions.__all__)
    assert [cls.__name__ for cls in classes if cls not in EXIT_CODES] == []


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("AuthenticationError", 2), ("ForbiddenError", 2), ("NotFoundError", 3),
        ("ConflictError", 4), ("OrderFailedError", 4), ("OrderTimeoutError", 5),
        ("ValidationError", 6), ("RateLimitError", 7), ("ServerError", 1),
        ("BadRequestError", 1), ("TransportError", 1), ("AmbiguousOrderError", 1),
    ],
)  # fmt: skip
def test_the_table_follows_bandwidths_band_command(name: str, code: int) -> None:
    """The codes are band's: 2 authentication, 3 not found, 4 conflict, 5 timeout, ..."""
    assert EXIT_CODES[getattr(_exceptions, name)] == code


def test_a_subclass_exits_like_its_nearest_listed_base() -> None:
    """An exception the table does not list uses its base class's code."""

    class Custom(_exceptions.NotFoundError):
        pass

    error = Custom(status=404, code=None, description="gone")
    assert exit_code_for(error) is ExitCode.NOT_FOUND
    assert exit_code_for(RuntimeError("bug")) is ExitCode.ERROR


def test_help_documents_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    """`bwnumbers --help` (and each account command's) ends with the table of exit codes."""
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert HELP in out
    for code in ExitCode:
        assert re.search(rf"^  {code.value} ", out, re.MULTILINE), code
    assert cli.main(["order", "--help"]) == 0
    assert HELP in capsys.readouterr().out


def test_the_readme_documents_the_table() -> None:
    """The README's Command line section shows the same table as --help."""
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    assert HELP in section


# ---------------------------------------------------------------- each code, in a real run


def test_exit_0_on_success(capsys: pytest.CaptureFixture[str]) -> None:
    """A search that works exits 0."""
    assert cli.main(["search", "--emulator", "--area-code", "540", "--quantity", "1"]) == 0


def test_exit_1_when_bandwidth_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown site is a 400 with 5016: any other error, 1."""
    assert cli.main(["order", "--emulator", "--site-id", "999", "5402278098"]) == 1
    assert "5016" in capsys.readouterr().err


async def test_exit_2_on_wrong_credentials(
    bandwidth_emulator: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A client secret the token endpoint refuses exits 2 and names the client id only."""
    env = account_of(bandwidth_emulator, BW_CLIENT_SECRET="wrong-secret-1")
    assert await run_in_thread(monkeypatch, env, "search", "--area-code", "540") == 2
    err = capsys.readouterr().err
    assert bandwidth_emulator.client_id in err
    assert "wrong-secret-1" not in err


async def test_exit_3_for_an_unknown_order(
    bandwidth_emulator: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """order-status of an order that does not exist exits 3, by id or by customer order id."""
    env = account_of(bandwidth_emulator)
    assert await run_in_thread(monkeypatch, env, "order-status", "no-such-order") == 3
    assert "does not exist" in capsys.readouterr().err
    code = await run_in_thread(monkeypatch, env, "order-status", "--customer-order-id", "nope-1")
    assert code == 3
    assert "No order has customer order id nope-1" in capsys.readouterr().err


def test_exit_4_when_the_order_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """A number Bandwidth cannot give makes the order FAILED: conflict, 4."""
    argv = ["order", "--emulator", "--wait", "--site-id", "743", NOT_IN_INVENTORY]
    assert cli.main(argv) == 4
    assert "5005" in capsys.readouterr().err


def test_exit_5_when_the_timeout_runs_out(capsys: pytest.CaptureFixture[str]) -> None:
    """--timeout shorter than the order exits 5 and says how to look the order up."""
    argv = ["order", "--emulator", "--wait", "--timeout", "0.001", "--site-id", "743",
            "5402278098"]  # fmt: skip
    assert cli.main(argv) == 5
    err = capsys.readouterr().err
    assert "did not reach a final status within 0.001 s" in err
    assert "this run's emulator" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["serch"],
        ["search", "--area-cod", "540"],
        ["order", "--emulator", "5402278098"],
        ["order", "--emulator", "--site-id", "743", "--timeout", "5", "5402278098"],
        ["search", "--emulator", "--area-code", "54"],
        ["order-status", "--emulator", "x"],
    ],
)
def test_exit_6_on_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """argparse's errors, no command, a refused flag combination or value: usage, 6."""
    assert cli.main(argv) == 6
    err = capsys.readouterr().err
    assert "error:" in err
    assert "Traceback" not in err


async def test_exit_7_when_the_rate_limit_does_not_reset_in_time(
    bandwidth_emulator: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 429 whose reset is beyond the client's budget exits 7 at once."""
    bandwidth_emulator.faults.rate_limit_next = 1
    bandwidth_emulator.faults.rate_limit_reset = 100_000
    env = account_of(bandwidth_emulator)
    assert await run_in_thread(monkeypatch, env, "search", "--area-code", "540") == 7
    assert "rate limit" in capsys.readouterr().err.lower()
