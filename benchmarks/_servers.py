"""The receivers under test, each run in its own process so it has a core to itself."""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import xmltodict
from aiohttp import web

CALLBACK_USER, CALLBACK_PASSWORD = "bandwidth", "benchmark-callback-password"


def reference_app() -> web.Application:
    """The least a receiver can do: read the body, parse it, look up a dict of futures."""
    futures: dict[str, asyncio.Future[Any]] = {}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        notification = xmltodict.parse(body)["Notification"]
        future = futures.get(notification.get("OrderId")) or futures.get(
            notification.get("CustomerOrderId")
        )
        if future is not None and not future.done():
            future.set_result(notification)
        return web.Response()

    app = web.Application()
    app.router.add_post("/bandwidth/callbacks", handle)
    return app


async def _serve(kind: str, pipe: multiprocessing.connection.Connection) -> None:
    import bwnumbers

    if kind == "bwnumbers":
        receiver = bwnumbers.CallbackReceiver(username=CALLBACK_USER, password=CALLBACK_PASSWORD)
        await receiver.start()
        pipe.send(receiver.port)
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        await receiver.stop()
        return
    runner = web.AppRunner(reference_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    pipe.send(runner.addresses[0][1])
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    await runner.cleanup()


def _main(kind: str, pipe: multiprocessing.connection.Connection) -> None:
    asyncio.run(_serve(kind, pipe))


@contextmanager
def serving(kind: str) -> Iterator[int]:
    """Run receiver *kind* ("bwnumbers" or "reference") in a child process; yield its port."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_main, args=(kind, child), daemon=True)
    process.start()
    try:
        if not parent.poll(30):
            raise RuntimeError(f"the {kind} receiver did not start")
        yield int(parent.recv())
    finally:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()
