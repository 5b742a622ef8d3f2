"""The test harness for running several instances on Redis, tested for real.

A real redis-server (tests/redis_server.py), a load balancer in front of real receivers
(tests/load_balancer.py) and a faulty TCP proxy in front of Redis (tests/tcp_proxy.py): the
parts the Redis tests stand on, so a failure there is not mistaken for one of bwnumbers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from bwnumbers import CallbackReceiver, OrderWaiters, PollPolicy, ResultSource, order_and_wait
from bwnumbers.testing import BandwidthEmulator
from tests.load_balancer import LoadBalancer
from tests.receivers import RecordingReceiver
from tests.redis_server import MAX_SOCKET_PATH, RedisServer, RedisServerError
from tests.tcp_proxy import DelayProxy

CB_USER, CB_PASSWORD = "bandwidth", "cb-secret-lb"
#: A client that reports every lost connection instead of reconnecting behind the caller's back.
NO_RETRIES = Retry(NoBackoff(), 0)


# -- RedisServer ---------------------------------------------------------------------------


async def test_fixture_gives_a_running_server_marked_redis(
    redis_server: RedisServer, request: pytest.FixtureRequest
) -> None:
    """The fixture's server answers on its unix socket URL, and the test got the redis marker."""
    assert redis_server.running
    assert redis_server.pid is not None
    assert redis_server.url == f"unix://{redis_server.socket_path}"
    client: Redis = Redis.from_url(redis_server.url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
    assert request.node.get_closest_marker("redis") is not None


async def test_stop_kill_and_start_again(redis_server: RedisServer) -> None:
    """stop() and kill() end the process; start() brings it back on the same socket."""
    first = redis_server.pid
    await redis_server.stop()
    assert (redis_server.running, redis_server.pid) == (False, None)
    await redis_server.start()
    assert redis_server.pid not in (None, first)
    await redis_server.kill()
    assert not redis_server.running
    await redis_server.start()
    async with redis_server.inspect() as inspector:
        assert await inspector.ping()


async def test_listens_on_the_unix_socket_only(redis_server: RedisServer) -> None:
    """--port 0 disables TCP: Redis reports no TCP port, so no test races for one."""
    async with redis_server.inspect() as inspector:
        config = await inspector.config_get("port")
        policy = await inspector.config_get("maxmemory-policy")
    assert config == {"port": "0"}
    assert policy == {"maxmemory-policy": "noeviction"}


async def test_debug_sleep_is_allowed(redis_server: RedisServer) -> None:
    """DEBUG SLEEP, which stall tests use to hang Redis, is enabled (Redis 7 refuses it)."""
    async with redis_server.inspect() as inspector:
        assert await inspector.execute_command("DEBUG", "SLEEP", "0")


@pytest.mark.usefixtures("redis_required")
async def test_restart_keeps_data_with_aof_and_empties_without(tmp_path: Path) -> None:
    """With appendonly, a killed Redis comes back with its data; keep_data=False, empty."""
    async with RedisServer(tmp_path, appendonly=True) as server:
        async with server.inspect() as inspector:
            await inspector.set("kept", "1")
        await server.restart()
        async with server.inspect() as inspector:
            assert await inspector.get("kept") == "1"
        await server.restart(keep_data=False)
        async with server.inspect() as inspector:
            assert await inspector.dbsize() == 0


@pytest.mark.usefixtures("redis_required")
async def test_start_failure_shows_the_log(tmp_path: Path) -> None:
    """A Redis that cannot start raises RedisServerError with the end of its log."""
    server = RedisServer(tmp_path, extra_args=["--no-such-directive", "1"])
    with pytest.raises(RedisServerError, match="no-such-directive"):
        async with server:
            pass  # pragma: no cover
    assert not server.running


@pytest.mark.usefixtures("redis_required")
async def test_long_directory_gets_a_short_socket_path(tmp_path: Path) -> None:
    """A data directory too long for a unix socket address gets a short socket dir, removed."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    server = RedisServer(deep)
    assert len(os.fsencode(server.socket_path)) <= MAX_SOCKET_PATH
    async with server, server.inspect() as inspector:
        assert await inspector.ping()
    assert not server.socket_path.parent.exists()


async def test_blip_cuts_a_client_without_retries(redis_server: RedisServer) -> None:
    """blip() kills the other connections: a client without retries sees ConnectionError."""
    victim = redis_server.client(single_connection_client=True, retry=NO_RETRIES)
    try:
        await victim.ping()
        assert await redis_server.client_count() == 1
        assert await redis_server.blip() == 1
        assert await redis_server.client_count() == 0
        with pytest.raises(RedisConnectionError):
            await victim.ping()
    finally:
        await victim.aclose()


# -- LoadBalancer ----------------------------------------------------------------------------


@pytest.fixture
async def recorders() -> AsyncIterator[list[RecordingReceiver]]:
    async with RecordingReceiver() as a, RecordingReceiver() as b, RecordingReceiver() as c:
        yield [a, b, c]


async def post_many(url: str, count: int) -> list[int]:
    async with aiohttp.ClientSession() as session:
        statuses = []
        for number in range(count):
            async with session.post(url, data=f"<n>{number}</n>".encode()) as response:
                statuses.append(response.status)
        return statuses


async def test_load_balancer_spreads_posts_by_seed(recorders: list[RecordingReceiver]) -> None:
    """100 POSTs reach all 3 targets, as counted, with the same spread for the same seed."""
    targets = [recorder.url for recorder in recorders]
    async with LoadBalancer(targets, seed=7) as balancer:
        assert await post_many(balancer.url, 100) == [200] * 100
        first = dict(balancer.counts)
    assert sorted(first) == sorted(targets)
    assert all(count > 0 for count in first.values())
    assert {r.url: len(r.requests) for r in recorders} == first
    bodies = sorted(request.body for r in recorders for request in r.requests)
    assert bodies == sorted(f"<n>{number}</n>".encode() for number in range(100))
    async with LoadBalancer(targets, seed=7) as again:
        await post_many(again.url, 100)
    assert again.counts == first


async def test_load_balancer_skips_a_dead_target(recorders: list[RecordingReceiver]) -> None:
    """A target refusing connections is skipped for another; with none alive, 502."""
    async with RecordingReceiver() as gone:
        dead = gone.url
    live = recorders[0].url
    async with LoadBalancer([dead, live], seed=1) as balancer:
        assert await post_many(balancer.url, 10) == [200] * 10
        assert balancer.counts == {live: 10}
        balancer.set_targets([dead])
        assert await post_many(balancer.url, 1) == [502]


async def test_load_balancer_keeps_the_path(recorders: list[RecordingReceiver]) -> None:
    """A POST keeps its path through it: a path the target does not serve gets its 404."""
    async with LoadBalancer([recorders[0].url], seed=4) as balancer:
        assert balancer.url.endswith("/cb")
        assert await post_many(balancer.url.replace("/cb", "/elsewhere"), 1) == [404]
        assert await post_many(balancer.url, 1) == [200]
    assert len(recorders[0].requests) == 1


async def test_load_balancer_set_targets(recorders: list[RecordingReceiver]) -> None:
    """After set_targets, POSTs go to the new targets only."""
    async with LoadBalancer([recorders[0].url], seed=2) as balancer:
        await post_many(balancer.url, 3)
        balancer.set_targets([recorders[1].url])
        await post_many(balancer.url, 4)
    assert balancer.counts == {recorders[0].url: 3, recorders[1].url: 4}


async def test_load_balancer_passes_the_challenge(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """Bandwidth's 401 challenge flow works through it: the callback resolves the order."""
    waiters = OrderWaiters()  # shared, so the callback resolves wherever it lands
    async with (
        CallbackReceiver(username=CB_USER, password=CB_PASSWORD, waiters=waiters) as a,
        CallbackReceiver(username=CB_USER, password=CB_PASSWORD, waiters=waiters) as b,
        LoadBalancer([a.url, b.url], seed=3) as balancer,
        bandwidth_emulator.client() as client,
    ):
        async with aiohttp.ClientSession() as session, session.post(balancer.url) as refused:
            assert refused.status == 401
            assert refused.headers["WWW-Authenticate"] == 'Basic realm="bwnumbers"'
        await client.ensure_subscription(balancer.url, username=CB_USER, password=CB_PASSWORD)
        result = await order_and_wait(
            client,
            a,
            site_id="743",
            numbers=["5402278098"],
            polling=PollPolicy(first_poll=5, interval=5),
        )
    assert result.source is ResultSource.CALLBACK
    assert bandwidth_emulator.deliveries
    assert all(d.authenticated and d.http_status == 200 for d in bandwidth_emulator.deliveries)


# -- DelayProxy ------------------------------------------------------------------------------


async def test_proxy_relays_and_pauses(redis_server: RedisServer) -> None:
    """Commands pass the proxy, delayed or not; paused, one times out; resumed, they pass."""
    async with DelayProxy(redis_server.socket_path) as proxy:
        client: Redis = Redis.from_url(proxy.url, decode_responses=True)
        try:
            assert await client.ping()
            proxy.delay = 0.01
            assert await client.set("k", "v")
            proxy.delay = 0.0
            proxy.pause()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await client.get("k")
            proxy.resume()
            assert await client.get("k") == "v"
        finally:
            await client.aclose()


async def test_proxy_drop_closes_connections(redis_server: RedisServer) -> None:
    """drop() closes every relayed connection: a client without retries sees ConnectionError."""
    async with DelayProxy(redis_server.socket_path) as proxy:
        client: Redis = Redis.from_url(proxy.url, single_connection_client=True, retry=NO_RETRIES)
        try:
            await client.ping()
            assert await proxy.drop() == 1
            assert proxy.connection_count == 0
            with pytest.raises(RedisConnectionError):
                await client.ping()
        finally:
            await client.aclose()


# -- the redis_required fixture ----------------------------------------------------------------


# A pytest.fail() in a fixture counts as an error of the test.
@pytest.mark.parametrize(("ci", "outcome"), [("true", "errors"), ("", "skipped")])
def test_without_redis_server_fails_under_ci_and_skips_elsewhere(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    """With no redis-server on PATH a Redis test fails when CI is set, else skips, saying why."""
    monkeypatch.setenv("PATH", str(pytester.path))  # an empty directory: no redis-server
    monkeypatch.setenv("CI", ci)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest("from tests.conftest import redis_required  # noqa: F401")
    pytester.makepyfile(test_inner="def test_needs_redis(redis_required):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rfs")
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines(["*redis-server is not on PATH*"])
