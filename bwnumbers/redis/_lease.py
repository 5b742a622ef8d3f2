"""The lease of a :class:`~bwnumbers.redis.RedisStore` instance, and adoption.

A heartbeat (every third of ``lease_ttl``) renews ``alive:<instance>`` and the TTLs of this
instance's keys, notices when Redis lost its data (the ``epoch`` it returns changed) and has
this instance write its unfinished orders again, writes again what Redis refused, and adopts
the orders of instances whose lease ran out (CLAIM: exactly one survivor wins each).

An instance only declares another dead once it has itself been connected for a lease and a
heartbeat, so Redis coming back with every lease expired (or this instance coming back from a
partition) adopts nothing at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Final, cast

from redis.exceptions import ResponseError

from bwnumbers._recovery import PendingOrder
from bwnumbers._seam import WaiterRegistry
from bwnumbers._store import OrderIntent

from . import _scripts
from ._connections import BACKOFF_FIRST, BACKOFF_MAX, ERRORS, jittered
from ._scripts import INBOX_TTL

if TYPE_CHECKING:
    from ._bus import Bus

__all__ = ["Lease"]

log = logging.getLogger("bwnumbers.redis")

#: The reconcile window of adopted orders whose POST may never have arrived.
ORPHAN_RECONCILE_WINDOW: Final = 60.0


class Lease:
    """The heartbeat of one instance's :class:`Bus`, and the orders it adopts."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.store = bus.store
        self.epoch: str | None = None
        self._connected_since: float | None = None
        self._policy_checked = False

    async def heartbeat_loop(self) -> None:
        interval = self.store.lease_ttl / 3
        delay = BACKOFF_FIRST
        while not self.bus.stopping():
            try:
                async with asyncio.timeout(max(interval, 2.0)):
                    await self._beat()
            except Exception as error:
                self._connected_since = None
                if self.bus.stopping():  # a beat that met the closed store: no retry, no alarm
                    return
                if not isinstance(error, ERRORS):
                    log.exception("The heartbeat of %s failed", self.store.instance_id)
                log.debug("Heartbeat of %s failed: %s", self.store.instance_id, error)
                await asyncio.sleep(jittered(delay))
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_FIRST
            if self.bus.stopping():
                return
            self.bus.beat_now.clear()
            try:
                async with asyncio.timeout(interval):
                    await self.bus.beat_now.wait()
            except TimeoutError:
                pass

    async def _beat(self) -> None:
        store = self.store
        now = time.time()
        epoch = await store.script(
            _scripts.HEARTBEAT,
            [store.key("epoch")],
            [
                store.prefix,
                store.instance_id,
                int(store.lease_ttl * 1000),
                int(now * 1000),
                # A fresh candidate each time: an instance that created the epoch and is the
                # first to beat after Redis came back empty must not write the same one again
                # (it and every instance would then miss that Redis lost its data).
                uuid.uuid4().hex,
                7 * 24 * 3600,
                INBOX_TTL,
            ],
        )
        if self._connected_since is None:
            self._connected_since = now
        if self.epoch is not None and epoch != self.epoch:
            log.warning(
                "Redis lost its data (restarted without persistence, or flushed): RedisStore "
                "%s writes its %d unfinished order(s) again. Orders of instances that died "
                "meanwhile are lost to the journal (polling still finishes waiting calls).",
                store.instance_id,
                len(store.mirror),
            )
            self.bus.dirty.update(store.mirror)
            self.bus.stats["epoch_changes"] += 1
        self.epoch = epoch
        if not self._policy_checked:
            self._policy_checked = True
            await self.check_eviction_policy()
        for coid in list(self.bus.dirty):
            await store.resync(coid)
            self.bus.dirty.discard(coid)
        if now - self._connected_since >= store.lease_ttl * 4 / 3:
            await self._sweep(now)

    async def check_eviction_policy(self) -> None:
        try:
            policy = (await self.store.writer().config_get("maxmemory-policy")).get(
                "maxmemory-policy"
            )
        except ResponseError:  # CONFIG is often disabled on managed Redis
            return
        if policy and policy != "noeviction":
            log.warning(
                "Redis at %s evicts keys when full (maxmemory-policy %s): it may drop "
                "unfinished orders. Set maxmemory-policy noeviction.",
                self.store,
                policy,
            )

    async def _sweep(self, now: float) -> None:
        """Adopt the orders of instances whose lease ran out."""
        store = self.store
        client, sink = store.client, store.sink
        if client is None or sink is None:  # nothing here could finish them
            return
        cutoff = int((now - store.lease_ttl) * 1000)
        for dead in await store.writer().zrangebyscore(store.key("hb"), "-inf", cutoff):
            if dead == store.instance_id:
                continue
            taken = await store.script(
                _scripts.CLAIM,
                [store.key("hb")],
                [store.prefix, dead, store.instance_id, 7 * 24 * 3600],
            )
            if taken[0] == 1 and len(taken) > 1:
                intents = await store.read_intents(taken[1:])
                log.warning(
                    "RedisStore %s adopted %d unfinished order(s) of instance %s, whose lease "
                    "ran out.",
                    store.instance_id,
                    len(intents),
                    dead,
                )
                for intent in intents:
                    self._adopt(intent, client, cast(WaiterRegistry, sink))

    def _adopt(self, intent: OrderIntent, client: Any, waiters: WaiterRegistry) -> None:
        store = self.store
        store.mirror[intent.key] = intent
        self.bus.stats["adopted"] += 1
        pending = PendingOrder(
            intent,
            client=client,
            waiters=waiters,
            store=store,
            reconcile_window=ORPHAN_RECONCILE_WINDOW,
            resubmit=False,
        )
        self.bus.spawn(self._orphan(pending))

    async def _orphan(self, pending: PendingOrder[Any]) -> None:
        try:
            if self.store.on_orphan is not None:
                await self.store.on_orphan(pending)
                return
            result = await pending.wait()
            log.info("Adopted order %s ended %s", result.order_id, result.status)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.info("Adopted order %s: %s", pending.customer_order_id, error)
