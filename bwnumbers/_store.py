"""The journal of orders: what an order store keeps, and the in-memory store.

``order_and_wait`` writes an :class:`OrderIntent` *before* ``POST /orders`` (write-ahead), the
order id once Bandwidth accepted the order, and the outcome once it is final. A process that
dies in between leaves an unfinished intent that :func:`bwnumbers.recover` picks up, and a
second call with the same customer order id resumes the order instead of ordering again.

What is kept is enough to finish the order and to tell whom it was for, and nothing secret:
the request (as sent, and as fields to rebuild it), a digest of it, the caller's metadata,
the order id, the last status and the outcome. Never a credential or an ``Authorization``.

Times are wall-clock epoch seconds, because monotonic time does not survive a restart.
"""

from __future__ import annotations

import enum
import hashlib
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Final, Protocol

import attrs

from ._exceptions import StoreUnavailableError, ValidationError
from ._models import OrderError, OrderRequest, OrderStatus
from ._seam import ORDERS, journal_key, split_journal_key
from ._search import Search

__all__ = [
    "DEFAULT_KEEP_FINISHED",
    "MAX_METADATA_BYTES",
    "IntentState",
    "MemoryStore",
    "OrderIntent",
    "OrderStore",
    "StoredOutcome",
    "check_metadata",
    "journal_key",
    "request_digest",
    "request_fields",
    "request_from_fields",
    "split_journal_key",
]

#: A finished order's result is kept this long (seconds), then pruned.
DEFAULT_KEEP_FINISHED: Final = 24 * 3600.0
#: The largest ``metadata=`` mapping, as compact JSON in UTF-8.
MAX_METADATA_BYTES: Final = 4096


class IntentState(enum.StrEnum):
    """Where an order stands in the journal."""

    INTENT = "INTENT"  # recorded; POST /orders may or may not have been sent
    PLACED = "PLACED"  # Bandwidth accepted it: the order id is known
    FINAL = "FINAL"  # the outcome is recorded
    NEVER_CREATED = "NEVER_CREATED"  # the POST never reached Bandwidth, and nobody resent it

    @property
    def is_finished(self) -> bool:
        return self in (IntentState.FINAL, IntentState.NEVER_CREATED)


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _errors(values: Iterable[OrderError]) -> tuple[OrderError, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class StoredOutcome:
    """A final order as the journal keeps it: enough to answer a re-call with no HTTP."""

    status: OrderStatus = attrs.field(converter=OrderStatus)
    completed_numbers: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    failed_numbers: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    errors: tuple[OrderError, ...] = attrs.field(default=(), converter=_errors)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "completed_numbers": list(self.completed_numbers),
            "failed_numbers": list(self.failed_numbers),
            "errors": [[e.code, e.description, e.number] for e in self.errors],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredOutcome:
        errors = [
            OrderError(code=code, description=description, number=number)
            for code, description, number in data.get("errors", ())
        ]
        return cls(
            status=data["status"],
            completed_numbers=data.get("completed_numbers", ()),
            failed_numbers=data.get("failed_numbers", ()),
            errors=errors,
        )


@attrs.frozen(kw_only=True)
class OrderIntent:
    """One order in the journal, from before its POST to its outcome.

    Attributes:
        customer_order_id: the key, and what a resumed call or ``recover()`` finds it by.
        request_digest: sha256 of the normalised request without the customer order id; a
            re-call with another digest is a conflict.
        request: the request's fields (:func:`request_fields`), to rebuild it.
        request_xml: the exact ``POST /orders`` body, for the record; it holds no secret.
        metadata: the caller's JSON-serialisable mapping (a chat id, a customer id).
        order_id: Bandwidth's id, once the order was accepted.
        owner: the store instance that placed it.
        created_at: when the intent was recorded, epoch seconds.
        deadline: when the caller's ``timeout=`` ran out, epoch seconds, if there was one.
        state: see :class:`IntentState`.
        last_status: the last status seen (RECEIVED, BACKORDERED, ...).
        outcome: the final outcome, once ``state`` is FINAL.
        finished_at: when it became FINAL or NEVER_CREATED, epoch seconds.
        kind: the order type, ``"orders"`` or ``"disconnects"`` (whose *request* holds a
            disconnect's fields).

    .. versionchanged:: 0.3 *kind*.
    """

    customer_order_id: str
    request_digest: str
    request: Mapping[str, Any]
    request_xml: str
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    order_id: str | None = None
    owner: str = ""
    created_at: float
    deadline: float | None = None
    state: IntentState = attrs.field(default=IntentState.INTENT, converter=IntentState)
    last_status: str | None = None
    outcome: StoredOutcome | None = None
    finished_at: float | None = None
    kind: str = ORDERS

    @property
    def key(self) -> str:
        """What the store keeps it under: :func:`journal_key` of its kind and customer order
        id."""
        return journal_key(self.kind, self.customer_order_id)

    def rebuild_request(self) -> OrderRequest:
        """The :class:`OrderRequest` this intent was recorded for, with its customer order id."""
        return request_from_fields(self.request, self.customer_order_id)


class OrderStore(Protocol):
    """Where ``order_and_wait`` journals its orders: :class:`MemoryStore`, ``SQLiteStore``.

    Both stores are also async context managers that call :meth:`aclose` on exit.

    An intent is kept under its :attr:`OrderIntent.key`: its customer order id for an order,
    ``"disconnects:<customer order id>"`` for a disconnect (:func:`journal_key`). The methods'
    *customer_order_id* argument is that key.

    Every method may raise :class:`~bwnumbers.StoreUnavailableError` when the store cannot be
    used (a closed database, a full disk). Only :meth:`begin` failing stops an order: the
    others are retried in the background while the order finishes by callback or polling.

    .. versionadded:: 0.2
    .. versionchanged:: 0.3 keyed by :attr:`OrderIntent.key`.
    """

    @property
    def owner(self) -> str:
        """This store instance's name in the intents it writes."""
        ...

    async def begin(self, intent: OrderIntent) -> OrderIntent | None:
        """Record *intent* durably before its POST; ``None`` when it is new.

        If an intent with that key exists, nothing is written and the stored
        one is returned (to resume, to answer from its outcome, or to refuse a conflict).
        """
        ...

    async def placed(self, customer_order_id: str, order_id: str) -> None:
        """Bandwidth accepted the order under *order_id*."""

    async def progress(self, customer_order_id: str, status: str) -> None:
        """The order went through a non-final *status*."""

    async def finish(self, customer_order_id: str, outcome: StoredOutcome) -> bool:
        """Record the outcome; ``True`` only the first time for a customer order id."""
        ...

    async def never_created(self, customer_order_id: str) -> None:
        """The order's POST never reached Bandwidth and will not be resent."""

    async def get(self, customer_order_id: str) -> OrderIntent | None:
        """The intent recorded under *customer_order_id*, if any (finished ones included)."""
        ...

    async def unfinished(self) -> list[OrderIntent]:
        """Every intent still INTENT or PLACED, oldest first."""
        ...

    async def prune(self, now: float | None = None) -> int:
        """Forget finished intents older than the store keeps them; how many were removed."""
        ...

    async def aclose(self) -> None:
        """Release the store; further calls raise :class:`~bwnumbers.StoreUnavailableError`."""


# ---------------------------------------------------------------------- requests


def request_fields(request: OrderRequest) -> dict[str, Any]:
    """*request* as JSON-ready fields, without its customer order id and default name.

    The default name is derived from the customer order id, so it is left out: a re-call
    that gives no name must match the first call that gave none.
    """
    default_name = OrderRequest(
        site_id=request.site_id,
        numbers=request.numbers,
        search=request.search,
        customer_order_id=request.customer_order_id,
    ).name
    fields: dict[str, Any] = {
        "site_id": request.site_id,
        "numbers": list(request.numbers) if request.numbers is not None else None,
        "search": _search_fields(request.search) if request.search is not None else None,
        "name": None if request.name == default_name else request.name,
        "peer_id": request.peer_id,
        "partial_allowed": request.partial_allowed,
        "back_order_requested": request.back_order_requested,
    }
    # Only when there are some: a request without them keeps the digest journals written
    # before reservations existed have, so re-calls from then still match.
    if request.reservation_ids:
        fields["reservation_ids"] = list(request.reservation_ids)
    return fields


def _search_fields(search: Search) -> dict[str, Any]:
    return {k: v for k, v in attrs.asdict(search).items() if v is not None}


def request_from_fields(fields: Mapping[str, Any], customer_order_id: str = "") -> OrderRequest:
    """The :class:`OrderRequest` of :func:`request_fields`, under *customer_order_id*."""
    search = fields.get("search")
    return OrderRequest.build(
        site_id=fields["site_id"],
        numbers=fields.get("numbers"),
        search=Search(**search) if search is not None else None,
        name=fields.get("name"),
        customer_order_id=customer_order_id or None,
        peer_id=fields.get("peer_id"),
        partial_allowed=fields.get("partial_allowed"),
        back_order_requested=fields.get("back_order_requested"),
        reservation_ids=fields.get("reservation_ids"),
    )


def request_digest(request: OrderRequest) -> str:
    """sha256 of the normalised request without its customer order id.

    Numbers are compared as a set (the same numbers in another order are the same order).
    """
    fields = request_fields(request)
    if fields["numbers"] is not None:
        fields["numbers"] = sorted(fields["numbers"])
    if "reservation_ids" in fields:  # unpaired with numbers, so a set too
        fields["reservation_ids"] = sorted(fields["reservation_ids"])
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_metadata(metadata: object) -> dict[str, Any]:
    """Refuse metadata that is not a JSON-serialisable mapping of at most 4 KiB."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValidationError(
            "metadata= must be a mapping, such as {'chat_id': 42}; "
            f"got {type(metadata).__name__}."
        )
    try:
        encoded = json.dumps(dict(metadata), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValidationError(
            f"metadata= must be JSON-serialisable (strings, numbers, lists, mappings): {error}."
        ) from None
    size = len(encoded.encode())
    if size > MAX_METADATA_BYTES:
        raise ValidationError(
            f"metadata= takes {size:,} bytes as JSON; at most {MAX_METADATA_BYTES:,} are kept. "
            "Keep an id there and the rest in your own database."
        )
    loaded: dict[str, Any] = json.loads(encoded)  # a copy the caller cannot change later
    return loaded


# ---------------------------------------------------------------------- MemoryStore


class MemoryStore:
    """The default store: the journal in a dict, for the life of the process.

    It makes a re-call with the same customer order id resume the order (or return its
    result) while the process lives; it does not survive a restart (use ``SQLiteStore``).
    Bounded: at most *max_unfinished* orders in flight (more raise
    :class:`~bwnumbers.StoreUnavailableError` before their POST) and *max_finished* results,
    the oldest forgotten first, each for at most *keep_finished* seconds.

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        *,
        max_unfinished: int = 100_000,
        max_finished: int = 100_000,
        keep_finished: float = DEFAULT_KEEP_FINISHED,
        owner: str | None = None,
    ) -> None:
        self._owner = owner or uuid.uuid4().hex
        self._max_unfinished = max_unfinished
        self._max_finished = max_finished
        self._keep_finished = keep_finished
        self._unfinished: dict[str, OrderIntent] = {}
        self._finished: OrderedDict[str, OrderIntent] = OrderedDict()
        self._closed = False

    def __repr__(self) -> str:
        return f"<MemoryStore unfinished={len(self._unfinished)} finished={len(self._finished)}>"

    async def __aenter__(self) -> MemoryStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def owner(self) -> str:
        return self._owner

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailableError(
                "This MemoryStore is closed, so nothing was recorded; give the order a store "
                "that is open."
            )

    async def begin(self, intent: OrderIntent) -> OrderIntent | None:
        self._check_open()
        key = intent.key
        existing = self._unfinished.get(key) or self._finished.get(key)
        if existing is not None:
            return existing
        if len(self._unfinished) >= self._max_unfinished:
            raise StoreUnavailableError(
                f"The MemoryStore already holds {self._max_unfinished:,} unfinished orders; "
                "nothing was sent. Wait for some to finish, or raise max_unfinished=."
            )
        self._unfinished[key] = attrs.evolve(intent, owner=self._owner)
        return None

    def _change(self, customer_order_id: str, **changes: Any) -> OrderIntent | None:
        intent = self._unfinished.get(customer_order_id)
        if intent is None:
            return None
        intent = attrs.evolve(intent, **changes)
        self._unfinished[customer_order_id] = intent
        return intent

    async def placed(self, customer_order_id: str, order_id: str) -> None:
        self._check_open()
        self._change(customer_order_id, order_id=order_id, state=IntentState.PLACED)

    async def progress(self, customer_order_id: str, status: str) -> None:
        self._check_open()
        self._change(customer_order_id, last_status=status)

    async def finish(self, customer_order_id: str, outcome: StoredOutcome) -> bool:
        self._check_open()
        return self._end(
            customer_order_id,
            state=IntentState.FINAL,
            outcome=outcome,
            last_status=str(outcome.status),
        )

    async def never_created(self, customer_order_id: str) -> None:
        self._check_open()
        self._end(customer_order_id, state=IntentState.NEVER_CREATED)

    def _end(self, customer_order_id: str, **changes: Any) -> bool:
        intent = self._unfinished.pop(customer_order_id, None)
        if intent is None:
            return False
        self._finished[customer_order_id] = attrs.evolve(intent, finished_at=time.time(), **changes)
        while len(self._finished) > self._max_finished:
            self._finished.popitem(last=False)
        return True

    async def get(self, customer_order_id: str) -> OrderIntent | None:
        self._check_open()
        return self._unfinished.get(customer_order_id) or self._finished.get(customer_order_id)

    async def unfinished(self) -> list[OrderIntent]:
        self._check_open()
        return sorted(self._unfinished.values(), key=lambda intent: intent.created_at)

    async def prune(self, now: float | None = None) -> int:
        self._check_open()
        cutoff = (time.time() if now is None else now) - self._keep_finished
        removed = 0
        while self._finished:
            key, oldest = next(iter(self._finished.items()))
            if oldest.finished_at is None or oldest.finished_at > cutoff:
                break
            del self._finished[key]
            removed += 1
        return removed

    async def aclose(self) -> None:
        self._closed = True
