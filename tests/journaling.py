"""Helpers for the journal tests: a store that fails on demand, and HTTP request counting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from bwnumbers import (
    MemoryStore,
    NumbersClient,
    OrderIntent,
    OrderRequest,
    StoredOutcome,
    StoreUnavailableError,
)
from bwnumbers._store import request_digest, request_fields
from bwnumbers._xml import encode_order
from bwnumbers.testing import BandwidthEmulator


class FlakyStore(MemoryStore):
    """A MemoryStore whose methods named in *failing* raise, *times* times in a row each."""

    def __init__(self, *failing: str, times: int = 1_000_000) -> None:
        super().__init__()
        self.failing = set(failing)
        self.left = dict.fromkeys(failing, times)
        self.calls: list[str] = []

    def _maybe_fail(self, method: str) -> None:
        self.calls.append(method)
        if method in self.failing and self.left[method] > 0:
            self.left[method] -= 1
            raise StoreUnavailableError(f"The test store refuses {method}().")

    def recover(self) -> None:
        self.failing.clear()

    async def begin(self, intent: OrderIntent) -> OrderIntent | None:
        self._maybe_fail("begin")
        return await super().begin(intent)

    async def placed(self, customer_order_id: str, order_id: str) -> None:
        self._maybe_fail("placed")
        await super().placed(customer_order_id, order_id)

    async def progress(self, customer_order_id: str, status: str) -> None:
        self._maybe_fail("progress")
        await super().progress(customer_order_id, status)

    async def finish(self, customer_order_id: str, outcome: StoredOutcome) -> bool:
        self._maybe_fail("finish")
        return await super().finish(customer_order_id, outcome)


class RequestLog:
    """The API requests a client sent (method and path), seen by aiohttp's tracing."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def _on_start(
        self,
        _session: aiohttp.ClientSession,
        _context: object,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        if "/accounts/" in params.url.path:  # not the token endpoint
            self.sent.append((params.method, params.url.path.rsplit("/accounts/", 1)[1]))

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._on_start)
        return config

    def clear(self) -> None:
        self.sent.clear()

    def __len__(self) -> int:
        return len(self.sent)


@asynccontextmanager
async def counted_client(
    emulator: BandwidthEmulator,
) -> AsyncIterator[tuple[NumbersClient, RequestLog]]:
    """A client of *emulator* whose every API request is logged."""
    log = RequestLog()
    async with (
        aiohttp.ClientSession(trace_configs=[log.trace()]) as session,
        emulator.client(session=session) as client,
    ):
        yield client, log


def dead_intent(
    request: OrderRequest, *, created_at: float, metadata: dict[str, object] | None = None
) -> OrderIntent:
    """The intent a process records before its POST, as a killed one leaves it."""
    return OrderIntent(
        customer_order_id=request.customer_order_id,
        request_digest=request_digest(request),
        request=request_fields(request),
        request_xml=encode_order(request).decode(),
        metadata=metadata or {},
        created_at=created_at,
    )
