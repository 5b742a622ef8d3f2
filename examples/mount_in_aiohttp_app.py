"""Mount the callback receiver into an aiohttp application you already run.

Shows: ``parent.add_subapp(prefix, receiver.app)``, so Bandwidth's callbacks arrive on your
own server and port next to your other routes, with ``public_url`` telling Bandwidth where.

Environment: as ``async_service.py``; without BW_* it runs on the local emulator.
"""

from __future__ import annotations

import asyncio
import logging
import os

from _account import account
from aiohttp import web

import bwnumbers

HOST, PORT = "127.0.0.1", int(os.environ.get("PORT", "0"))


async def health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def main() -> str:
    receiver = bwnumbers.CallbackReceiver(path="/bandwidth")
    app = web.Application()
    app.router.add_get("/health", health)
    app.add_subapp("/hooks", receiver.app)  # callbacks arrive at /hooks/bandwidth
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, HOST, PORT).start()
    port = runner.addresses[0][1]
    receiver.public_url = os.environ.get(
        "CALLBACK_PUBLIC_URL", f"http://{HOST}:{port}/hooks/bandwidth"
    )
    try:
        async with account() as (client, site_id, _emulator):
            await client.ensure_subscription(receiver.url)
            found = await client.search_available_numbers(state="NJ", quantity=1)
            result = await bwnumbers.order_and_wait(
                client, receiver, site_id=site_id, numbers=found.numbers, timeout=60
            )
            print(f"{result.completed_numbers[0]} ordered; learned by {result.source}")
            return str(result.source)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main())
