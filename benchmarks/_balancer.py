"""A load balancer for the benchmarks: forwards each callback and notes when it left.

It picks the instance for each callback with *pick* (a fixed one, to land every callback on
the wrong instance, or a random one), and records the moment it forwards an order's final
notification (``time.perf_counter()``, keyed by order id): the start of the interval the
latency benchmark times. The tests have their own (``tests/load_balancer.py``), which the
benchmarks do not import.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from types import TracebackType

import aiohttp
from aiohttp import web

FORWARDED_REQUEST_HEADERS = ("Authorization", "Content-Type")
FINAL_STATUSES = frozenset({b"COMPLETE", b"PARTIAL", b"FAILED"})
_ORDER_ID = re.compile(rb"<OrderId>([^<]+)</OrderId>")
_STATUS = re.compile(rb"<Status>([^<]+)</Status>")


class Balancer:
    """``async with Balancer(targets, pick)``: POSTs to :attr:`url` go to ``pick(targets)``."""

    def __init__(self, targets: Sequence[str], pick: Callable[[Sequence[str]], str]) -> None:
        self.targets = tuple(targets)
        self._pick = pick
        #: Order id -> when its final notification was forwarded (perf_counter seconds).
        self.final_sent: dict[str, float] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Balancer:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/bandwidth/callbacks"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        assert self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {n: request.headers[n] for n in FORWARDED_REQUEST_HEADERS if n in request.headers}
        status, order_id = _STATUS.search(body), _ORDER_ID.search(body)
        if status and order_id and status.group(1) in FINAL_STATUSES:
            self.final_sent.setdefault(order_id.group(1).decode(), time.perf_counter())
        async with self._session.post(self._pick(self.targets), data=body, headers=headers) as r:
            return web.Response(status=r.status, body=await r.read())
