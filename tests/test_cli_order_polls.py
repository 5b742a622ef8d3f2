"""`bwnumbers order --wait` on an account polls, and starts no receiver nobody would call."""

from __future__ import annotations

import pytest

from bwnumbers import CallbackReceiver
from bwnumbers.testing import BandwidthEmulator
from tests.cli_runs import account_of, run_in_thread


async def test_order_wait_on_an_account_starts_no_receiver(
    bandwidth_emulator: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With BW_* (a real account), Bandwidth cannot call a command line: --wait polls alone."""
    started: list[CallbackReceiver] = []
    start = CallbackReceiver.start

    async def recorded_start(receiver: CallbackReceiver) -> None:
        started.append(receiver)
        await start(receiver)

    monkeypatch.setattr(CallbackReceiver, "start", recorded_start)
    env = account_of(bandwidth_emulator)
    assert (
        await run_in_thread(monkeypatch, env, "order", "--wait", "--site-id", "743", "5402278098")
        == 0
    )
    assert started == []
    out = capsys.readouterr().out
    assert "COMPLETE 5402278098 (via poll)" in out
