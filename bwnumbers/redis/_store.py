"""``RedisStore``: the journal of orders, shared by the instances of a service through Redis.

The journal half is :class:`~bwnumbers.OrderStore`: an intent is a Redis hash written before
``POST /orders`` (an atomic BEGIN that also finds an intent another instance wrote), then the
order id (PLACED), statuses, and the outcome (a FINISH compare-and-set, true once per order
across every instance). The bus half (:mod:`bwnumbers.redis._bus`) carries notifications to
the instance whose order they are; the lease (:mod:`bwnumbers.redis._lease`) keeps instances
alive and has the orders of dead ones adopted.

Each instance keeps a mirror of the intents it leads, so that when Redis comes back empty
(restarted without persistence, flushed), or refused a write, it writes them again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final, cast

import attrs
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from bwnumbers._checks import check_seconds, check_whole
from bwnumbers._exceptions import StoreUnavailableError, ValidationError
from bwnumbers._models import Notification
from bwnumbers._ratelimit import RateGate
from bwnumbers._recovery import PendingOrder
from bwnumbers._seam import OrderClient
from bwnumbers._shared import LocalSink
from bwnumbers._store import IntentState, OrderIntent, StoredOutcome

from . import _scripts
from ._bus import Bus
from ._codec import intent_fields, intent_from_hash, order_key, outcome_fields, pairs
from ._connections import redacted, writer_client

__all__ = ["RedisStore"]

log = logging.getLogger("bwnumbers.redis")

#: Seconds an unfinished intent is kept, and a finished one.
KEEP_PENDING: Final = 7 * 24 * 3600
KEEP_FINISHED: Final = 24 * 3600

OrphanHook = Callable[[PendingOrder[Any]], Awaitable[None]]


class RedisStore:
    """An :class:`~bwnumbers.OrderStore` shared by the instances of a service, on Redis.

    Give the same store to the receiver and to the client of each instance::

        async with RedisStore("redis://redis:6379/0", instance_id=pod_name) as store:
            async with NumbersClient(..., store=store) as client, \\
                    CallbackReceiver(..., store=store) as receiver:
                result = await bwnumbers.order_and_wait(client, receiver, ...)

    A callback that lands on any instance reaches the one waiting for its order within
    milliseconds; a 429 seen by one instance pauses that group of requests on all of them;
    the orders of an instance that died are adopted by exactly one survivor. See "Running
    several instances" in the README for the Redis settings and what happens when Redis is
    down or restarted empty.

    Args:
        url: the Redis URL (``redis://``, ``rediss://`` or ``unix://``); its password is
            never shown (``repr`` redacts it).
        instance_id: this instance's name, unique among the running instances. A stable one
            (a StatefulSet pod's name) takes its own unfinished orders back at once after a
            restart (:func:`bwnumbers.recover`); the default, a random one, leaves them to a
            survivor after *lease_ttl*.
        namespace: what the keys are named by (``bwn:{<namespace>}:``); default: the account
            id of the first client the store meets. One store keeps one account's orders.
        lease_ttl: seconds without a heartbeat after which an instance counts as dead and
            its unfinished orders are adopted (default 30; heartbeats every third of it).
        on_orphan: ``async def hook(pending: PendingOrder)``, called once for each order this
            instance adopted from one that died; it typically awaits ``pending.wait()`` and
            tells the customer found in ``pending.metadata``. Default: wait for the order in
            the background and record its outcome (logged at INFO).
        max_connections: the writers' connection pool size (default 16), plus one reader.

    .. versionadded:: 0.3
    """

    def __init__(
        self,
        url: str,
        *,
        instance_id: str | None = None,
        namespace: str | None = None,
        lease_ttl: float = 30.0,
        on_orphan: OrphanHook | None = None,
        max_connections: int = 16,
    ) -> None:
        if not isinstance(url, str) or "://" not in url:
            raise ValidationError(
                "url= must be a Redis URL such as 'redis://localhost:6379/0' or "
                "'unix:///run/redis.sock'."
            )
        check_seconds("lease_ttl", lease_ttl)
        check_whole("max_connections", max_connections, minimum=1, unit="connections")
        for name, value in (("instance_id", instance_id), ("namespace", namespace)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValidationError(f"{name}= must be a non-empty string; got {value!r}.")
        self.url = url
        self.instance_id = instance_id or uuid.uuid4().hex
        self.lease_ttl = lease_ttl
        self.on_orphan = on_orphan
        self._max_connections = max_connections
        self._namespace = namespace
        self._prefix: str | None = None if namespace is None else _prefix(namespace)
        self._writer: aioredis.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._closed = False
        self.bus = Bus(self)
        # The intents this instance leads, as it last wrote them: what it writes again when
        # Redis lost them. Bounded by the orders in flight here.
        self.mirror: dict[str, OrderIntent] = {}
        self.sink: LocalSink | None = None
        self._client: weakref.ReferenceType[OrderClient] | None = None
        #: How many FINISH calls of this instance were the first for their order.
        self.finished_here = 0
        # The tokens of FINISH calls Redis did not answer, for the resync to send again.
        self._finish_tokens: dict[str, str] = {}

    def __repr__(self) -> str:
        return (
            f"<RedisStore url={redacted(self.url)!r} instance_id={self.instance_id!r} "
            f"namespace={self._namespace!r} healthy={self.bus.healthy}>"
        )

    async def __aenter__(self) -> RedisStore:
        self._ensure_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ plumbing

    @property
    def owner(self) -> str:
        return self.instance_id

    @property
    def namespace(self) -> str | None:
        """The account id (or *namespace*) the keys are named by, once known."""
        return self._namespace

    @property
    def prefix(self) -> str | None:
        return self._prefix

    @property
    def healthy(self) -> bool:
        """True while the inbox reader and the heartbeat reach Redis."""
        return self.bus.healthy

    def key(self, name: str) -> str:
        assert self._prefix is not None
        return self._prefix + name

    @property
    def client(self) -> OrderClient | None:
        client = self._client() if self._client is not None else None
        return None if client is None or getattr(client, "closed", False) else client

    def writer(self) -> aioredis.Redis:
        self._ensure_open()
        assert self._writer is not None
        return self._writer

    def _ensure_open(self) -> None:
        if self._closed:
            raise StoreUnavailableError(
                "This RedisStore is closed, so nothing was recorded; give the order a store "
                "that is open."
            )
        if self._writer is None:
            self._writer = writer_client(self.url, max_connections=self._max_connections)
            self.bus.start()

    def _need_prefix(self) -> str:
        if self._prefix is None:
            raise StoreUnavailableError(
                "This RedisStore does not know its account yet, so nothing was recorded; give "
                "it namespace=, or give it to the NumbersClient (store=) or call order_and_wait "
                "with that client first."
            )
        return self._prefix

    def unavailable(self, doing: str, error: BaseException) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"Redis at {redacted(self.url)} could not {doing} ({type(error).__name__}: "
            f"{error}); check that it is running and reachable."
        )

    async def script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script (EVALSHA, loading it after a NOSCRIPT)."""
        writer = self.writer()
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = writer.register_script(source)
        return await script(keys=keys, args=args)

    # ------------------------------------------------------------------ SharedStore

    def use_client(self, client: OrderClient) -> None:
        account_id = getattr(client, "account_id", None)
        if self._namespace is None and isinstance(account_id, str):
            self._namespace = account_id
            self._prefix = _prefix(account_id)
            self.bus.namespace_known()
        elif isinstance(account_id, str) and self._client is None and account_id != self._namespace:
            log.warning(
                "RedisStore %s keeps the orders of %s; a client of account %s uses it too. "
                "Give each account its own store (namespace=).",
                self.instance_id,
                self._namespace,
                account_id,
            )
        self._client = weakref.ref(client)
        self._ensure_open()

    def attach(self, sink: LocalSink) -> None:
        self.sink = sink

    def detach(self, sink: LocalSink) -> None:
        if self.sink is sink:
            self.sink = None

    async def route(self, notification: Notification) -> None:
        await self.bus.route(notification)

    def route_soon(self, notification: Notification) -> None:
        self.bus.queue(notification)

    def share_rate_limits(self, gate: RateGate) -> None:
        self.bus.share(gate)

    def unshare_rate_limits(self, gate: RateGate) -> None:
        self.bus.unshare(gate)

    async def owner_alive(self, owner: str) -> bool:
        try:
            return bool(await self.writer().exists(self.key(f"alive:{owner}")))
        except RedisError as error:
            raise self.unavailable("read the instances' leases", error) from error

    async def replay(self, customer_order_id: str) -> None:
        await self.bus.replay([customer_order_id])

    # ------------------------------------------------------------------ OrderStore

    async def begin(self, intent: OrderIntent) -> OrderIntent | None:
        prefix = self._need_prefix()
        intent = attrs.evolve(intent, owner=self.instance_id)
        coid = intent.key
        try:
            found = await self.script(
                _scripts.BEGIN,
                [self.key(f"i:{coid}")],
                [prefix, self.instance_id, coid, KEEP_PENDING, *intent_fields(intent)],
            )
        except RedisError as error:
            raise self.unavailable("record the order", error) from error
        if found is None:
            self.mirror[coid] = intent
            return None
        return intent_from_hash(pairs(found))

    async def placed(self, customer_order_id: str, order_id: str) -> None:
        mirrored = self.mirror.get(customer_order_id)
        if mirrored is not None and not mirrored.state.is_finished:  # a resync races a FINISH
            self._mirror_change(
                customer_order_id,
                order_id=order_id,
                state=IntentState.PLACED,
                owner=self.instance_id,
            )
        args = [order_id, order_key(customer_order_id, order_id)]
        answer = await self._keyed(_scripts.PLACED, customer_order_id, args)
        if answer[0] == 0 and await self.reseed(customer_order_id):
            answer = await self._keyed(_scripts.PLACED, customer_order_id, args)
        if len(answer) > 1:  # the callback beat the POST's answer, on some instance
            self.bus.deliver_json(answer[1], customer_order_id)

    async def progress(self, customer_order_id: str, status: str) -> None:
        self._mirror_change(customer_order_id, last_status=status)
        await self._keyed(_scripts.PROGRESS, customer_order_id, [status])

    async def finish(self, customer_order_id: str, outcome: StoredOutcome) -> bool:
        return await self._end(customer_order_id, IntentState.FINAL, outcome)

    async def never_created(self, customer_order_id: str) -> None:
        await self._end(customer_order_id, IntentState.NEVER_CREATED, None)

    async def _end(
        self, customer_order_id: str, state: IntentState, outcome: StoredOutcome | None
    ) -> bool:
        now = time.time()
        # Kept until written: a FINISH Redis refused is written again once it answers.
        self._mirror_change(customer_order_id, state=state, outcome=outcome, finished_at=now)
        # A token of this call (see _scripts.FINISH), or of the call whose FINISH failed and
        # that the resync now repeats; another call for the same order gets a token of its own.
        token = self._finish_tokens.pop(customer_order_id, None) or uuid.uuid4().hex
        fields = [*outcome_fields(state, outcome, now), "finisher", token]
        try:
            done = await self._keyed(_scripts.FINISH, customer_order_id, [KEEP_FINISHED, *fields])
            if done == -1 and await self.reseed(customer_order_id):
                done = await self._keyed(
                    _scripts.FINISH, customer_order_id, [KEEP_FINISHED, *fields]
                )
        except (StoreUnavailableError, asyncio.CancelledError):
            if customer_order_id in self.mirror:  # the resync sends this FINISH again
                self._finish_tokens[customer_order_id] = token
            raise
        self.mirror.pop(customer_order_id, None)
        if done == 1:
            self.finished_here += 1
        return bool(done == 1)

    async def _keyed(self, source: str, customer_order_id: str, args: list[Any]) -> Any:
        """A script on one intent, whose ARGV begins with the prefix and customer order id."""
        prefix = self._need_prefix()
        try:
            return await self.script(
                source, [self.key(f"i:{customer_order_id}")], [prefix, customer_order_id, *args]
            )
        except RedisError as error:
            self.bus.dirty.add(customer_order_id)
            raise self.unavailable(f"record order {customer_order_id}", error) from error
        except asyncio.CancelledError:
            # Cut short by the caller's timeout: the write may or may not have happened, and
            # the call may end before it retries; the resync makes sure.
            self.bus.dirty.add(customer_order_id)
            raise

    async def reseed(self, customer_order_id: str) -> bool:
        """Write the mirrored intent again, Redis having lost it; whether there was one.

        Always as it was before any outcome: only FINISH makes an intent final, so that it
        answers "first" to exactly one call (a resync of PLACED racing this order's FINISH
        would otherwise write it final unannounced, and the FINISH would count for nobody).
        """
        intent = self.mirror.get(customer_order_id)
        if intent is None:
            return False
        if intent.state.is_finished:
            state = IntentState.PLACED if intent.order_id else IntentState.INTENT
            intent = attrs.evolve(intent, state=state, outcome=None, finished_at=None)
        try:
            answer = await self.script(
                _scripts.SEED,
                [self.key(f"i:{customer_order_id}")],
                [
                    self._need_prefix(),
                    self.instance_id,
                    customer_order_id,
                    KEEP_PENDING,
                    order_key(customer_order_id, intent.order_id) if intent.order_id else "",
                    *intent_fields(attrs.evolve(intent, owner=self.instance_id)),
                ],
            )
        except RedisError as error:
            self.bus.dirty.add(customer_order_id)
            raise self.unavailable(f"record order {customer_order_id}", error) from error
        if len(answer) > 1:
            self.bus.deliver_json(answer[1], customer_order_id)
        return True

    async def resync(self, customer_order_id: str) -> None:
        """Bring Redis in line with the mirror for one order, after a refused write or after
        Redis lost its data. Ownership is left alone unless the intent is gone."""
        intent = self.mirror.get(customer_order_id)
        if intent is None:
            return
        if intent.state.is_finished:
            await self._end(customer_order_id, intent.state, intent.outcome)
        elif intent.order_id is not None:
            await self.placed(customer_order_id, intent.order_id)
        elif not await self.writer().exists(self.key(f"i:{customer_order_id}")):
            await self.reseed(customer_order_id)

    def _mirror_change(self, customer_order_id: str, **changes: Any) -> None:
        intent = self.mirror.get(customer_order_id)
        if intent is not None:
            self.mirror[customer_order_id] = attrs.evolve(intent, **changes)

    async def get(self, customer_order_id: str) -> OrderIntent | None:
        self._need_prefix()
        try:
            fields = cast(
                "dict[str, str]", await self.writer().hgetall(self.key(f"i:{customer_order_id}"))
            )
        except RedisError as error:
            raise self.unavailable("read the journal", error) from error
        return intent_from_hash(fields) if fields else None

    async def unfinished(self) -> list[OrderIntent]:
        """This instance's unfinished orders (its own, and those it adopted), oldest first."""
        self._need_prefix()
        try:
            own = await self.writer().smembers(self.key(f"own:{self.instance_id}"))
            coids = sorted(cast("set[str]", own))
            intents = await self.read_intents(coids)
        except RedisError as error:
            raise self.unavailable("read the journal", error) from error
        pending = [intent for intent in intents if not intent.state.is_finished]
        for intent in pending:
            self.mirror.setdefault(intent.key, intent)
        return sorted(pending, key=lambda intent: intent.created_at)

    async def read_intents(self, coids: list[str]) -> list[OrderIntent]:
        async with self.writer().pipeline(transaction=False) as pipe:
            for coid in coids:
                pipe.hgetall(self.key(f"i:{coid}"))
            found: list[dict[str, str]] = await pipe.execute()
        return [intent_from_hash(fields) for fields in found if fields]

    async def prune(self, now: float | None = None) -> int:
        """Nothing to do: every key carries its own expiry (finished orders: 24 h)."""
        self._ensure_open()  # a closed store raises, as every other store call does
        return 0

    async def aclose(self) -> None:
        """Stop the heartbeat and the reader, hand back the lease, close every connection.

        Unfinished orders stay in Redis: with the same *instance_id*, a restarted instance
        takes them back (:func:`bwnumbers.recover`); otherwise a survivor adopts them once
        the lease is gone, which closing hands back at once.
        """
        if self._closed:
            return
        self._closed = True
        try:
            await self.bus.stop(self._writer)
        finally:
            writer, self._writer = self._writer, None
            if writer is not None:
                await writer.aclose()


def _prefix(namespace: str) -> str:
    # The braces are a Redis Cluster hash tag: one account's keys stay in one slot.
    return f"bwn:{{{namespace}}}:"
