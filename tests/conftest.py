"""Shared fixtures: fake HTTP for unit tests, recorded sleeps, XML samples; async hygiene.

Tests that need aioresponses get the ``aioresponses`` marker here, automatically: those that
use the ``fake_http`` fixture and every test of a module that imports aioresponses at its top.
CI runs the others (``-m "not aioresponses"``) once more against the newest aiohttp, which
aioresponses 0.7.9 cannot patch; there aioresponses is not installed, so the modules that
import it are not even collected.

Tests that run a real redis-server (the ``redis_server`` fixture, or ``redis_required``) get
the ``redis`` marker; without redis-server or redis-py they fail under CI and skip elsewhere.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from yarl import URL

import bwnumbers
from bwnumbers import _retry
from bwnumbers.testing import BandwidthEmulator
from tests.fake_transport import FakeTransport
from tests.journaling import RequestLog, counted_client

if TYPE_CHECKING:
    from aioresponses import aioresponses

    from tests.redis_server import RedisServer

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


def calls(mocked: aioresponses, method: str, url: str | None = None) -> list[Any]:
    """Every request made with *method* (to *url* when given, ignoring the query)."""
    found = []
    for (verb, called), requests in mocked.requests.items():
        if verb == method and (url is None or called.with_query(None) == URL(url)):
            found.extend(requests)
    return found


def _imports_aioresponses(path: Path) -> bool:
    """True when the module imports aioresponses at its top level (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Import) and any(a.name == "aioresponses" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "aioresponses":
            return True
    return False


_HERE = Path(__file__).parent
NEEDS_AIORESPONSES = frozenset(
    path.name for path in _HERE.glob("test_*.py") if _imports_aioresponses(path)
)
HAVE_AIORESPONSES = importlib.util.find_spec("aioresponses") is not None
collect_ignore = [] if HAVE_AIORESPONSES else sorted(NEEDS_AIORESPONSES)


def _imports_redis(path: Path) -> bool:
    """True when the module imports redis-py, bwnumbers.redis or tests.redis_server at its top."""
    prefixes = ("redis", "bwnumbers.redis", "tests.redis_server")
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and not node.level:
            names = [node.module]
        else:
            continue
        if any(name == p or name.startswith(p + ".") for name in names for p in prefixes):
            return True
    return False


if importlib.util.find_spec("redis") is None and not os.environ.get("CI"):
    # Like the aioresponses modules above: they cannot even be imported without redis-py.
    # Under CI they are collected anyway, so a CI without redis-py fails loudly.
    collect_ignore += sorted(p.name for p in _HERE.glob("test_*.py") if _imports_redis(p))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses_fixture = "fake_http" in getattr(item, "fixturenames", ())
        if uses_fixture or item.path.name in NEEDS_AIORESPONSES:
            item.add_marker(pytest.mark.aioresponses)
        if "redis_required" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)


@pytest.fixture
def fake_http() -> Iterator[aioresponses]:
    """aioresponses for unit tests; loopback traffic (the emulator, receivers) passes through."""
    if not HAVE_AIORESPONSES:
        # Never a silent skip: a test getting here was not marked, so -m did not deselect it.
        pytest.fail("aioresponses is not installed, and this test lacks the aioresponses marker")
    from aioresponses import aioresponses

    with aioresponses(passthrough=["http://127.0.0.1"]) as mocked:
        yield mocked


@pytest.fixture
def fake_transport() -> FakeTransport:
    """The client's transport seam, faked: see tests/fake_transport.py."""
    return FakeTransport()


@pytest.fixture
async def fake_client(
    fake_transport: FakeTransport, sleeps: list[float]
) -> AsyncIterator[bwnumbers.NumbersClient]:
    """A client whose requests go to *fake_transport*, with a static access token."""
    async with bwnumbers.NumbersClient(
        account_id=ACCOUNT, access_token=TOKEN, base_url=BASE, _transport=fake_transport
    ) as numbers_client:
        yield numbers_client


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


@pytest.fixture
async def counted(
    bandwidth_emulator: BandwidthEmulator,
) -> AsyncIterator[tuple[bwnumbers.NumbersClient, RequestLog]]:
    """A client on the emulator and the log of the HTTP requests it sends (journal tests)."""
    async with counted_client(bandwidth_emulator) as pair:
        yield pair


@pytest.fixture
def requests(counted: tuple[bwnumbers.NumbersClient, RequestLog]) -> RequestLog:
    return counted[1]


def redis_missing() -> str | None:
    """Why a real Redis cannot be had here (no redis-server, no redis-py), or None."""
    if shutil.which("redis-server") is None:
        return "redis-server is not on PATH: install it (Debian: apt-get install redis-server)"
    if importlib.util.find_spec("redis") is None:
        return "redis-py is not installed: pip install -e '.[test]'"
    return None


@pytest.fixture
def redis_required() -> None:
    """Fail the test under CI (CI set), skip it elsewhere, without redis-server or redis-py."""
    reason = redis_missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture
async def redis_server(tmp_path: Path, redis_required: None) -> AsyncIterator[RedisServer]:
    """A real redis-server on a unix socket with its data in tmp_path; always stopped."""
    from tests.redis_server import RedisServer

    async with RedisServer(tmp_path) as server:
        yield server
