"""The emulator in a child process, so it has its own core and its CPU use can be measured."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STOCK = [
    f"212{block}{line:04d}"
    for block in ("555", "556", "557", "558", "559")
    for line in range(10_000)
]


#: Rate limits for the child, as plain tuples so they cross the process boundary:
#: group name to ``(per_window, window, burst)``, e.g. ``{"ORDER": (100, 1, 20)}``.
Limits = Mapping[str, tuple[int, int, int]]


async def _serve(pipe: multiprocessing.connection.Connection, rate_limits: Limits) -> None:
    from bwnumbers.testing import BandwidthEmulator, RateLimit

    limits = {
        group: RateLimit(per_window=per_window, window=window, burst=burst)
        for group, (per_window, window, burst) in rate_limits.items()
    }
    async with BandwidthEmulator(
        order_delay=0.0,
        password="bench-api-password",
        client_secret="bench-client-secret",
        rate_limits=limits or None,
    ) as emulator:
        emulator.add_numbers(STOCK)
        pipe.send(
            {
                "base_url": emulator.base_url,
                "account_id": emulator.account_id,
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
                "token_url": emulator.token_url,
                "username": emulator.username,
                "password": emulator.password,
                "site_id": emulator.site_id,
                "pid": os.getpid(),
            }
        )
        while True:
            command = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
            if command == "stop":
                return
            if command == "order_count":
                pipe.send(emulator.order_count)
            if command == "rate_limit_counts":
                pipe.send(
                    {
                        group: {
                            "accepted": counts.accepted,
                            "refused": counts.refused,
                            "refused_per_window": dict(counts.refused_per_window),
                        }
                        for group, counts in emulator.rate_limit_counts.items()
                    }
                )


def _main(pipe: multiprocessing.connection.Connection, rate_limits: Limits) -> None:
    asyncio.run(_serve(pipe, rate_limits))


class EmulatorProcess:
    """Handle on the child: its settings, its order count and its CPU seconds."""

    def __init__(self, pipe: multiprocessing.connection.Connection, settings: dict[str, Any]):
        self._pipe = pipe
        self.settings = settings

    def order_count(self) -> int:
        self._pipe.send("order_count")
        return int(self._pipe.recv())

    def rate_limit_counts(self) -> dict[str, dict[str, Any]]:
        """Per group (ORDER, SEARCH, DISCONNECT): ``accepted``, ``refused`` and
        ``refused_per_window`` (window start in epoch seconds to refusals), as the emulator's
        ``rate_limit_counts``."""
        self._pipe.send("rate_limit_counts")
        return dict(self._pipe.recv())

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator process has used so far."""
        stat = Path(f"/proc/{self.settings['pid']}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def emulator_process(rate_limits: Limits | None = None) -> Iterator[EmulatorProcess]:
    """A fresh emulator in a child process, limited by *rate_limits* (none by default)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_main, args=(child, dict(rate_limits or {})), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the emulator process did not start")
        yield EmulatorProcess(parent, parent.recv())
    finally:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()
