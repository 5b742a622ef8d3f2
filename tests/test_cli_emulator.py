"""`bwnumbers emulator`: a standalone emulator for tests in any language."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import socket
import sys
from collections.abc import AsyncIterator

import pytest

from bwnumbers import NumbersClient
from bwnumbers._cli._emulator import _print_settings
from bwnumbers.cli import build_parser, main
from bwnumbers.testing import BandwidthEmulator


async def bwnumbers_command(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run `python -m bwnumbers ...` with *env* added to a BW_*-free environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BW_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bwnumbers", *argv, env={**clean, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_emulator_command_serves_and_stops_on_ctrl_c() -> None:
    """It prints how to connect (client credentials first), serves, and exits 0 on SIGINT."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bwnumbers", "emulator", "--seed", "3", "--password", "pw-1",
        "--client-id", "cli-client", "--client-secret", "cli-secret-1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    settings: dict[str, str] = {}
    exports = ""
    try:
        async with asyncio.timeout(20):
            while not (line := (await process.stdout.readline()).decode()).startswith("Serving"):
                assert line, "the emulator exited before serving"
                if line.startswith("export "):
                    exports = line
                    continue
                key, _, value = line.partition(":")
                settings[key.strip()] = value.strip()
        assert settings["password"] == "pw-1"
        assert settings["site_id"] == "743"
        assert (settings["client_id"], settings["client_secret"]) == ("cli-client", "cli-secret-1")
        assert settings["base_url"].startswith("http://127.0.0.1:")
        assert settings["token_url"] == settings["base_url"] + "/v1/oauth2/token"
        env = dict(shlex.split(word)[0].split("=", 1) for word in exports.split()[1:])
        assert env == {
            "BW_CLIENT_ID": "cli-client",
            "BW_CLIENT_SECRET": "cli-secret-1",
            "BW_ACCOUNT_ID": settings["account_id"],
            "BW_BASE_URL": settings["base_url"],
        }
        async with NumbersClient(
            account_id=settings["account_id"],
            client_id=settings["client_id"],
            client_secret=settings["client_secret"],
            base_url=settings["base_url"],
        ) as client:
            found = await client.search_available_numbers(area_code="540", quantity=2)
        assert len(found.numbers) == 2

        # A newcomer pastes the export line and uses the commands.
        code, out, err = await bwnumbers_command("search", "--area-code", "540", env=env)
        assert code == 0, err
        assert out.split()
        assert all(line.isdigit() for line in out.split())
        assert "number(s)" in err
        assert "warning" not in err

        # The legacy pair still works; the deprecation is one line on stderr, not a warning.
        legacy = {"BW_ACCOUNT_ID": settings["account_id"], "BW_BASE_URL": settings["base_url"],
                  "BW_USERNAME": settings["username"], "BW_PASSWORD": "pw-1"}  # fmt: skip
        code, _, err = await bwnumbers_command("order-status", "no-such-order", env=legacy)
        lines = err.strip().splitlines()
        assert code == 3
        assert len(lines) == 2, err
        assert lines[0].startswith("bwnumbers order-status: warning: ")
        assert "2026-12-02" in lines[0]
        assert "DeprecationWarning" not in err
        assert "does not exist" in lines[1]
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert b"Stopped." in stdout
    assert b"Traceback" not in stderr


async def test_no_command_prints_help() -> None:
    """Without a command the help is printed on stderr and the exit code is 6 (usage)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bwnumbers", stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    assert process.returncode == 6
    assert b"emulator" in err
    assert err.rstrip().endswith(
        b"no command given; choose one of demo, emulator, search, order, order-status, "
        b"reserve, unreserve, release, list"
    )


async def test_a_busy_port_is_one_line_and_leaks_nothing() -> None:
    """`bwnumbers emulator --port P` on a taken port says so in one line and exits 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = await bwnumbers_command("emulator", "--port", str(port), env={})
    assert code == 1
    assert err.strip() == (
        f"bwnumbers emulator: error: Cannot listen on 127.0.0.1:{port}: the port is already in "
        "use; choose another --port, or leave --port out to get a free one."
    )
    assert out == ""


async def test_a_failed_start_leaves_nothing_open() -> None:
    """BandwidthEmulator.start() on a taken port raises OSError and closes what it opened
    (the hygiene checks fail the test on an unclosed session or server)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        emulator = BandwidthEmulator(port=taken.getsockname()[1])
        with pytest.raises(OSError, match="address already in use"):
            async with emulator:
                pass  # pragma: no cover - never reached
    async with BandwidthEmulator() as fresh:  # and nothing global was left broken
        assert fresh.port


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8080/api"),
        ("::", "http://[::1]:8080/api"),
        ("::1", "http://[::1]:8080/api"),
        ("127.0.0.1", "http://127.0.0.1:8080/api"),
    ],
)
def test_base_url_is_usable_when_listening_everywhere(host: str, base_url: str) -> None:
    """An emulator on every interface gives a loopback URL a client can connect to."""
    emulator = BandwidthEmulator(host=host, port=8080)
    assert emulator.base_url == base_url
    assert emulator.token_url == base_url + "/v1/oauth2/token"


def test_the_command_says_it_listens_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    """--host 0.0.0.0 prints the loopback URL and says that it listens on every interface."""
    emulator = BandwidthEmulator(host="0.0.0.0", port=8080)
    args = build_parser().parse_args(["emulator", "--host", "0.0.0.0"])
    _print_settings(emulator, args, {})
    captured = capsys.readouterr()
    assert "base_url:      http://127.0.0.1:8080/api" in captured.out
    assert "BW_BASE_URL=http://127.0.0.1:8080/api" in captured.out
    assert captured.err.strip() == (
        "bwnumbers emulator: listening on every interface, port 8080; base_url uses loopback "
        "for this machine: from another machine, use this machine's address instead"
    )


async def test_commands_say_when_they_wait_for_the_rate_limit() -> None:
    """With the emulator's orders limited, a second order says it waits, and until when."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bwnumbers", "emulator", "--order-limit", "1/2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    exports = ""
    try:
        async with asyncio.timeout(20):
            while not (line := (await process.stdout.readline()).decode()).startswith("Serving"):
                assert line, "the emulator exited before serving"
                exports = line if line.startswith("export ") else exports
        env = dict(shlex.split(word)[0].split("=", 1) for word in exports.split()[1:])

        async def order(number: str) -> tuple[int, str, str]:
            return await bwnumbers_command("order", "--site-id", "743", number, env=env)

        # Three orders at once, one allowed per 2-second window: at most one window boundary
        # falls between them, so at least one of them waits.
        numbers = ("5402278098", "5402278099", "5402278100")
        results = await asyncio.gather(*(order(number) for number in numbers))
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            await process.communicate()
    assert [code for code, _, _ in results] == [0, 0, 0]
    waits = [err for _, _, err in results if "waiting:" in err]
    assert waits
    assert re.search(r"ORDER: .* wait until \d\d:\d\d:\d\d UTC", waits[0])


@contextlib.asynccontextmanager
async def _serving(*flags: str, secret: str) -> AsyncIterator[NumbersClient]:
    """`bwnumbers emulator FLAGS` as a process, and a client of the account it prints; the
    process is stopped with Ctrl-C (SIGINT) and must exit 0."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bwnumbers", "emulator", *flags, "--client-secret", secret,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    settings: dict[str, str] = {}
    try:
        async with asyncio.timeout(20):
            while not (line := (await process.stdout.readline()).decode()).startswith("Serving"):
                assert line, "the emulator exited before serving"
                key, _, value = line.partition(":")
                settings[key.strip()] = value.strip()
        async with NumbersClient(
            account_id=settings["account_id"],
            client_id=settings["client_id"],
            client_secret=secret,
            base_url=settings["base_url"],
        ) as client:
            yield client
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            await process.communicate()
    assert process.returncode == 0


async def test_inventory_size_sets_numbers_per_block() -> None:
    """`--inventory-size 1` seeds one number in each NPA-NXX block."""
    async with _serving("--inventory-size", "1", secret="cli-secret-2") as client:
        found = await client.search_available_numbers(npa_nxx="919439", quantity=5, lca=False)
    assert len(found.numbers) == 1  # 20 without the flag


@pytest.mark.parametrize("size", ["0", "10001", "many"])
def test_inventory_size_out_of_range_is_a_usage_error(
    size: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulator", "--inventory-size", size]) == 6
    err = capsys.readouterr().err
    assert f"--inventory-size: {size} is not allowed" in err, err
    assert "inventory_size" not in err
    assert "10,000" in err


async def test_reservation_lifetime_and_aging_period_reach_the_emulator() -> None:
    """`--reservation-lifetime 3600` reaches the emulator: a reservation holds an hour (the
    aging period goes the same way, and is accepted here)."""
    flags = ("--reservation-lifetime", "3600", "--aging-period", "7200")
    async with _serving(*flags, secret="cli-secret-3") as client:
        held = await client.reserve_number("5402278098")
    assert held.seconds_left is not None
    assert 3500 < held.seconds_left <= 3600  # 14400 without the flag


@pytest.mark.parametrize("flag", ["--reservation-lifetime", "--aging-period"])
def test_lifecycle_periods_must_be_positive(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", flag, "0"]) == 6
    assert flag in capsys.readouterr().err
