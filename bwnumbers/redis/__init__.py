"""Orders shared by the instances of a service, on Redis: :class:`RedisStore`.

Install with ``pip install 'bwnumbers[redis]'`` (redis-py 5.0.1 or later, whose asyncio client
fixed the cancelled-command bug CVE-2023-28859).

.. versionadded:: 0.3
"""

from __future__ import annotations

try:
    import redis.asyncio  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised without the extra only
    raise ImportError(
        "bwnumbers.redis needs redis-py 5.0.1 or later: pip install 'bwnumbers[redis]'."
    ) from error

from ._store import RedisStore

__all__ = ["RedisStore"]
