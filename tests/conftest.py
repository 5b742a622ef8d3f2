"""Shared fixtures: fake HTTP for unit tests, recorded sleeps, XML samples, async hygiene."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aioresponses import aioresponses

import bwnumbers
from bwnumbers import _retry

DATA = Path(__file__).parent / "data"
BASE = "https://dashboard.example.test/api"
ACCOUNT = "9900000"
ROOT = f"{BASE}/accounts/{ACCOUNT}"
PASSWORD = "s3cr3t-api-Pa55"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"


def sample(name: str) -> bytes:
    """The bytes of tests/data/*name*."""
    return (DATA / name).read_bytes()


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def _asyncio_hygiene() -> Iterator[None]:
    """Fail a test that leaves a task pending at garbage collection or an error unretrieved.

    asyncio reports these through its logger, not as warnings, so filterwarnings cannot.
    """
    collector = _Collector()
    logger = logging.getLogger("asyncio")
    logger.addHandler(collector)
    try:
        yield
        gc.collect()
    finally:
        logger.removeHandler(collector)
    leaks = [
        m for m in collector.messages
        if "Task was destroyed" in m or "never retrieved" in m or "Unclosed" in m
    ]  # fmt: skip
    assert not leaks, leaks


@pytest.fixture
def fake_http() -> Iterator[aioresponses]:
    """aioresponses for unit tests; loopback traffic (the emulator, receivers) passes through."""
    with aioresponses(passthrough=["http://127.0.0.1"]) as mocked:
        yield mocked


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make retries instant and record every delay the client asked for."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(_retry, "sleep", fake_sleep)
    return recorded


@pytest.fixture
async def client(sleeps: list[float]) -> AsyncIterator[bwnumbers.NumbersClient]:
    """A client of a fake Bandwidth at ROOT (use with fake_http), with a static access token.

    A static token needs no token endpoint, so these unit tests see only the API requests;
    tests/test_client_oauth.py covers how tokens are obtained.
    """
    async with bwnumbers.NumbersClient(
        account_id=ACCOUNT, access_token=TOKEN, base_url=BASE
    ) as numbers_client:
        yield numbers_client
