"""The hand-written flow the references use: what a user without bwnumbers writes.

A bare aiohttp callback handler that resolves a dict of futures by customer order id, one
token fetched from the token endpoint before the timing starts, and a subscription pointing
Bandwidth (the emulator) at the handler. No validation, retries, reconciliation or
confirmation: each benchmark adds only the request loop it compares.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import attrs
import xmltodict
from aiohttp import web

from ._emulator_process import EmulatorProcess

ORDER = (
    "<Order><CustomerOrderId>{cid}</CustomerOrderId><Name>reference {cid}</Name>"
    "<ExistingTelephoneNumberOrderType><TelephoneNumberList><TelephoneNumber>{number}"
    "</TelephoneNumber></TelephoneNumberList></ExistingTelephoneNumberOrderType>"
    "<SiteId>{site}</SiteId></Order>"
)
SUBSCRIPTION = (
    "<Subscription><OrderType>orders</OrderType><CallbackSubscription><URL>{url}</URL>"
    "</CallbackSubscription></Subscription>"
)


@attrs.frozen
class ReferenceFlow:
    """What a reference run needs: a session, the account root, headers and the futures."""

    http: aiohttp.ClientSession
    root: str
    headers: dict[str, str]
    futures: dict[str, asyncio.Future[str]]
    site_id: str


@asynccontextmanager
async def reference_flow(emulator: EmulatorProcess) -> AsyncIterator[ReferenceFlow]:
    """Serve the bare callback handler, fetch one token and subscribe; undo it all after."""
    s: dict[str, Any] = emulator.settings
    futures: dict[str, asyncio.Future[str]] = {}

    async def handle(request: web.Request) -> web.Response:
        notification = xmltodict.parse(await request.read())["Notification"]
        future = futures.get(notification.get("CustomerOrderId") or "")
        if future is not None and not future.done():
            future.set_result(notification.get("Status") or "")
        return web.Response()

    app = web.Application()
    app.router.add_post("/cb", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/cb"
    root = f"{s['base_url']}/accounts/{s['account_id']}"
    try:
        async with aiohttp.ClientSession() as http:
            # One token from the token endpoint, before the timing starts, as bwnumbers does.
            async with http.post(
                s["token_url"],
                data={"grant_type": "client_credentials"},
                auth=aiohttp.BasicAuth(s["client_id"], s["client_secret"]),
            ) as response:
                token = (await response.json())["access_token"]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
            body = SUBSCRIPTION.format(url=url)
            async with http.post(f"{root}/subscriptions", data=body, headers=headers) as response:
                subscription = response.headers["Location"].rsplit("/", 1)[1]
            try:
                yield ReferenceFlow(http, root, headers, futures, s["site_id"])
            finally:
                async with http.delete(f"{root}/subscriptions/{subscription}", headers=headers):
                    pass
    finally:
        await runner.cleanup()
