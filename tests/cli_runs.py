"""Helpers for the command-line tests: run ``bwnumbers`` against an emulator of the test."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from bwnumbers import cli
from bwnumbers.testing import BandwidthEmulator

BW_VARIABLES = (
    "BW_ACCOUNT_ID", "BW_CLIENT_ID", "BW_CLIENT_SECRET", "BW_USERNAME", "BW_PASSWORD",
    "BW_BASE_URL", "BW_TOKEN_URL",
)  # fmt: skip


def account_of(emulator: BandwidthEmulator, **changes: str) -> dict[str, str]:
    """The BW_* variables `bwnumbers emulator` prints for *emulator*, with *changes*."""
    return {
        "BW_ACCOUNT_ID": emulator.account_id,
        "BW_CLIENT_ID": emulator.client_id,
        "BW_CLIENT_SECRET": emulator.client_secret,
        "BW_BASE_URL": emulator.base_url,
        **changes,
    }


async def run_in_thread(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *argv: str) -> int:
    """``bwnumbers ARGV`` in a thread with *env* as its BW_* variables, so that the test's
    own loop keeps serving the emulator; returns the exit code (output goes to capsys)."""
    for name in BW_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return await asyncio.to_thread(cli.main, list(argv))


async def start_command(*argv: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """``python -m bwnumbers ARGV`` as a process, with *env* as its only BW_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BW_")}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bwnumbers", *argv, env={**clean, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
