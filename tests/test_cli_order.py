"""`bwnumbers order` never loses an order: ids on stderr, progress, Ctrl-C, lookups."""

from __future__ import annotations

import asyncio
import re
import signal

import pytest

from bwnumbers import NumbersClient, OrderStatus, OrderSummary, ResultSource, StatusUpdate, cli
from bwnumbers._cli._order import _Tracker
from bwnumbers.testing import BandwidthEmulator
from tests.cli_runs import account_of, run_in_thread, start_command

SITE = ["--site-id", "743"]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_order_prints_the_ids_on_stderr_as_it_learns_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The customer order id comes before the POST, the order id when it is accepted."""
    assert cli.main(["order", "--emulator", *SITE, "5402278098"]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    sending = re.fullmatch(
        rf"bwnumbers order: sending the order with customer order id ({UUID})", lines[0]
    )
    assert sending, lines
    accepted = re.fullmatch(r"bwnumbers order: order (\S+) accepted, RECEIVED", lines[1])
    assert accepted, lines
    assert f"order {accepted[1]} RECEIVED customer_order_id={sending[1]}" in captured.out
    assert "gone" in lines[2]  # said that an --emulator order lives for this run only


def test_order_wait_shows_progress(capsys: pytest.CaptureFixture[str]) -> None:
    """--wait says when the order is accepted and waits, then prints the final status."""
    assert cli.main(["order", "--emulator", "--wait", *SITE, "(540) 227-8098"]) == 0
    captured = capsys.readouterr()
    assert re.search(r"order \S+ COMPLETE 5402278098 \(via callback\)", captured.out)
    assert re.search(
        r"^bwnumbers order: order \S+ accepted, RECEIVED; waiting for its final status$",
        captured.err,
        re.MULTILINE,
    )


def test_order_wait_shows_each_status_change(capsys: pytest.CaptureFixture[str]) -> None:
    """Each later status change (BACKORDERED, from a poll or a callback) is one line."""
    tracker = _Tracker("order", "c-1", emulator=False)
    for status in (OrderStatus.RECEIVED, OrderStatus.BACKORDERED):
        source = ResultSource.RESPONSE if status is OrderStatus.RECEIVED else ResultSource.POLL
        tracker.on_status(
            StatusUpdate(order_id="o-1", customer_order_id="c-1", status=status, source=source)
        )
    assert capsys.readouterr().err.splitlines() == [
        "bwnumbers order: order o-1 accepted, RECEIVED; waiting for its final status",
        "bwnumbers order: order o-1 is BACKORDERED (poll)",
    ]


# ---------------------------------------------------------------- Ctrl-C


async def _interrupt_after(process: asyncio.subprocess.Process, pattern: str) -> tuple[str, str]:
    """Read stderr until a line matches *pattern*, send SIGINT, return (that line, the rest)."""
    assert process.stderr is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not re.search(pattern, line := (await process.stderr.readline()).decode()):
                assert line, f"the command ended first: {''.join(seen)}"
                seen.append(line)
            process.send_signal(signal.SIGINT)
            _, rest = await process.communicate()
    finally:
        if process.returncode is None:  # the test failed: leave no process behind
            process.kill()
            await process.communicate()
    return line, rest.decode()


async def test_ctrl_c_after_the_order_was_accepted_says_how_to_look_it_up() -> None:
    """SIGINT while waiting names the order still running and its order-status command."""
    # The order stays RECEIVED for a minute: the command is certainly still waiting.
    async with BandwidthEmulator(order_delay=60) as emulator:
        process = await start_command(
            "order", "--wait", *SITE, "5402278098", env=account_of(emulator)
        )
        line, rest = await _interrupt_after(process, r"order \S+ accepted")
        assert emulator.order_count == 1
    order_id = re.search(r"order (\S+) accepted", line)[1]  # type: ignore[index]
    assert process.returncode == 130, rest
    assert f"interrupted: order {order_id} is still running at Bandwidth" in rest
    assert f"look it up with: bwnumbers order-status {order_id}" in rest
    assert "Traceback" not in rest


async def test_ctrl_c_during_the_post_names_the_customer_order_id() -> None:
    """SIGINT before Bandwidth answered leaves the customer order id to look the order up by."""
    # Every API answer takes a minute: the POST is certainly still in flight.
    async with BandwidthEmulator() as emulator:
        emulator.faults.response_delay = 60
        process = await start_command("order", *SITE, "5402278098", env=account_of(emulator))
        line, rest = await _interrupt_after(process, r"customer order id")
    customer_order_id = re.search(rf"customer order id ({UUID})", line)[1]  # type: ignore[index]
    assert process.returncode == 130, rest
    assert "may or may not have been placed" in rest
    assert f"bwnumbers order-status --customer-order-id {customer_order_id}" in rest
    assert "Traceback" not in rest


# ---------------------------------------------------------------- order-status


async def test_order_status_by_customer_order_id(
    bandwidth_emulator: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The customer order id that `order` printed finds the order, shown as by its id."""
    env = account_of(bandwidth_emulator)
    assert await run_in_thread(monkeypatch, env, "order", *SITE, "5402278098") == 0
    err = capsys.readouterr().err
    customer_order_id = re.search(rf"customer order id ({UUID})", err)[1]  # type: ignore[index]
    order_id = re.search(r"order (\S+) accepted", err)[1]  # type: ignore[index]
    await bandwidth_emulator.settle()
    argv = ("order-status", "--customer-order-id", customer_order_id)
    assert await run_in_thread(monkeypatch, env, *argv) == 0
    by_customer_order_id = capsys.readouterr().out
    assert await run_in_thread(monkeypatch, env, "order-status", order_id) == 0
    assert capsys.readouterr().out == by_customer_order_id
    assert by_customer_order_id.startswith(f"order {order_id} COMPLETE\n")


async def test_order_status_lists_every_order_with_the_customer_order_id(
    bandwidth_emulator: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two orders with the same customer order id are both listed, and the command fails."""
    async with bandwidth_emulator.client() as client:
        first = await client.create_order(site_id="743", numbers=["5402278098"],
                                          customer_order_id="shared-1")  # fmt: skip
        second = await client.create_order(site_id="743", numbers=["5402278099"],
                                           customer_order_id="shared-1")  # fmt: skip
    env = account_of(bandwidth_emulator)
    argv = ("order-status", "--customer-order-id", "shared-1")
    assert await run_in_thread(monkeypatch, env, *argv) == 1
    err = capsys.readouterr().err
    assert "2 orders have customer order id shared-1" in err
    assert f"{first.id} (" in err
    assert f"{second.id} (" in err


async def test_rows_without_the_customer_order_id_never_match(
    bandwidth_emulator: BandwidthEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Rows of GET /orders without that customer order id (or any) are not taken for it."""

    async def unfiltered(self: NumbersClient, **_: object) -> tuple[OrderSummary, ...]:
        return (OrderSummary(id="no-id"), OrderSummary(id="other", customer_order_id="other"))

    monkeypatch.setattr(NumbersClient, "list_orders", unfiltered)
    env = account_of(bandwidth_emulator)
    argv = ("order-status", "--customer-order-id", "mine-1")
    assert await run_in_thread(monkeypatch, env, *argv) == 3
    assert "No order has customer order id mine-1" in capsys.readouterr().err


def test_order_status_takes_an_id_or_a_customer_order_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ID and --customer-order-id exclude each other, and one of them is required."""
    assert cli.main(["order-status"]) == 6
    assert "one of the arguments ID --customer-order-id is required" in capsys.readouterr().err
    assert cli.main(["order-status", "x", "--customer-order-id", "y"]) == 6
    assert "not allowed with" in capsys.readouterr().err


def test_order_status_refuses_the_embedded_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh emulator holds no orders: refused in one sentence saying what to do instead."""
    assert cli.main(["order-status", "--emulator", "some-id"]) == 6
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "every run starts a fresh emulator" in err
    assert "run `bwnumbers emulator` in another terminal" in err
    assert "export" in err
