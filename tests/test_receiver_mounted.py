"""A receiver mounted into someone else's aiohttp app closes with that app.

A real parent application, run by ``aiohttp.web.AppRunner`` on 127.0.0.1, with
``receiver.app`` mounted as a sub-app; the parent's cleanup must release what the receiver
holds, as ``receiver.stop()`` would, without calling it.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from bwnumbers import CallbackReceiver, Notification, WaitersClosedError
from tests.conftest import sample

BODY = sample("notification_complete.xml")


async def test_a_mounted_receiver_shuts_down_with_its_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the parent's cleanup, waiting orders are failed and on_notification hooks done."""
    finished: list[str | None] = []

    async def slow_hook(notification: Notification) -> None:
        await asyncio.sleep(0.1)  # still running when the parent starts its cleanup
        finished.append(notification.order_id)

    receiver = CallbackReceiver(path="/bandwidth", on_notification=slow_hook)

    async def never(*_: object) -> None:
        raise AssertionError("the app's cleanup must not call receiver.stop()")

    monkeypatch.setattr(receiver, "stop", never)
    parent = web.Application()
    parent.add_subapp("/hooks", receiver.app)
    runner = web.AppRunner(parent)
    await runner.setup()
    cleaned = False
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with receiver.waiters.register(("orders", "still-waiting")) as waiter:
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"http://127.0.0.1:{port}/hooks/bandwidth", data=BODY) as response,
            ):
                assert response.status == 200
            assert finished == []  # the hook is still sleeping
            await runner.cleanup()
            cleaned = True
            assert waiter.future.done(), "the parent's cleanup left an order waiting"
            with pytest.raises(WaitersClosedError):
                await waiter.final()
        assert finished == ["a8ef295b-fcf4-44a7-945c-0520c8f49123"]
        assert len(receiver.waiters) == 0
    finally:
        if not cleaned:
            await runner.cleanup()


async def test_stop_after_a_standalone_run_still_releases_once() -> None:
    """Standalone, stop() runs the app's cleanup and then its own release: no double fault."""
    receiver = CallbackReceiver()
    await receiver.start()
    async with receiver.waiters.register(("orders", "c-1")) as waiter:
        await receiver.stop()
        with pytest.raises(WaitersClosedError):
            await waiter.final()
    await receiver.stop()  # a second stop is harmless
    assert len(receiver.waiters) == 0
