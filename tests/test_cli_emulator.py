"""`bwnumbers emulator`: a standalone emulator for tests in any language."""

from __future__ import annotations

import asyncio
import signal
import sys

from bwnumbers import NumbersClient


async def test_emulator_command_serves_and_stops_on_ctrl_c() -> None:
    """It prints how to connect, serves real requests, and exits 0 on SIGINT."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bwnumbers", "emulator", "--seed", "3", "--password", "pw-1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    settings: dict[str, str] = {}
    try:
        async with asyncio.timeout(20):
            while not (line := (await process.stdout.readline()).decode()).startswith("Serving"):
                assert line, "the emulator exited before serving"
                key, _, value = line.partition(":")
                settings[key.strip()] = value.strip()
        assert settings["password"] == "pw-1"
        assert settings["site_id"] == "743"
        assert settings["base_url"].startswith("http://127.0.0.1:")
        async with NumbersClient(
            account_id=settings["account_id"],
            username=settings["username"],
            password=settings["password"],
            base_url=settings["base_url"],
        ) as client:
            found = await client.search_available_numbers(area_code="540", quantity=2)
        assert len(found.numbers) == 2
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert b"Stopped." in out
    assert b"Traceback" not in err


async def test_no_command_prints_help() -> None:
    """Without a command the help is printed and the exit code is 2."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bwnumbers", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 2
    assert b"emulator" in out
