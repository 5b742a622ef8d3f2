"""bwnumbers: an asyncio SDK for Bandwidth's Phone Number API.

Order numbers with one call that returns when Bandwidth has finished the order, and never loses
an order on the way.
"""

from __future__ import annotations

from ._auth import TokenProvider
from ._client import NumbersClient
from ._disconnect_models import (
    DisconnectDetails,
    DisconnectMode,
    DisconnectOrder,
    DisconnectRequest,
    DisconnectSummary,
)
from ._exceptions import (
    AmbiguousOrderError,
    APIError,
    AuthenticationError,
    BadRequestError,
    BWNumbersError,
    ConflictError,
    DecodeError,
    ForbiddenError,
    IdempotencyConflictError,
    NeverCreatedError,
    NotFoundError,
    NumberUnavailableError,
    OrderFailedError,
    OrderTimeoutError,
    RateLimitError,
    ReservationError,
    ReservationNotFoundError,
    ServerError,
    StoreUnavailableError,
    TransportError,
    ValidationError,
    WaitersClosedError,
)
from ._models import (
    Notification,
    NumberDetail,
    Order,
    OrderDetails,
    OrderError,
    OrderHistoryEntry,
    OrderRequest,
    OrderStatus,
    OrderSummary,
    SearchResult,
    Subscription,
)
from ._number_models import NumberInfo, NumberStatus, Reservation
from ._numbers import normalize_number
from ._ordering import (
    OrderResult,
    PollPolicy,
    ResultSource,
    StatusUpdate,
    order_and_wait,
    wait_for_order,
)
from ._ratelimit import RateLimitStatus
from ._receiver import CallbackReceiver
from ._recovery import PendingOrder, recover
from ._retry import RetryPolicy
from ._seam import (
    NotificationSink,
    OrderClient,
    UnclaimedBuffer,
    Waiter,
    WaiterRegistry,
    WaiterSource,
)
from ._search import Search, SearchCriteria, SearchKind
from ._sqlite_store import SQLiteStore
from ._store import IntentState, MemoryStore, OrderIntent, OrderStore, StoredOutcome
from ._tokens import AccessToken
from ._unclaimed import MemoryUnclaimedBuffer
from ._version import __version__
from ._waiters import OrderWaiters
from ._xml import parse_notification

__all__ = [
    "APIError",
    "AccessToken",
    "AmbiguousOrderError",
    "AuthenticationError",
    "BWNumbersError",
    "BadRequestError",
    "CallbackReceiver",
    "ConflictError",
    "DecodeError",
    "DisconnectDetails",
    "DisconnectMode",
    "DisconnectOrder",
    "DisconnectRequest",
    "DisconnectSummary",
    "ForbiddenError",
    "IdempotencyConflictError",
    "IntentState",
    "MemoryStore",
    "MemoryUnclaimedBuffer",
    "NeverCreatedError",
    "NotFoundError",
    "Notification",
    "NotificationSink",
    "NumberDetail",
    "NumberInfo",
    "NumberStatus",
    "NumberUnavailableError",
    "NumbersClient",
    "Order",
    "OrderClient",
    "OrderDetails",
    "OrderError",
    "OrderFailedError",
    "OrderHistoryEntry",
    "OrderIntent",
    "OrderRequest",
    "OrderResult",
    "OrderStatus",
    "OrderStore",
    "OrderSummary",
    "OrderTimeoutError",
    "OrderWaiters",
    "PendingOrder",
    "PollPolicy",
    "RateLimitError",
    "RateLimitStatus",
    "Reservation",
    "ReservationError",
    "ReservationNotFoundError",
    "ResultSource",
    "RetryPolicy",
    "SQLiteStore",
    "Search",
    "SearchCriteria",
    "SearchKind",
    "SearchResult",
    "ServerError",
    "StatusUpdate",
    "StoreUnavailableError",
    "StoredOutcome",
    "Subscription",
    "TokenProvider",
    "TransportError",
    "UnclaimedBuffer",
    "ValidationError",
    "Waiter",
    "WaiterRegistry",
    "WaiterSource",
    "WaitersClosedError",
    "__version__",
    "normalize_number",
    "order_and_wait",
    "parse_notification",
    "recover",
    "wait_for_order",
]
