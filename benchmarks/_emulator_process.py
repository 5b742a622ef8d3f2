"""The emulator in a child process, so it has its own core and its CPU use can be measured."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STOCK = [
    f"212{block}{line:04d}"
    for block in ("555", "556", "557", "558", "559")
    for line in range(10_000)
]


async def _serve(pipe: multiprocessing.connection.Connection) -> None:
    from bwnumbers.testing import BandwidthEmulator

    async with BandwidthEmulator(order_delay=0.0, password="bench-api-password") as emulator:
        emulator.add_numbers(STOCK)
        pipe.send(
            {
                "base_url": emulator.base_url,
                "account_id": emulator.account_id,
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


def _main(pipe: multiprocessing.connection.Connection) -> None:
    asyncio.run(_serve(pipe))


class EmulatorProcess:
    """Handle on the child: its settings, its order count and its CPU seconds."""

    def __init__(self, pipe: multiprocessing.connection.Connection, settings: dict[str, Any]):
        self._pipe = pipe
        self.settings = settings

    def order_count(self) -> int:
        self._pipe.send("order_count")
        return int(self._pipe.recv())

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator process has used so far."""
        stat = Path(f"/proc/{self.settings['pid']}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def emulator_process() -> Iterator[EmulatorProcess]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_main, args=(child,), daemon=True)
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
