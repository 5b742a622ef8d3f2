"""The poller: ``GET /orders/{id}`` (or ``/disconnects/{id}``) until the order is final, the
path that always finishes.

Bandwidth never sends a missed callback again
(https://dev.bandwidth.com/docs/numbers/webhooks), so every wait races the callback
against this poller. :class:`PollPolicy` says when it polls.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

import attrs

from ._checks import check_seconds
from ._exceptions import (
    AuthenticationError,
    BadRequestError,
    BWNumbersError,
    ForbiddenError,
    ValidationError,
)
from ._status import ResultSource, StatusReporter

if TYPE_CHECKING:
    from ._kinds import FinalDetails

__all__ = ["PollPolicy", "Poller", "is_fatal"]

log = logging.getLogger("bwnumbers.ordering")


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    check_seconds(attribute.name, value, allow_zero=True)


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How the poller polls ``GET /orders/{id}`` while it waits for the callback.

    The first poll comes *first_poll* seconds after the wait started (the callback usually
    wins well before), then every *interval* seconds, growing by *multiplier* up to
    *max_interval*, each with ±10 % jitter so that many waiting orders spread their polls.

    .. versionadded:: 0.1
    """

    first_poll: float = attrs.field(default=3.0, validator=_non_negative)
    interval: float = attrs.field(default=2.0, validator=_non_negative)
    max_interval: float = attrs.field(default=30.0, validator=_non_negative)
    multiplier: float = attrs.field(default=1.5, validator=_non_negative)

    def delays(self) -> Iterator[float]:
        """Seconds before each poll, forever."""
        yield self.first_poll * random.uniform(0.9, 1.1)  # noqa: S311 - jitter
        interval = self.interval
        while True:
            yield min(interval, self.max_interval) * random.uniform(0.9, 1.1)  # noqa: S311
            interval *= self.multiplier


def is_fatal(error: BWNumbersError) -> bool:
    """Errors that polling again will not cure."""
    return isinstance(
        error, AuthenticationError | ForbiddenError | BadRequestError | ValidationError
    )


class Poller:
    """Polls *fetch* (``GET /orders/{id}`` or ``/disconnects/{id}``) until the order is final;
    :attr:`outcome` gets its details.

    The polling task is only created when the first poll is due; until then a timer stands in
    for it. Most orders are finished by their callback well before, so a burst of orders does
    not pay for thousands of sleeping tasks.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[FinalDetails]],
        order_id: str,
        policy: PollPolicy,
        reporter: StatusReporter,
        on_first_poll: Callable[[], None] | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.outcome: asyncio.Future[FinalDetails] = loop.create_future()
        self._fetch = fetch
        self._order_id = order_id
        self._reporter = reporter
        self._on_first_poll = on_first_poll
        self._delays = policy.delays()
        self._task: asyncio.Task[FinalDetails] | None = None
        self._timer = loop.call_later(next(self._delays), self._start)

    def _start(self) -> None:
        if self._on_first_poll is not None:
            self._on_first_poll()
        self._task = asyncio.ensure_future(self._poll())
        self._task.add_done_callback(self._settle)

    def _settle(self, task: asyncio.Task[FinalDetails]) -> None:
        if self.outcome.done():
            return
        if task.cancelled():
            self.outcome.cancel()
        elif (error := task.exception()) is not None:
            self.outcome.set_exception(error)
        else:
            self.outcome.set_result(task.result())

    async def _poll(self) -> FinalDetails:
        while True:
            try:
                details = await self._fetch()
            except BWNumbersError as error:
                if is_fatal(error):
                    raise
                log.warning("Polling order %s failed (%s); trying again", self._order_id, error)
            else:
                if details.status.is_final:
                    return details
                self._reporter.report(details.status, ResultSource.POLL, details=details)
            await asyncio.sleep(next(self._delays))

    async def aclose(self) -> None:
        """Stop polling; no task of the poller outlives the call."""
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if not self.outcome.done():
            self.outcome.cancel()
        elif not self.outcome.cancelled():
            self.outcome.exception()  # mark it retrieved: the caller has its answer already
