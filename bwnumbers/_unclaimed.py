"""``MemoryUnclaimedBuffer``: notifications nobody waits for yet, bounded by count and age.

Bandwidth's callback often arrives before the ``POST /orders`` answer, and it is never sent
again (https://dev.bandwidth.com/docs/numbers/webhooks), so a notification that
finds no waiter is kept here until its order registers. Old ones are dropped first (LRU), and
none is kept longer than the TTL, so a flood of notifications for other orders costs bounded
memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from ._checks import check_seconds, check_whole
from ._models import Notification
from ._seam import OrderKey

__all__ = ["DEFAULT_UNCLAIMED_LIMIT", "DEFAULT_UNCLAIMED_TTL", "MemoryUnclaimedBuffer"]

DEFAULT_UNCLAIMED_LIMIT: Final = 10_000
DEFAULT_UNCLAIMED_TTL: Final = 600.0


@attrs.define
class _Entry:
    notification: Notification
    expires_at: float
    keys: tuple[OrderKey, ...]


class MemoryUnclaimedBuffer:
    """The in-process :class:`~bwnumbers.UnclaimedBuffer`: LRU plus TTL.

    Args:
        limit: how many notifications are kept (the oldest is dropped first); 0 keeps none.
        ttl: seconds a notification is kept.
        clock: a monotonic clock in seconds (tests pass a fake).

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        *,
        limit: int = DEFAULT_UNCLAIMED_LIMIT,
        ttl: float = DEFAULT_UNCLAIMED_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # ValidationError is a ValueError, which this raised before.
        check_whole("unclaimed_limit", limit, minimum=0)
        check_seconds("unclaimed_ttl", ttl, allow_zero=True)
        self.limit = limit
        self.ttl = ttl
        self._clock = clock
        # Insertion order is age order: the first entry is the oldest, evicted first.
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._by_key: dict[OrderKey, list[int]] = {}
        self._next_entry = 0

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<MemoryUnclaimedBuffer {len(self)}/{self.limit} ttl={self.ttl:g}s>"

    def add(self, notification: Notification, keys: Sequence[OrderKey]) -> None:
        if not keys or not self.limit:
            return
        self._expire()
        while len(self._entries) >= self.limit:
            entry_id, oldest = self._entries.popitem(last=False)
            self._unlink(entry_id, oldest)
        entry_id = self._next_entry
        self._next_entry += 1
        self._entries[entry_id] = _Entry(notification, self._clock() + self.ttl, tuple(keys))
        for key in keys:
            self._by_key.setdefault(key, []).append(entry_id)

    def claim(self, key: OrderKey) -> list[Notification]:
        if not self._entries:  # the usual case: nothing arrived early
            return []
        self._expire()
        claimed = []
        for entry_id in self._by_key.pop(key, []):
            entry = self._entries.pop(entry_id, None)
            if entry is None:
                continue
            self._unlink(entry_id, entry)
            claimed.append(entry.notification)
        return claimed

    def clear(self) -> None:
        self._entries.clear()
        self._by_key.clear()

    def _unlink(self, entry_id: int, entry: _Entry) -> None:
        for key in entry.keys:
            ids = self._by_key.get(key)
            if ids is None:
                continue
            if entry_id in ids:
                ids.remove(entry_id)
            if not ids:
                del self._by_key[key]

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            entry_id, oldest = next(iter(self._entries.items()))
            if oldest.expires_at > now:
                break
            del self._entries[entry_id]
            self._unlink(entry_id, oldest)
