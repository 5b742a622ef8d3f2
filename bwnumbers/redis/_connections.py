"""The redis-py clients of a :class:`~bwnumbers.redis.RedisStore`, configured explicitly.

redis-py's defaults hide failures a store must see (measured, see the design brief): its
default pool raises instead of waiting once 100 connections are busy, a command to a Redis
that is down retries for about 4 s before failing, and a blocking ``XREAD`` re-sent by the
retry loop after each socket timeout took 58.7 s to fail. So:

- **writers** share a bounded *blocking* pool (:data:`MAX_CONNECTIONS` connections; a caller
  waits up to :data:`POOL_TIMEOUT` s for one), with socket and connect timeouts, keepalive
  (TCP), a health check of idle connections, and 3 quick retries; every call on an order's
  path is also bounded by the caller's ``asyncio.timeout``.
- **the reader** of the inbox has one connection of its own, no socket timeout (``XREAD
  BLOCK`` waits on purpose) and **no retries**, so that every disconnect reaches the store,
  which then re-reads what it may have missed.

Both speak RESP2 (``protocol=2``), the default of redis-py 5 and what the design brief measured:
redis-py 8 defaults to RESP3, and with it a reader cancelled while its ``XREAD BLOCK`` waited
went back to waiting instead of ending (seen here, closing three stores at once), which would
hang every shutdown. RESP2 also keeps one shape of ``XREAD`` replies across redis-py versions.
"""

from __future__ import annotations

import random
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.exceptions import RedisError

from bwnumbers._exceptions import StoreUnavailableError

__all__ = [
    "BACKOFF_FIRST",
    "BACKOFF_MAX",
    "ERRORS",
    "jittered",
    "reader_client",
    "redacted",
    "writer_client",
]

MAX_CONNECTIONS: Final = 16
POOL_TIMEOUT: Final = 5.0
SOCKET_TIMEOUT: Final = 5.0
CONNECT_TIMEOUT: Final = 2.0
HEALTH_CHECK_INTERVAL: Final = 30
#: The background tasks' backoff after a failure: first delay and cap, in seconds, jittered.
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0

#: What a Redis that is down, slow or restarting raises (StoreUnavailableError: a store write
#: refused during a resync).
ERRORS = (RedisError, OSError, TimeoutError, StoreUnavailableError)


def jittered(delay: float) -> float:
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def _tcp(url: str) -> bool:
    return urlsplit(url).scheme in ("redis", "rediss")


def writer_client(url: str, *, max_connections: int = MAX_CONNECTIONS) -> aioredis.Redis:
    """The client of every command but the inbox read."""
    options: dict[str, Any] = {
        "max_connections": max_connections,
        "timeout": POOL_TIMEOUT,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "retry": Retry(EqualJitterBackoff(cap=1.0, base=0.05), 3),
        "decode_responses": True,
        "protocol": 2,
    }
    if _tcp(url):
        options["socket_keepalive"] = True
    pool = aioredis.BlockingConnectionPool.from_url(url, **options)
    return aioredis.Redis.from_pool(pool)  # closing the client closes the pool


def reader_client(url: str) -> aioredis.Redis:
    """The inbox reader's own single connection: no socket timeout, no retries."""
    options: dict[str, Any] = {
        "socket_timeout": None,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": True,
        "single_connection_client": True,
        "protocol": 2,
    }
    if _tcp(url):
        options["socket_keepalive"] = True
    return aioredis.Redis.from_url(url, **options)


def redacted(url: str) -> str:
    """*url* without its password, for ``repr`` and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
