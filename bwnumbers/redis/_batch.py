"""One pipeline for the Lua calls of one turn of the event loop.

A burst of orders makes thousands of small script calls (BEGIN, PLACED, FINISH, ROUTE), and
through redis-py each costs more on our side than in Redis: a pooled connection taken and given
back, a command packed, a write, a read, a task woken. Calls made in the same turn of the loop
are independent (each script is atomic on its own), so they go out together in one
non-transactional pipeline, and each caller gets its own reply or error.

The pipeline runs in a task of its own, never in the caller's: a caller cancelled by its
timeout stops waiting, but never interrupts a command half-sent or half-read on a connection
(the failure behind CVE-2023-28859).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

__all__ = ["ScriptBatcher"]

_Call = tuple[AsyncScript, list[Any], list[Any], "asyncio.Future[Any]"]


class ScriptBatcher:
    """Runs :class:`AsyncScript` calls, batched per turn of the event loop."""

    def __init__(self, writer: Callable[[], aioredis.Redis]) -> None:
        self._writer = writer
        self._pending: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def call(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        self._pending.append((script, keys, args, reply))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        return await reply

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        batch = [call for call in batch if not call[3].done()]  # callers that gave up
        if batch:
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            async with self._writer().pipeline(transaction=False) as pipe:
                for script, keys, args, _ in batch:
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as error:  # the connection failed: every call of the batch did
            for *_, reply in batch:
                if reply.done():
                    continue
                if isinstance(error, asyncio.CancelledError):
                    reply.cancel()
                else:
                    reply.set_exception(error)
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        for (script, keys, args, reply), answer in zip(batch, replies, strict=True):
            if isinstance(answer, NoScriptError):  # Redis restarted, or a first call
                try:
                    answer = await script(keys=keys, args=args)  # loads it, then runs it
                except Exception as error:
                    answer = error
            if reply.done():
                continue
            if isinstance(answer, Exception):
                reply.set_exception(answer)
            else:
                reply.set_result(answer)

    async def aclose(self) -> None:
        """Wait for the pipelines under way (a closing store's last writes)."""
        while self._pending or self._sending:
            if self._pending:
                self._flush()
            await asyncio.gather(*self._sending, return_exceptions=True)
