"""A receiver that cannot be receiving: its url says so, and order_and_wait warns once.

The real emulator and real receivers over loopback; callbacks are dropped where the test
needs an order to reach the polling that the warning is about.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from bwnumbers import (
    CallbackReceiver,
    Notification,
    NumbersClient,
    PollPolicy,
    ResultSource,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator

FAST = PollPolicy(first_poll=0.1, interval=0.1, max_interval=0.2)
IDLE = "no callback can reach it"


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


def idle_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and IDLE in r.getMessage()
    ]


def test_url_before_start_suggests_public_url() -> None:
    """Before start() the address is unknown: a RuntimeError, not a misleading ':0' URL."""
    receiver = CallbackReceiver(path="/bw")
    with pytest.raises(RuntimeError, match=r"public_url=") as info:
        _ = receiver.url
    assert ":0" not in str(info.value)
    assert "path='/bw'" in repr(receiver)  # repr still works
    receiver.public_url = "https://me.example/bw"  # as examples/mount_in_aiohttp_app.py does
    assert receiver.url == "https://me.example/bw"


async def test_url_after_start_and_stop() -> None:
    """Once started, url is the bound address, and it stays known after stop()."""
    receiver = CallbackReceiver(path="/bw")
    async with receiver:
        assert receiver.url == f"http://127.0.0.1:{receiver.port}/bw"
    assert receiver.url == f"http://127.0.0.1:{receiver.port}/bw"


async def test_never_started_receiver_warns_once(
    client: NumbersClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Orders on a receiver nobody runs finish by polling, and that is said, once."""
    receiver = CallbackReceiver()
    for number in ("5402278098", "5402278089"):
        result = await order_and_wait(
            client, receiver, site_id="743", numbers=[number], polling=FAST
        )
        assert result.source is ResultSource.POLL
    (warning,) = idle_warnings(caplog)
    assert "never started, mounted into an aiohttp app that started, or handed" in warning
    assert "async with receiver" in warning
    assert "receiver.deliver()" in warning


async def started(receiver: CallbackReceiver) -> Callable[[], Awaitable[None]]:
    await receiver.start()
    return receiver.stop


async def mounted(receiver: CallbackReceiver) -> Callable[[], Awaitable[None]]:
    parent = web.Application()
    parent.add_subapp("/hooks", receiver.app)
    runner = web.AppRunner(parent)
    await runner.setup()  # the parent's startup runs the receiver's; no site is needed
    return runner.cleanup


async def delivered(receiver: CallbackReceiver) -> Callable[[], Awaitable[None]]:
    receiver.deliver(Notification(order_id="some-earlier-order"))

    async def nothing() -> None:
        return None

    return nothing


@pytest.mark.parametrize("running", [started, mounted, delivered])
async def test_running_receivers_do_not_warn(
    client: NumbersClient,
    bandwidth_emulator: BandwidthEmulator,
    caplog: pytest.LogCaptureFixture,
    running: Callable[[CallbackReceiver], Awaitable[Callable[[], Awaitable[None]]]],
) -> None:
    """Started, mounted or deliver()-fed receivers never call start(): no false alarm."""
    bandwidth_emulator.faults.drop_callbacks = 1.0  # so that the order reaches polling
    receiver = CallbackReceiver()
    stop = await running(receiver)
    try:
        result = await order_and_wait(
            client, receiver, site_id="743", numbers=["5402278098"], polling=FAST
        )
    finally:
        await stop()
    assert result.source is ResultSource.POLL
    assert idle_warnings(caplog) == []
