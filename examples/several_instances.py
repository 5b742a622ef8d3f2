"""Three instances of a service behind a load balancer, sharing their orders through Redis.

Shows: what each replica of a service runs (a ``RedisStore`` named by its ``instance_id``,
given to its ``NumbersClient(store=...)`` and its ``CallbackReceiver(store=...)``), and that an
order placed by one instance learns its outcome by callback even when the load balancer hands
that callback to another instance. It prints, for each order, which instance placed it, which
instance(s) Bandwidth's callbacks landed on, and how the result was learned (``CALLBACK``).

Everything runs in this one process, on 127.0.0.1: the three instances, a small load balancer
that sends each callback to a random instance, and the embedded emulator (a real account would
need the balancer at a public URL). Redis: the one at ``REDIS_URL`` (such as
``redis://localhost:6379/0``) if set; otherwise, when ``redis-server`` is on PATH (Debian:
``apt-get install redis-server``), one this script starts on a unix socket in a temporary
directory and stops at the end. Needs ``pip install 'bwnumbers[redis]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

import bwnumbers
from bwnumbers.redis import RedisStore
from bwnumbers.testing import BandwidthEmulator

CALLBACK_USER, CALLBACK_PASSWORD = "bandwidth", "change-me-callback-password"
ORDERS = 6


class LoadBalancer:
    """Forwards each callback POST to a random instance, as one in front of replicas would."""

    def __init__(self, targets: dict[str, str]) -> None:
        self.targets = targets  # instance name -> its receiver's URL
        self.landed: dict[str, list[str]] = {}  # order id -> instances its callbacks reached
        self.url = ""

    async def __aenter__(self) -> LoadBalancer:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/callbacks", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/callbacks"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()
        await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        name, target = random.choice(list(self.targets.items()))  # noqa: S311 - not a secret
        body = await request.read()
        forwarded = ("Authorization", "Content-Type")  # Bandwidth's Basic credentials, the XML
        headers = {k: v for k, v in request.headers.items() if k in forwarded}
        async with self._session.post(target, data=body, headers=headers) as answer:
            # The receiver's 401 challenge goes back to Bandwidth, which then sends credentials.
            back = {k: v for k, v in answer.headers.items() if k == "WWW-Authenticate"}
            if answer.status == 200 and (order := re.search(rb"<OrderId>([^<]+)<", body)):
                self.landed.setdefault(order[1].decode(), []).append(name)
            return web.Response(status=answer.status, body=await answer.read(), headers=back)


@contextlib.asynccontextmanager
async def redis_url() -> AsyncIterator[str]:
    """``REDIS_URL``, or a redis-server of our own on a unix socket, stopped at the end."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    program = shutil.which("redis-server")
    if program is None:
        raise SystemExit(
            "Set REDIS_URL to a Redis this example may use, or install redis-server "
            "(Debian: apt-get install redis-server) so that it starts one of its own."
        )
    with tempfile.TemporaryDirectory(prefix="bwn") as directory:
        socket = Path(directory) / "redis.sock"
        # No TCP port (--port 0), no persistence: a throwaway Redis for this run only.
        server = await asyncio.create_subprocess_exec(
            program, "--port", "0", "--unixsocket", str(socket), "--dir", directory,
            "--save", "", "--appendonly", "no", stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            async with asyncio.timeout(10):  # Redis creates the socket once it accepts clients
                while not socket.exists():  # noqa: ASYNC110 - a file has no event to await
                    await asyncio.sleep(0.02)
            yield f"unix://{socket}"
        finally:
            server.terminate()
            await server.wait()


async def main() -> int:
    """Order ORDERS numbers from the three instances in turn; how many came by callback."""
    async with (
        redis_url() as url,
        BandwidthEmulator() as emulator,
        contextlib.AsyncExitStack() as instances,
    ):
        names = ("pod-0", "pod-1", "pod-2")  # in Kubernetes: each pod's name
        clients, receivers = [], []
        for name in names:
            store = await instances.enter_async_context(RedisStore(url, instance_id=name))
            clients.append(await instances.enter_async_context(emulator.client(store=store)))
            receivers.append(
                await instances.enter_async_context(
                    bwnumbers.CallbackReceiver(
                        username=CALLBACK_USER, password=CALLBACK_PASSWORD, store=store
                    )
                )
            )
        targets = {name: receiver.url for name, receiver in zip(names, receivers, strict=True)}
        async with LoadBalancer(targets) as balancer:
            # One subscription for the whole service: Bandwidth calls the load balancer.
            await clients[0].ensure_subscription(
                balancer.url, username=CALLBACK_USER, password=CALLBACK_PASSWORD
            )
            found = await clients[0].search_available_numbers(area_code="919", quantity=ORDERS)
            results = await asyncio.gather(
                *(
                    bwnumbers.order_and_wait(
                        clients[i % 3], receivers[i % 3], site_id=emulator.site_id, numbers=[n]
                    )
                    for i, n in enumerate(found.numbers)
                )
            )
            for i, result in enumerate(results):
                landed = ", ".join(balancer.landed.get(result.order_id, [])) or "none"
                print(
                    f"{result.completed_numbers[0]}: placed by {names[i % 3]}, callbacks to "
                    f"{landed}; learned by {result.source.name}"
                )
    by_callback = sum(r.source is bwnumbers.ResultSource.CALLBACK for r in results)
    print(f"{len(results)} orders, {by_callback} learned by callback")
    return by_callback


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
