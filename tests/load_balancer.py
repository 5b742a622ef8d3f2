"""A load balancer for tests: each callback POST goes to a random instance's receiver.

Several instances of a service run behind one URL, and Bandwidth's callback for an order lands
on whichever instance the load balancer picks, not necessarily the one awaiting the order. This
one picks with a seeded :class:`random.Random`, so a test's spread is the same on every run,
and counts what each target got. A target that refuses the connection (a killed instance) is
skipped for another; with none left it answers 502, as a real load balancer would.

Bandwidth's challenge flow goes through it unchanged: the first POST, without credentials,
gets the target's 401 and its ``WWW-Authenticate`` header back, and the second POST, with
them, may well land on another target.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from types import TracebackType

import aiohttp
from aiohttp import web
from yarl import URL

#: The request headers passed on to the target; the others are the load balancer's own.
FORWARDED_REQUEST_HEADERS = ("Authorization", "Content-Type")
#: The response header passed back, so a receiver's 401 challenge reaches Bandwidth.
FORWARDED_RESPONSE_HEADERS = ("WWW-Authenticate",)
#: Seconds a target may take to answer before the load balancer gives up on it (then 504).
TARGET_TIMEOUT = 10.0


class LoadBalancer:
    """An aiohttp server on 127.0.0.1 forwarding each POST to one of *targets*, at random.

    Args:
        targets: the receivers' URLs, ``http://127.0.0.1:PORT/bandwidth/callbacks``. As
            behind a real load balancer, a POST keeps its path (and query): it goes to the
            chosen target's host and port with the path it came to.
        seed: the seed of the random choice of target.
        path: the path of :attr:`url`, the URL to give Bandwidth; default: the first
            target's path.

    Use it as ``async with LoadBalancer(targets) as balancer``; :attr:`counts` holds how many
    POSTs each target answered.
    """

    def __init__(self, targets: Sequence[str], *, seed: int = 0, path: str | None = None) -> None:
        self.targets: tuple[str, ...] = tuple(targets)
        self.counts: dict[str, int] = {}
        if path is None:
            path = URL(targets[0]).path if targets else "/"
        self.path = path
        self._random = random.Random(seed)
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        return f"<LoadBalancer {self._url or 'not started'} -> {len(self.targets)} targets>"

    @property
    def url(self) -> str:
        """The URL to subscribe Bandwidth to (the emulator's subscription)."""
        if self._url is None:
            raise RuntimeError("The load balancer has no URL until it is started.")
        return self._url

    def set_targets(self, targets: Sequence[str]) -> None:
        """Send the next POSTs to *targets* instead (an instance added, or one taken out)."""
        self.targets = tuple(targets)

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        if self._runner is not None:
            raise RuntimeError("The load balancer is already started.")
        # A new connection per POST: a killed target then refuses it cleanly instead of
        # failing a kept-alive connection halfway, and stop() leaves nothing open.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True),
            timeout=aiohttp.ClientTimeout(total=TARGET_TIMEOUT),
        )
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self._url = f"http://127.0.0.1:{port}{self.path}"

    async def stop(self) -> None:
        """Stop listening and close the session to the targets."""
        runner, self._runner = self._runner, None
        session, self._session = self._session, None
        try:
            if runner is not None:
                await runner.cleanup()
        finally:
            if session is not None:
                await session.close()

    async def __aenter__(self) -> LoadBalancer:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {
            name: request.headers[name]
            for name in FORWARDED_REQUEST_HEADERS
            if name in request.headers
        }
        # Drawn once per POST, so a run's picks depend only on the seed and the POSTs' order.
        candidates = list(self.targets)
        self._random.shuffle(candidates)
        for target in candidates:
            try:
                url = URL(target).join(request.rel_url)
                async with self._session.post(url, data=body, headers=headers) as answer:
                    answer_body = await answer.read()
            except aiohttp.ClientConnectorError:
                continue  # nobody listens there any more: try the next instance
            except TimeoutError:
                return web.Response(status=504, text=f"{target} did not answer in time.")
            except aiohttp.ClientError as error:
                # The target may have handled the POST before failing: never send it twice.
                return web.Response(status=502, text=f"{target} failed: {error!r}")
            self.counts[target] = self.counts.get(target, 0) + 1
            back = {
                name: answer.headers[name]
                for name in FORWARDED_RESPONSE_HEADERS
                if name in answer.headers
            }
            return web.Response(status=answer.status, body=answer_body, headers=back)
        return web.Response(status=502, text="No target accepted the connection.")
