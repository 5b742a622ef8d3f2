"""`bwnumbers reserve / unreserve / list / release` and `order --reservation-id`, for real:
each command runs against an emulator the test keeps running between commands."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest

from bwnumbers import cli
from bwnumbers.testing import BandwidthEmulator
from tests.cli_runs import account_of, run_in_thread

SITE = ["--site-id", "743"]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
async def bandwidth() -> AsyncIterator[BandwidthEmulator]:
    async with BandwidthEmulator(order_delay=0.0) as emulator:
        yield emulator


async def test_a_numbers_whole_life_on_the_command_line(
    bandwidth: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """reserve two, order one with its reservation, unreserve the other, list, release."""
    env = account_of(bandwidth)
    assert await run_in_thread(monkeypatch, env, "reserve", "5402278098", "5402278090") == 0
    lines = capsys.readouterr().out.splitlines()
    held = [re.fullmatch(r"(\S+) (\d{10}) (\d+) s until (\S+)", line) for line in lines]
    assert all(held), lines
    (first_id, first, _, _), (second_id, second, _, _) = (m.groups() for m in held if m)
    assert (first, second) == ("5402278098", "5402278090")

    ordered = await run_in_thread(
        monkeypatch, env, "order", "--wait", *SITE, first, "--reservation-id", first_id
    )
    assert ordered == 0
    assert re.search(rf"order \S+ COMPLETE {first}", capsys.readouterr().out)

    assert await run_in_thread(monkeypatch, env, "unreserve", "--json", second_id) == 0
    assert json.loads(capsys.readouterr().out) == [{"reservation_id": second_id, "released": True}]

    assert await run_in_thread(monkeypatch, env, "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == [first]

    assert await run_in_thread(monkeypatch, env, "release", "--wait", first) == 0
    captured = capsys.readouterr()
    assert re.search(rf"disconnect \S+ COMPLETE {first} \(via poll\)", captured.out)
    assert re.search(
        rf"^bwnumbers release: sending the disconnect with customer order id {UUID}$",
        captured.err,
        re.MULTILINE,
    )

    assert await run_in_thread(monkeypatch, env, "list") == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "0 number(s) in service" in captured.err


async def test_reserve_goes_on_after_a_number_held_elsewhere(
    bandwidth: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A number another account holds exits 4 (conflict), and the others are still reserved;
    --json is one array with an error object for the refused number."""
    bandwidth.reserve_elsewhere("5402278098")
    code = await run_in_thread(
        monkeypatch, account_of(bandwidth), "reserve", "--json", "5402278098", "5402278090"
    )
    assert code == 4
    captured = capsys.readouterr()
    refused, held = json.loads(captured.out)
    assert refused["item"] == "5402278098"
    assert refused["exit_code"] == 4
    assert "5402278098" in refused["error"]
    assert held["number"] == "5402278090"
    assert held["seconds_left"] > 0
    assert "error: 5402278098:" in captured.err


async def test_unreserve_of_an_unknown_reservation_exits_3(
    bandwidth: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = await run_in_thread(
        monkeypatch, account_of(bandwidth), "unreserve", "0e3d2d8c-0000-4000-8000-000000000000"
    )
    assert code == 3
    assert "reservation" in capsys.readouterr().err.lower()


async def test_release_without_wait_prints_the_disconnect_and_json_is_an_array(
    bandwidth: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = account_of(bandwidth)
    assert await run_in_thread(monkeypatch, env, "order", "--wait", *SITE, "5402278098") == 0
    capsys.readouterr()
    assert await run_in_thread(monkeypatch, env, "release", "--json", "5402278098") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "RECEIVED"
    assert row["numbers"] == ["5402278098"]
    assert re.fullmatch(UUID, row["customer_order_id"])


async def test_release_of_a_number_not_on_the_account_exits_4(
    bandwidth: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A FAILED disconnect is a conflict, like a FAILED order, and names the number's error."""
    code = await run_in_thread(
        monkeypatch, account_of(bandwidth), "release", "--wait", "--timeout", "30", "5402278098"
    )
    assert code == 4
    err = capsys.readouterr().err
    assert "5006" in err
    assert "5402278098" in err


@pytest.mark.parametrize("command", ["list", "release 5402278098", "unreserve r-1"])
def test_commands_that_need_a_lasting_account_refuse_emulator(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*command.split(), "--emulator"]) == 6
    assert "bwnumbers emulator" in capsys.readouterr().err


def test_release_timeout_needs_wait(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["release", "--timeout", "5", "5402278098"]) == 6
    assert "--timeout only applies with --wait" in capsys.readouterr().err


def test_reserve_on_the_embedded_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["reserve", "--emulator", "--json", "5402278098"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["number"] == "5402278098"
    assert row["reservation_id"]
