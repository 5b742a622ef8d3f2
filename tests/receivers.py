"""A minimal, hand-written callback endpoint for testing what the emulator sends."""

from __future__ import annotations

import base64
from types import TracebackType

import attrs
from aiohttp import web


@attrs.frozen
class Received:
    """One request that reached the endpoint."""

    authorization: str | None
    body: bytes


class RecordingReceiver:
    """A raw aiohttp endpoint on 127.0.0.1 that records requests.

    With *username*/*password* it requires Basic auth and answers 401 (with a
    ``WWW-Authenticate`` challenge unless *challenge* is false). Authenticated requests get
    *status*.
    """

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        challenge: bool = True,
        status: int = 200,
    ) -> None:
        self.requests: list[Received] = []
        self._expected = (
            "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
            if username is not None
            else None
        )
        self._challenge = challenge
        self._status = status
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization")
        self.requests.append(Received(authorization, await request.read()))
        if self._expected is not None and authorization != self._expected:
            headers = {"WWW-Authenticate": 'Basic realm="test"'} if self._challenge else {}
            return web.Response(status=401, headers=headers)
        return web.Response(status=self._status)

    async def __aenter__(self) -> RecordingReceiver:
        app = web.Application()
        app.router.add_post("/cb", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/cb"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
