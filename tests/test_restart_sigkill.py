"""Restarts for real: a child process on a SQLiteStore journal is SIGKILLed and started again.

The emulator runs in the test process; each child gets its account through BW_* and is
killed with SIGKILL at a moment the test controls through the emulator's knobs (a back-order
that waits for numbers, a callback that hangs before ``POST /orders`` is answered, a POST
refused with 429 and waiting for the rate limit). Then a new child on the same file finishes
the work. Checked each time: the outcome, 0 duplicate orders at the emulator, no unfinished
intent left in the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import bwnumbers
from bwnumbers.testing import BandwidthEmulator

HERE = Path(__file__).parent
CHILD = HERE / "restart_child.py"
EXAMPLES = HERE.parent / "examples"
#: No test here should take long; this only stops a broken one from hanging the suite.
PATIENCE = 60.0
EMPTY_AREA = "332"  # no number of the seeded inventory is in this area code


class Child:
    """A child process whose output lines the test reads as they come."""

    def __init__(self, process: asyncio.subprocess.Process, stderr: Path) -> None:
        self.process = process
        self.stderr = stderr
        self.lines: list[str] = []

    async def until(self, done: Callable[[list[str]], bool]) -> list[str]:
        """Read lines until *done* says so; the output so far."""
        assert self.process.stdout is not None
        async with asyncio.timeout(PATIENCE):
            while not done(self.lines):
                line = await self.process.stdout.readline()
                assert line, f"the child ended early:\n{self.output()}"
                self.lines.append(line.decode().rstrip("\n"))
        return self.lines

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        async with asyncio.timeout(PATIENCE):
            await self.process.wait()
        assert self.process.returncode == -signal.SIGKILL

    async def finish(self) -> list[str]:
        """Every line, once the child exited 0."""
        assert self.process.stdout is not None
        async with asyncio.timeout(PATIENCE):
            rest = await self.process.stdout.read()
            await self.process.wait()
        self.lines += rest.decode().splitlines()
        assert self.process.returncode == 0, self.output()
        return self.lines

    def events(self, kind: str) -> list[dict[str, Any]]:
        """The JSON events of *kind* that ``restart_child.py`` printed."""
        events = [json.loads(line) for line in self.lines if line.startswith("{")]
        return [event for event in events if event["event"] == kind]

    def output(self) -> str:
        return "\n".join(self.lines) + "\n--- stderr ---\n" + self.stderr.read_text()


@pytest.fixture
async def bandwidth() -> AsyncIterator[BandwidthEmulator]:
    async with BandwidthEmulator(order_delay=0.0) as emulator:
        yield emulator


@pytest.fixture
async def children(
    bandwidth: BandwidthEmulator, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """Start children on *bandwidth*'s account; any still running at the end is killed."""
    started: list[Child] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("BW_")}
    env |= {
        "BW_ACCOUNT_ID": bandwidth.account_id,
        "BW_CLIENT_ID": bandwidth.client_id,
        "BW_CLIENT_SECRET": bandwidth.client_secret,
        "BW_BASE_URL": bandwidth.base_url,
        "BW_TOKEN_URL": bandwidth.token_url,
        "BW_SITE_ID": bandwidth.site_id,
    }

    async def start(script: Path, *args: object) -> Child:
        stderr = tmp_path / f"child-{len(started)}.stderr"
        with stderr.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(script),
                *map(str, args),
                cwd=script.parent,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=sink,
            )
        started.append(Child(process, stderr))
        return started[-1]

    yield start
    for child in started:  # those a failed test left behind, running or not yet reaped
        with contextlib.suppress(ProcessLookupError):
            child.process.kill()
        await child.process.wait()


async def unfinished(journal: Path) -> list[bwnumbers.OrderIntent]:
    async with bwnumbers.SQLiteStore(journal) as store:
        return await store.unfinished()


def states_in_file(journal: Path) -> dict[str, int]:
    """How many rows of the file are in each state, read with plain sqlite3."""
    with contextlib.closing(sqlite3.connect(journal)) as database:
        return dict(database.execute("SELECT state, count(*) FROM intents GROUP BY state"))


async def stored(journal: Path, customer_order_id: str) -> bwnumbers.OrderIntent | None:
    async with bwnumbers.SQLiteStore(journal) as store:
        return await store.get(customer_order_id)


def no_duplicates(bandwidth: BandwidthEmulator, customer_order_ids: list[str]) -> None:
    for customer_order_id in customer_order_ids:
        assert len(bandwidth.orders_with_customer_order_id(customer_order_id)) <= 1


def count(lines: list[str], text: str) -> int:
    return sum(text in line for line in lines)


# ---------------------------------------------------------------------- A16, and the example


async def test_bot_killed_with_100_orders_in_flight_recovers_all_of_them(
    bandwidth: BandwidthEmulator, children: Callable[..., Any], tmp_path: Path
) -> None:
    """A16 with examples/restart_bot.py: SIGKILL with 100 orders in flight, restart, all done."""
    journal = tmp_path / "bot.sqlite3"
    bot = await children(
        EXAMPLES / "restart_bot.py",
        *("--journal", journal, "--users", 100, "--pace", 0, "--area-code", EMPTY_AREA),
    )
    # No number in the area yet: every order is back-ordered and stays in flight.
    lines = await bot.until(lambda lines: count(lines, "is BACKORDERED") == 100)
    await bot.kill()
    users = {line.split()[2] for line in lines if "is BACKORDERED" in line}
    assert len(users) == 100
    assert bandwidth.order_count == 100
    assert len(await unfinished(journal)) == 100

    again = await children(EXAMPLES / "restart_bot.py", "--journal", journal, "--users", 0)
    await again.until(lambda lines: count(lines, "recovering 100 orders") == 1)
    bandwidth.add_numbers(f"{EMPTY_AREA}555{i:04d}" for i in range(100))
    lines = await again.finish()

    recovered = [line for line in lines if line.startswith("recovered order for ")]
    assert {line.split()[3].rstrip(":") for line in recovered} == users
    assert all(": COMPLETE 332555" in line for line in recovered), recovered
    assert bandwidth.order_count == 100
    intents = await _all_intents(journal, bandwidth)
    assert {intent.metadata["user"] for intent in intents} == users
    assert {intent.state for intent in intents} == {bwnumbers.IntentState.FINAL}
    no_duplicates(bandwidth, [intent.customer_order_id for intent in intents])
    assert await unfinished(journal) == []
    assert states_in_file(journal) == {"FINAL": 100}


async def test_bot_stopped_with_ctrl_c_finishes_its_orders_on_the_next_start(
    bandwidth: BandwidthEmulator, children: Callable[..., Any], tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT) cancels the waits, not the orders: the journal keeps them for a restart."""
    journal = tmp_path / "bot.sqlite3"
    args = ("--journal", journal, "--pace", 0, "--area-code", EMPTY_AREA)
    bot = await children(EXAMPLES / "restart_bot.py", *args, "--users", 10)
    await bot.until(lambda lines: count(lines, "is BACKORDERED") == 10)
    bot.process.send_signal(signal.SIGINT)
    async with asyncio.timeout(PATIENCE):
        assert await bot.process.wait() == 1
    assert "run me again" in bot.stderr.read_text()
    assert len(await unfinished(journal)) == 10

    again = await children(EXAMPLES / "restart_bot.py", *args, "--users", 0)
    await again.until(lambda lines: count(lines, "recovering 10 orders") == 1)
    bandwidth.add_numbers(f"{EMPTY_AREA}555{i:04d}" for i in range(10))
    lines = await again.finish()

    assert count(lines, ": COMPLETE 332555") == 10
    assert bandwidth.order_count == 10
    assert states_in_file(journal) == {"FINAL": 10}


async def _all_intents(journal: Path, bandwidth: BandwidthEmulator) -> list[bwnumbers.OrderIntent]:
    """The journal's intents of every order the emulator holds."""
    async with bandwidth.client() as client, bwnumbers.SQLiteStore(journal) as store:
        orders = await client.list_orders()
        found = [await store.get(order.customer_order_id or "") for order in orders]
    assert all(intent is not None for intent in found)
    return [intent for intent in found if intent is not None]


# ---------------------------------------------------------------------- A8: killed mid-POST


class HangingCallbacks:
    """A callback URL that holds Bandwidth's first notification until released."""

    def __init__(self) -> None:
        self.called = asyncio.Event()
        self.release = asyncio.Event()
        self.runner = web.AppRunner(web.Application(), handle_signals=False)
        self.runner.app.router.add_post("/callbacks", self._hold)
        self.url = ""

    async def _hold(self, request: web.Request) -> web.Response:
        await request.read()
        self.called.set()
        await self.release.wait()
        return web.Response()

    async def __aenter__(self) -> HangingCallbacks:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/callbacks"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        await self.runner.cleanup()


async def test_killed_mid_post_after_bandwidth_created_the_order_recover_adopts_it(
    bandwidth: BandwidthEmulator, children: Callable[..., Any], tmp_path: Path
) -> None:
    """A8: the order exists, its POST was never answered; recover() finds and finishes it."""
    journal = tmp_path / "journal.sqlite3"
    bandwidth.add_numbers([f"{EMPTY_AREA}5550001"])
    async with HangingCallbacks() as hanging, bandwidth.client() as admin:
        await admin.create_subscription(hanging.url)
        # The emulator processes the order and calls back before it answers the POST; the
        # callback hangs, so the order exists and its answer never comes.
        bandwidth.faults.callback_before_response = True
        child = await children(CHILD, "order", journal, "c-adopt", EMPTY_AREA, "--user", "ann")
        async with asyncio.timeout(PATIENCE):
            await hanging.called.wait()
        await child.kill()
        bandwidth.faults.callback_before_response = False
    assert len(bandwidth.orders_with_customer_order_id("c-adopt")) == 1
    intent = await stored(journal, "c-adopt")
    assert intent is not None
    assert intent.state == bwnumbers.IntentState.INTENT

    again = await children(CHILD, "recover", journal)
    await again.finish()

    [pending] = again.events("pending")
    assert pending["coid"] == "c-adopt"
    assert pending["metadata"] == {"user": "ann"}
    [result] = again.events("result")
    assert result["status"] == "COMPLETE"
    assert result["numbers"] == [f"{EMPTY_AREA}5550001"]
    assert bandwidth.orders_with_customer_order_id("c-adopt") == [result["order_id"]]
    assert await unfinished(journal) == []


@pytest.mark.parametrize("resubmit", [False, True], ids=["never-created", "resubmitted"])
async def test_killed_while_bandwidth_had_not_created_the_order(
    bandwidth: BandwidthEmulator, children: Callable[..., Any], tmp_path: Path, resubmit: bool
) -> None:
    """A8: the POST never got through; NeverCreatedError and 0 orders, or resubmit=True: 1."""
    journal = tmp_path / "journal.sqlite3"
    bandwidth.add_numbers([f"{EMPTY_AREA}5550002"])
    # Every request is refused with 429 (not executed) and the limit resets only in 10
    # minutes, so the child's POST /orders waits at the rate-limit gate when it is killed.
    refusals = 1_000
    bandwidth.faults.rate_limit_reset = 600.0
    bandwidth.faults.rate_limit_next = refusals
    child = await children(CHILD, "order", journal, "c-never", EMPTY_AREA, "--user", "bo")
    async with asyncio.timeout(PATIENCE):
        # Until the POST was refused once; the emulator's faults have no event to wait on.
        while bandwidth.faults.rate_limit_next == refusals:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await child.kill()
    bandwidth.faults.rate_limit_next = 0
    assert bandwidth.order_count == 0

    extra = ("--resubmit",) if resubmit else ()
    again = await children(CHILD, "recover", journal, "--window", 0.1, *extra)
    await again.finish()

    [pending] = again.events("pending")
    assert (pending["coid"], pending["metadata"]) == ("c-never", {"user": "bo"})
    if resubmit:
        [result] = again.events("result")
        assert result["status"] == "COMPLETE"
        assert bandwidth.orders_with_customer_order_id("c-never") == [result["order_id"]]
    else:
        [error] = again.events("error")
        assert error["type"] == "NeverCreatedError"
        assert bandwidth.order_count == 0
        intent = await stored(journal, "c-never")
        assert intent is not None
        assert intent.state == bwnumbers.IntentState.NEVER_CREATED
    assert await unfinished(journal) == []


# ---------------------------------------------------------------------- A10: re-calls


async def test_a_restarted_process_gets_a_final_order_from_the_journal_without_http(
    bandwidth: BandwidthEmulator, children: Callable[..., Any], tmp_path: Path
) -> None:
    """A10: a re-call after FINAL answers from the file with 0 requests; other params conflict."""
    journal = tmp_path / "journal.sqlite3"
    bandwidth.add_numbers([f"{EMPTY_AREA}5550003"])
    first = await children(CHILD, "order", journal, "c-final", EMPTY_AREA)
    await first.finish()
    [placed] = first.events("result")
    assert placed["status"] == "COMPLETE"

    # A sentinel: the first API request to arrive would use it up.
    bandwidth.faults.rate_limit_next = 1
    again = await children(CHILD, "order", journal, "c-final", EMPTY_AREA)
    await again.finish()
    [result] = again.events("result")
    assert result == placed | {"source": "store"}

    conflict = await children(CHILD, "order", journal, "c-final", "919")
    await conflict.finish()
    [error] = conflict.events("error")
    assert error["type"] == "IdempotencyConflictError"
    assert bandwidth.faults.rate_limit_next == 1, "a request reached Bandwidth"
    assert bandwidth.orders_with_customer_order_id("c-final") == [placed["order_id"]]


async def test_a_restarted_process_resumes_a_placed_order(
    bandwidth: BandwidthEmulator, children: Callable[..., Any], tmp_path: Path
) -> None:
    """A10: killed while back-ordered, the same call again waits for that order, not a new one."""
    journal = tmp_path / "journal.sqlite3"
    first = await children(CHILD, "order", journal, "c-resume", EMPTY_AREA)
    await first.until(lambda _: bool(first.events("status")))
    await first.kill()
    intent = await stored(journal, "c-resume")
    assert intent is not None
    assert intent.state == bwnumbers.IntentState.PLACED

    again = await children(CHILD, "order", journal, "c-resume", EMPTY_AREA)
    bandwidth.add_numbers([f"{EMPTY_AREA}5550004"])
    await again.finish()

    [result] = again.events("result")
    assert result["status"] == "COMPLETE"
    assert bandwidth.orders_with_customer_order_id("c-resume") == [intent.order_id]
    assert bandwidth.order_count == 1
    assert await unfinished(journal) == []
