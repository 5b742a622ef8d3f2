"""The emulator in a child process, so it has its own core and its CPU use can be measured."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bwnumbers

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
                # The legacy API user, for benchmarks that are explicitly about Basic.
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
            if command in ("order_count", "token_requests"):
                pipe.send(getattr(emulator, command))
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
    """Handle on the child: its settings, its order and token request counts, its CPU seconds."""

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

    def token_requests(self) -> int:
        """How many requests have reached the emulator's token endpoint so far."""
        self._pipe.send("token_requests")
        return int(self._pipe.recv())

    def client(self, **kwargs: Any) -> bwnumbers.NumbersClient:
        """A client for the emulator on its OAuth 2.0 client credentials: the path users take."""
        s = self.settings
        return bwnumbers.NumbersClient(
            account_id=s["account_id"], base_url=s["base_url"], client_id=s["client_id"],
            client_secret=s["client_secret"], **kwargs,
        )  # fmt: skip

    def basic_client(self, **kwargs: Any) -> bwnumbers.NumbersClient:
        """A legacy Basic (API user) client, built without its DeprecationWarning.

        Only for benchmarks that are explicitly about Basic.
        """
        s = self.settings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return bwnumbers.NumbersClient(
                account_id=s["account_id"], base_url=s["base_url"], username=s["username"],
                password=s["password"], **kwargs,
            )  # fmt: skip

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator process has used so far.

        From the scheduler's nanosecond run times of its threads where the kernel keeps them,
        else from the clock ticks of ``/proc/<pid>/stat`` (10 ms steps, too coarse for short
        slices of work).
        """
        pid = self.settings["pid"]
        nanoseconds = _scheduled_ns(pid)
        if nanoseconds is not None:
            return nanoseconds / 1e9
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


def _scheduled_ns(pid: int) -> int | None:
    """Nanoseconds the threads of *pid* have run, or ``None`` without ``schedstat``."""
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return None
    for task in tasks:
        try:
            total += int(task.joinpath("schedstat").read_text().split()[0])
        except FileNotFoundError:
            continue  # the thread ended (the emulator's threads are long-lived executor ones)
        except (OSError, ValueError, IndexError):
            return None
    return total


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
