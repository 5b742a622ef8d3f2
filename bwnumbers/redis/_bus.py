"""The bus half of :class:`~bwnumbers.redis.RedisStore`: what moves between instances.

- **Routing.** A notification no waiter of this instance claimed goes through the ROUTE
  script: stored on its intent and added to the owner's inbox stream, or parked once in the
  shared ``early`` hash for an order not known yet (PLACED takes it). When Redis does not
  answer, it waits in a bounded local outbound queue, drained when Redis is back.
- **The inbox.** One task reads this instance's stream with ``XREAD BLOCK`` from the last id
  it saw (streams keep what arrived while the reader was away; Pub/Sub would lose it). After
  every (re)connection it first replays the notifications recorded on the intents of the
  orders waiting here, then reads on: a duplicate is harmless, a future resolves once.
- **The lease** (:mod:`bwnumbers.redis._lease`): a heartbeat, and the adoption of the orders
  of instances that died.
- **Rate limits.** A 429 that closes a gate here is sent to every live instance's inbox.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import TYPE_CHECKING, Any, Final, cast

from bwnumbers._models import Notification
from bwnumbers._ratelimit import GROUPS, RateGate
from bwnumbers._seam import notification_kind
from bwnumbers._store import journal_key, split_journal_key

from . import _scripts
from ._codec import note_from_json, note_to_json
from ._connections import BACKOFF_FIRST, BACKOFF_MAX, ERRORS, jittered, reader_client
from ._lease import Lease
from ._scripts import EARLY_LIMIT, EARLY_TTL, INBOX_MAXLEN, INBOX_TTL

if TYPE_CHECKING:
    from ._store import RedisStore

__all__ = ["Bus"]

log = logging.getLogger("bwnumbers.redis")

#: Notifications kept locally while Redis is unreachable, and for how long (seconds).
OUTBOUND_LIMIT: Final = 10_000
OUTBOUND_TTL: Final = 600.0
#: Seconds a notification may take to be routed before it is queued locally instead.
ROUTE_TIMEOUT: Final = 1.0
#: The inbox read blocks this long (ms) per XREAD.
READ_BLOCK_MS: Final = 5000
#: Seconds stop() waits for a cancelled task before cancelling it again.
CANCEL_AGAIN_AFTER: Final = 0.1


async def _cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel *tasks* and wait for them to end, cancelling again those that carried on.

    On Python 3.11, ``asyncio.wait_for`` (redis-py sends every command through it when the
    client has a socket timeout) swallows a cancellation that lands just as the send
    completes: the task then goes on, into its next XREAD or heartbeat, and a single cancel
    would leave ``aclose()`` waiting for it forever.
    """
    while tasks:
        for task in tasks:
            task.cancel()
        done, pending = await asyncio.wait(tasks, timeout=CANCEL_AGAIN_AFTER)
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved: an ending task's error is not worth a warning
        tasks = list(pending)


class Bus:
    """The tasks and queues of one :class:`RedisStore` (see the module documentation)."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.healthy = False
        self.dirty: set[str] = set()  # orders whose last write Redis refused
        self.stats: collections.Counter[str] = collections.Counter()
        self._known = asyncio.Event()  # the namespace is known
        self.beat_now = asyncio.Event()  # wakes the heartbeat before its time
        self.lease = Lease(self)
        self._outbound: collections.deque[tuple[float, Notification]] = collections.deque()
        self._outbound_warned = False
        self._gates: dict[RateGate, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: asyncio.Task[None] | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self.store.prefix is not None:
            self._known.set()
        self._main = asyncio.get_running_loop().create_task(self._run())

    def stopping(self) -> bool:
        # A method, not the attribute, in the loops: mypy would take the flag it saw false
        # at the loop's test for false in the whole body, across the awaits that change it.
        return self._stopping

    def namespace_known(self) -> None:
        self._known.set()

    @property
    def epoch(self) -> str | None:
        """The epoch of Redis's data this instance last saw (see :class:`Lease`)."""
        return self.lease.epoch

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        await self._known.wait()
        async with asyncio.TaskGroup() as group:
            # Kept so that stop() can cancel them again (see _cancel_all): a TaskGroup that
            # is already aborting does not pass a second cancellation on to its tasks.
            self._loops = [
                group.create_task(self.lease.heartbeat_loop()),
                group.create_task(self._read_loop()),
            ]

    async def stop(self, writer: Any) -> None:
        # The loops also end on this flag: redis-py (8.1, seen here) lets a command that was
        # in flight when its task was cancelled return normally, so a cancellation can be lost.
        self._stopping = True
        self.beat_now.set()
        for gate in list(self._gates):
            self._gates[gate] = 1
            self.unshare(gate)
        tasks = [t for t in (self._main, self._drainer, *self._loops, *self._tasks) if t]
        await _cancel_all(tasks)
        if self._outbound:
            log.warning(
                "RedisStore %s closed with %d notification(s) not yet routed to their "
                "instance; polling finishes those orders.",
                self.store.instance_id,
                len(self._outbound),
            )
            self._outbound.clear()
        if writer is not None and self.store.prefix is not None:
            try:
                async with asyncio.timeout(1.0):
                    await self._release_lease(writer)
            except ERRORS as error:
                log.info("Could not hand back the lease of %s: %s", self.store.instance_id, error)

    async def _release_lease(self, writer: Any) -> None:
        me, key = self.store.instance_id, self.store.key
        await writer.delete(key(f"alive:{me}"))
        if not await writer.scard(key(f"own:{me}")):  # else a survivor adopts them
            await writer.delete(key(f"own:{me}"), key(f"in:{me}"))
            await writer.zrem(key("hb"), me)

    # ------------------------------------------------------------------ routing

    async def route(self, notification: Notification) -> None:
        if self._stopping:
            return
        if self.store.prefix is None or self._outbound:  # keep the order of arrival
            self.queue(notification)
            return
        if not await self._routed(notification):
            self.queue(notification)

    def queue(self, notification: Notification) -> None:
        if self._stopping:
            return
        self._outbound.append((time.monotonic(), notification))
        if len(self._outbound) > OUTBOUND_LIMIT:
            self._outbound.popleft()
            self.stats["outbound_dropped"] += 1
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _route_now(self, notification: Notification) -> None:
        kind = notification_kind(notification)
        if kind is None:  # a port-in's, say: no call of ours waits for it anywhere
            self.stats["ignored"] += 1
            return
        order_id, coid = notification.order_id, notification.customer_order_id
        final = notification.status is not None and notification.status.is_final
        answer = await self.store.script(
            _scripts.ROUTE,
            [self.store.key("early")],
            [
                self.store.prefix,
                journal_key(kind, order_id) if order_id else "",
                journal_key(kind, coid) if coid else "",
                note_to_json(notification),
                "1" if final else "0",
                int(time.time() * 1000),
                EARLY_TTL,
                EARLY_LIMIT,
                INBOX_MAXLEN,
                INBOX_TTL,
            ],
        )
        self.stats[answer[0].lower()] += 1

    async def _routed(self, notification: Notification) -> bool:
        """Route *notification* within :data:`ROUTE_TIMEOUT`; ``False`` if Redis did not take
        it (said once per outage)."""
        try:
            async with asyncio.timeout(ROUTE_TIMEOUT):
                await self._route_now(notification)
        except ERRORS as error:
            self._note_unreachable(error)
            return False
        return True

    async def _drain(self) -> None:
        delay = BACKOFF_FIRST
        while self._outbound and not self.stopping():
            await self._known.wait()
            arrived, notification = self._outbound[0]
            if time.monotonic() - arrived > OUTBOUND_TTL:
                self._outbound.popleft()
                self.stats["outbound_dropped"] += 1
                continue
            if not await self._routed(notification):
                await asyncio.sleep(jittered(delay))
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self._outbound.popleft()
            delay = BACKOFF_FIRST
        self._outbound_warned = False

    def _note_unreachable(self, error: BaseException) -> None:
        if not self._outbound_warned:
            self._outbound_warned = True
            log.warning(
                "Redis did not take a notification (%s: %s); notifications wait in memory "
                "(at most %d, %d s) until it answers, and polling finishes their orders.",
                type(error).__name__,
                error,
                OUTBOUND_LIMIT,
                OUTBOUND_TTL,
            )

    def deliver_json(self, text: str, key: str | None) -> None:
        """Hand a stored notification to this instance's waiters; *key* is the journal key of
        the intent it was stored for (its customer order id fills in a missing one)."""
        sink = self.store.sink
        if sink is None:
            return
        try:
            notification = note_from_json(text, split_journal_key(key)[1] if key else None)
        except (ValueError, TypeError) as error:
            log.warning("Ignored a damaged notification in Redis: %s", error)
            return
        sink.deliver_here(notification)

    async def replay(self, customer_order_ids: list[str]) -> None:
        """Feed the waiters the notifications recorded on their intents (by journal key)."""
        if not customer_order_ids or self.store.sink is None or self.store.prefix is None:
            return
        async with self.store.writer().pipeline(transaction=False) as pipe:
            for coid in customer_order_ids:
                pipe.hmget(self.store.key(f"i:{coid}"), "final_note", "last_note")
            found: list[list[str | None]] = await pipe.execute()
        for coid, (final, last) in zip(customer_order_ids, found, strict=True):
            if final or last:
                self.deliver_json(cast(str, final or last), coid)

    # ------------------------------------------------------------------ rate limits

    def share(self, gate: RateGate) -> None:
        users = self._gates.get(gate, 0)
        self._gates[gate] = users + 1
        if users == 0:
            gate.listeners.append(self._gate_closed)

    def unshare(self, gate: RateGate) -> None:
        users = self._gates.get(gate, 0)
        if users > 1:
            self._gates[gate] = users - 1
        elif users == 1:
            del self._gates[gate]
            gate.listeners.remove(self._gate_closed)

    def _gate_closed(self, group: str, reset_at: float) -> None:
        if not self._stopping and self.store.prefix is not None:
            self.spawn(self._publish_gate(group, reset_at))

    async def _publish_gate(self, group: str, reset_at: float) -> None:
        try:
            async with asyncio.timeout(ROUTE_TIMEOUT):
                await self.store.script(
                    _scripts.GATE,
                    [self.store.key(f"rl:{group}")],
                    [
                        self.store.prefix,
                        self.store.instance_id,
                        group,
                        int(reset_at * 1000),
                        INBOX_MAXLEN,
                        INBOX_TTL,
                    ],
                )
        except ERRORS as error:  # the other instances learn the limit by their own 429
            log.info("Could not share the %s rate-limit closing: %s", group, error)

    def _close_gates(self, group: str, until_ms: str) -> None:
        for gate in self._gates:
            gate.close_until(group, int(until_ms) / 1000)

    async def _read_gates(self) -> None:
        if not self._gates:
            return
        groups = sorted(set(GROUPS.values()))
        values: Any = await self.store.writer().mget([self.store.key(f"rl:{g}") for g in groups])
        for group, until in zip(groups, values, strict=True):
            if until:
                self._close_gates(group, until)

    # ------------------------------------------------------------------ the inbox

    async def _read_loop(self) -> None:
        inbox = self.store.key(f"in:{self.store.instance_id}")
        delay = BACKOFF_FIRST
        while not self.stopping():
            reader = reader_client(self.store.url)
            try:
                last: Any = await reader.xrevrange(inbox, count=1)
                last_id: str = last[0][0] if last else "0-0"
                await self.replay(self.store.sink.waiting_ids() if self.store.sink else [])
                await self._read_gates()
                self._set_healthy(True)
                delay = BACKOFF_FIRST
                while not self.stopping():
                    answer: Any = await reader.xread(
                        {inbox: last_id}, count=100, block=READ_BLOCK_MS
                    )
                    for _stream, entries in answer or ():
                        for entry_id, fields in entries:
                            last_id = entry_id
                            self._handle(fields)
            except ERRORS as error:
                self._set_healthy(False, error)
            except Exception as error:  # a bug of ours must not end the reader for good
                log.exception("The inbox reader of %s failed", self.store.instance_id)
                self._set_healthy(False, error)
            finally:
                await reader.aclose()
            self.beat_now.set()  # a reconnection may mean Redis lost its data: check now
            await asyncio.sleep(jittered(delay))
            delay = min(delay * 2, BACKOFF_MAX)

    def _handle(self, fields: dict[str, str]) -> None:
        if "gate" in fields:
            self._close_gates(fields["gate"], fields["until"])
        elif "note" in fields:
            self.stats["received"] += 1
            self.deliver_json(fields["note"], fields.get("coid"))

    def _set_healthy(self, healthy: bool, error: BaseException | None = None) -> None:
        if healthy == self.healthy:
            return
        self.healthy = healthy
        if healthy:
            log.info("RedisStore %s reads its inbox at %s", self.store.instance_id, self.store)
        else:
            log.warning(
                "RedisStore %s lost Redis (%s: %s); callbacks for its orders wait in Redis "
                "or are caught by polling until it is back.",
                self.store.instance_id,
                type(error).__name__,
                error,
            )
