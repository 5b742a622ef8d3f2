"""The process-wide side of rate limiting: gates shared by clients, pacing settings, notices.

:mod:`bwnumbers._ratelimit` holds the gate itself; this module holds what lives beside it for
the whole process: the registry that gives every client of one account the same gate (Bandwidth
limits the account, not the client), the check of ``max_rate=``, and :func:`notices`, which
shows the gate's "waiting until ..." lines to the command line and the demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable, Iterator, Mapping

from ._checks import is_number
from ._exceptions import ValidationError
from ._ratelimit import RateGate, log

__all__ = ["check_max_rate", "notices", "shared"]


class _Relay(logging.Handler):
    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self._say = say

    def emit(self, record: logging.LogRecord) -> None:
        self._say(record.getMessage())


@contextlib.contextmanager
def notices(say: Callable[[str], None]) -> Iterator[None]:
    """Pass each "waiting for the rate limit until ..." line to *say* (the CLI and the demo).

    The gate logs one such line per group and window, never one per request.
    """
    relay = _Relay(say)
    previous = log.level
    log.addHandler(relay)
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(relay)
        log.setLevel(previous)


class _Registry:
    """Gates shared by the clients of one event loop, released with the last of them.

    Keyed weakly by the loop, so a loop that is gone (a test's, say) takes its gates along,
    even those of clients that were never closed.
    """

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, str], tuple[RateGate, int]]
        ] = weakref.WeakKeyDictionary()

    def gates(self) -> dict[tuple[str, str], tuple[RateGate, int]]:
        """The (origin, account id) -> (gate, clients) table of the running loop."""
        return self._loops.setdefault(asyncio.get_running_loop(), {})

    def attach(self, origin: str, account_id: str) -> RateGate:
        gates = self.gates()
        gate, users = gates.get((origin, account_id), (RateGate(), 0))
        gates[(origin, account_id)] = (gate, users + 1)
        return gate

    def detach(self, gate: RateGate) -> None:
        gates = self.gates()
        for key, (known, users) in list(gates.items()):
            if known is gate:
                if users <= 1:
                    del gates[key]
                else:
                    gates[key] = (known, users - 1)
                return


shared = _Registry()


def check_max_rate(max_rate: object) -> dict[str, float]:
    """Validate ``max_rate=``: group name to requests per second (> 0)."""
    if max_rate is None:
        return {}
    if not isinstance(max_rate, Mapping):
        raise ValidationError(
            'max_rate= takes a mapping of group to requests per second, e.g. {"ORDER": 1.5}.'
        )
    checked: dict[str, float] = {}
    for name, rate in max_rate.items():
        if not isinstance(name, str) or not name:
            raise ValidationError("max_rate= keys are group names such as ORDER or SEARCH.")
        if not is_number(rate) or not rate > 0:
            raise ValidationError(f"max_rate[{name!r}]={rate!r} must be requests per second > 0.")
        checked[name] = float(rate)
    return checked
