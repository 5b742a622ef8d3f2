"""What the parts of one emulator share: account, fault knobs, repeatable ids, background work."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Coroutine
from typing import Any

import attrs

from bwnumbers.testing._faults import Faults


@attrs.define(kw_only=True, eq=False)
class Context:
    """The state every part of one emulator reads.

    *faults* is replaced as a whole when a test assigns ``emulator.faults``, so parts read it
    from here each time instead of keeping their own reference.
    """

    account_id: str
    username: str
    faults: Faults = attrs.Factory(Faults)
    order_delay: float = 0.05
    # One generator for ids and fault draws, in a fixed order, so that a seed repeats a run.
    rng: random.Random
    tasks: set[asyncio.Task[None]] = attrs.Factory(set)

    def new_id(self) -> str:
        """A UUID4-shaped id drawn from the seeded generator."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run *coroutine* in the background, tracked until it ends, so that stop() can end it."""
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def settle(self) -> None:
        """Wait until every background task, and any it started, has ended."""
        while pending := [t for t in self.tasks if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def cancel_all(self) -> None:
        """Cancel every background task and wait until each has ended."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
