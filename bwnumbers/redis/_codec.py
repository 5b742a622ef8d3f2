"""What :class:`~bwnumbers.redis.RedisStore` writes: intents as hash fields, notifications as
compact JSON (the parsed notification, never the raw XML), and back."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import attrs

from bwnumbers._models import Notification, OrderStatus
from bwnumbers._seam import ORDERS
from bwnumbers._store import (
    IntentState,
    OrderIntent,
    StoredOutcome,
    journal_key,
    split_journal_key,
)

__all__ = [
    "intent_fields",
    "intent_from_hash",
    "note_from_json",
    "note_to_json",
    "order_key",
    "outcome_fields",
]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def intent_fields(intent: OrderIntent) -> list[str]:
    """*intent* as a flat field, value, ... list for ``HSET`` (absent values left out)."""
    fields: dict[str, str | None] = {
        "customer_order_id": intent.customer_order_id,
        "request_digest": intent.request_digest,
        "request": _dumps(dict(intent.request)),
        "request_xml": intent.request_xml,
        "metadata": _dumps(dict(intent.metadata)),
        "order_id": intent.order_id,
        "owner": intent.owner,
        "created_at": repr(intent.created_at),
        "deadline": None if intent.deadline is None else repr(intent.deadline),
        "state": str(intent.state),
        "last_status": intent.last_status,
        "outcome": None if intent.outcome is None else _dumps(intent.outcome.to_json()),
        "finished_at": None if intent.finished_at is None else repr(intent.finished_at),
        # Left out for an order, so intents written before disconnects existed read the same.
        "kind": None if intent.kind == ORDERS else intent.kind,
    }
    return [part for name, value in fields.items() if value is not None for part in (name, value)]


def outcome_fields(state: IntentState, outcome: StoredOutcome | None, now: float) -> list[str]:
    """The fields FINISH writes."""
    fields = ["state", str(state), "finished_at", repr(now)]
    if outcome is not None:
        fields += ["outcome", _dumps(outcome.to_json()), "last_status", str(outcome.status)]
    return fields


def intent_from_hash(fields: Mapping[str, str]) -> OrderIntent:
    """The :class:`OrderIntent` of an intent hash (``HGETALL``)."""
    outcome = fields.get("outcome")
    deadline = fields.get("deadline")
    finished_at = fields.get("finished_at")
    return OrderIntent(
        customer_order_id=fields["customer_order_id"],
        request_digest=fields["request_digest"],
        request=json.loads(fields["request"]),
        request_xml=fields.get("request_xml", ""),
        metadata=json.loads(fields.get("metadata", "{}")),
        order_id=fields.get("order_id"),
        owner=fields.get("owner", ""),
        created_at=float(fields["created_at"]),
        deadline=None if deadline is None else float(deadline),
        state=fields.get("state", "INTENT"),
        last_status=fields.get("last_status"),
        outcome=None if outcome is None else StoredOutcome.from_json(json.loads(outcome)),
        finished_at=None if finished_at is None else float(finished_at),
        kind=fields.get("kind", ORDERS),
    )


def order_key(intent_key: str, order_id: str) -> str:
    """The key an order id maps to its intent under: order ids and disconnect ids are separate
    spaces, so a disconnect's is namespaced as its intent's key is."""
    return journal_key(split_journal_key(intent_key)[0], order_id)


def pairs(flat: list[str]) -> dict[str, str]:
    """``HGETALL`` as Lua returns it (a flat list) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def note_to_json(notification: Notification) -> str:
    """*notification* as compact JSON: its fields, dates as ISO 8601."""
    data = {}
    for field in attrs.fields(Notification):
        value = getattr(notification, field.name)
        if value is None or value == ():
            continue
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        else:
            value = str(value)
        data[field.name] = value
    return _dumps(data)


_DATES = ("last_modified", "actual_foc_date")


def note_from_json(text: str, customer_order_id: str | None = None) -> Notification:
    """The notification of :func:`note_to_json`; *customer_order_id* fills in a missing one
    (so that the owner finds its waiter by it, before it listens under the order id)."""
    data: dict[str, Any] = json.loads(text)
    for name in _DATES:
        if name in data:
            data[name] = dt.datetime.fromisoformat(data[name])
    if "status" in data:
        data["status"] = OrderStatus(data["status"])
    if customer_order_id and not data.get("customer_order_id"):
        data["customer_order_id"] = customer_order_id
    return Notification(**data)
