"""Shared fixtures: fake HTTP for unit tests, recorded sleeps, XML samples; async hygiene."""

from __future__ import annotations

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

# The async hygiene checks every test gets (tests/_hygiene.py), and pytester, with which
# tests/test_hygiene.py shows that those checks catch what they should.
pytest_plugins = ["pytester", "tests._hygiene"]


def sample(name: str) -> bytes:
    """The bytes of tests/data/*name*."""
    return (DATA / name).read_bytes()


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
