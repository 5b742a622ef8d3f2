"""The emulator's rate limits: the bucket on a fake clock, the 429s over raw HTTP, the CLI flags."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bwnumbers.cli import build_parser
from bwnumbers.testing import BandwidthEmulator, RateLimit, RateLimitCounts, _ratelimit
from bwnumbers.testing._ratelimit import RateLimiter, group_of, reset_headers

XML = {"Content-Type": "application/xml"}
START = 1_800_000_000.0
"""A fake epoch time at the start of a one-second (and a ten-second) window."""

ORDER = (
    "<Order><CustomerOrderId>{cid}</CustomerOrderId><Name>Test</Name>"
    "<ExistingTelephoneNumberOrderType><TelephoneNumberList>"
    "<TelephoneNumber>{number}</TelephoneNumber>"
    "</TelephoneNumberList></ExistingTelephoneNumberOrderType><SiteId>743</SiteId></Order>"
)
SEARCH = "/availableNumbers?areaCode=540&quantity=1"


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The rate-limit clock, replaced: move time by changing ``now[0]`` (epoch seconds)."""
    fake = [START + 0.25]
    monkeypatch.setattr(_ratelimit, "clock", lambda: fake[0])
    return fake


def counts(limiter: RateLimiter, group: str) -> tuple[int, int, dict[int, int]]:
    """accepted, refused and refusals per window of *group*, as plain values."""
    c = limiter.counts()[group]
    return c.accepted, c.refused, dict(c.refused_per_window)


def admitted(limiter: RateLimiter, times: int, group: str = "ORDER", account: str = "a") -> int:
    """How many of *times* requests *limiter* admits right now."""
    return sum(limiter.take(account, group) is None for _ in range(times))  # type: ignore[arg-type]


# ---------------------------------------------------------------- RateLimit


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"per_window": 0}, ValueError),
        ({"per_window": 1, "window": 0}, ValueError),
        ({"per_window": 1, "burst": -1}, ValueError),
        ({"per_window": 1, "window": 1.5}, TypeError),
        ({"per_window": True}, TypeError),
        ({"per_window": "20"}, TypeError),
    ],
)
def test_rate_limit_validates(fields: dict[str, object], error: type[Exception]) -> None:
    """per_window ≥ 1, window a whole number of seconds ≥ 1 and burst ≥ 0, or a sentence why not."""
    with pytest.raises(error, match=r"RateLimit \w+ must be .*\.$"):
        RateLimit(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20", RateLimit(per_window=20)),
        ("20/1", RateLimit(per_window=20, window=1)),
        ("20/1+5", RateLimit(per_window=20, window=1, burst=5)),
        ("20+5", RateLimit(per_window=20, burst=5)),
        (" 100/60+700 ", RateLimit(per_window=100, window=60, burst=700)),
    ],
)
def test_rate_limit_parse(text: str, expected: RateLimit) -> None:
    """PER_WINDOW[/WINDOW][+BURST] parses, with window 1 and burst 0 by default."""
    assert RateLimit.parse(text) == expected


@pytest.mark.parametrize("text", ["", "x", "20/", "20/1+", "/1", "1.5", "-1", "20 / 1", "²", "0"])
def test_rate_limit_parse_refuses(text: str) -> None:
    """Anything else is a ValueError whose one-line message names the text."""
    with pytest.raises(ValueError, match="rate limit") as info:
        RateLimit.parse(text)
    assert repr(text) in str(info.value)
    assert "\n" not in str(info.value)


def test_rate_limit_str() -> None:
    """str() is the line `bwnumbers emulator` prints; capacity is per_window + burst."""
    limit = RateLimit(per_window=20, burst=5)
    assert str(limit) == "20 per 1 s, burst 5"
    assert limit.capacity == 25


# ---------------------------------------------------------------- the bucket, on a fake clock


def test_fresh_bucket_admits_per_window_plus_burst(now: list[float]) -> None:
    """A fresh bucket is full: per_window + burst requests pass, the next is refused."""
    limiter = RateLimiter({"ORDER": RateLimit(per_window=3, burst=2)})
    assert admitted(limiter, 10) == 5
    assert counts(limiter, "ORDER") == (5, 5, {int(START): 5})


def test_refusal_gives_the_end_of_the_aligned_window(now: list[float]) -> None:
    """The reset is the end of the window aligned to epoch seconds, not the first use plus W."""
    limiter = RateLimiter({"ORDER": RateLimit(per_window=1, window=60)})
    now[0] = START + 45.5  # windows are [k*60, (k+1)*60); START is a multiple of 60
    assert limiter.take("a", "ORDER") is None
    assert limiter.take("a", "ORDER") == START + 60
    assert counts(limiter, "ORDER")[2] == {int(START): 1}


def test_refill_happens_at_the_window_boundary_only(now: list[float]) -> None:
    """Tokens arrive exactly at the start of the next window, not a moment before."""
    limiter = RateLimiter({"ORDER": RateLimit(per_window=2, window=10)})
    assert admitted(limiter, 3) == 2
    now[0] = START + 9.999
    assert admitted(limiter, 1) == 0
    now[0] = START + 10.0
    assert admitted(limiter, 3) == 2
    assert counts(limiter, "ORDER") == (4, 3, {int(START): 2, int(START) + 10: 1})


def test_unused_allowance_carries_over_up_to_burst(now: list[float]) -> None:
    """Unused tokens carry over, but a bucket never holds more than per_window + burst."""
    limiter = RateLimiter({"ORDER": RateLimit(per_window=2, burst=3)})
    assert admitted(limiter, 5) == 5
    now[0] += 1
    assert admitted(limiter, 1) == 1  # 1 of this window's 2 left over
    now[0] += 1
    assert admitted(limiter, 10) == 3  # the 1 left over plus 2 new
    now[0] += 100  # a long pause refills to the cap, not to 200 tokens
    assert admitted(limiter, 10) == 5


def test_clock_going_back_credits_nothing(now: list[float]) -> None:
    """A clock stepping backwards neither refills the bucket nor breaks it."""
    limiter = RateLimiter({"ORDER": RateLimit(per_window=1)})
    assert admitted(limiter, 2) == 1
    now[0] -= 5
    assert admitted(limiter, 1) == 0
    now[0] += 6
    assert admitted(limiter, 2) == 1


def test_buckets_are_per_account_and_group(now: list[float]) -> None:
    """Each (account, group) has its own bucket; an unlimited group is counted but never refused."""
    limiter = RateLimiter({"ORDER": RateLimit(per_window=1), "SEARCH": RateLimit(per_window=1)})
    assert admitted(limiter, 2, "ORDER", "a") == 1
    assert admitted(limiter, 2, "ORDER", "b") == 1
    assert admitted(limiter, 2, "SEARCH", "a") == 1
    assert admitted(limiter, 50, "DISCONNECT", "a") == 50
    assert limiter.take("a", None) is None
    assert {g: (c.accepted, c.refused) for g, c in limiter.counts().items()} == {
        "ORDER": (2, 2),
        "SEARCH": (1, 1),
        "DISCONNECT": (50, 0),
    }


def test_new_limits_replace_the_buckets_and_keep_the_counts(now: list[float]) -> None:
    """Assigning limits starts full buckets at once; counters carry on; None turns limiting off."""
    limiter = RateLimiter({"ORDER": RateLimit(per_window=1)})
    assert admitted(limiter, 2) == 1
    limiter.limits = {"ORDER": RateLimit(per_window=3)}
    assert admitted(limiter, 5) == 3
    limiter.limits = None
    assert admitted(limiter, 5) == 5
    assert dict(limiter.limits) == {}
    assert counts(limiter, "ORDER") == (9, 3, {int(START): 3})


def test_counts_are_a_snapshot(now: list[float]) -> None:
    """rate_limit_counts does not change under the caller, nor can the caller change it."""
    limiter = RateLimiter({"ORDER": RateLimit(per_window=1)})
    admitted(limiter, 2)
    before = limiter.counts()
    admitted(limiter, 2)
    assert before["ORDER"] == RateLimitCounts(
        accepted=1, refused=1, refused_per_window={int(START): 1}
    )
    assert before["ORDER"].max_refused_per_window == 1
    assert limiter.counts()["ORDER"].max_refused_per_window == 3
    assert RateLimitCounts().max_refused_per_window == 0
    with pytest.raises(TypeError):
        before["ORDER"].refused_per_window[0] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("limits", "error", "message"),
    [
        ({"ORDERS": RateLimit(per_window=1)}, ValueError, "'ORDERS' is not an endpoint group"),
        ({"order": RateLimit(per_window=1)}, ValueError, "'order' is not an endpoint group"),
        ({"SEARCH": 5}, TypeError, "must be a RateLimit"),
    ],
)
def test_unknown_groups_are_refused(
    limits: dict[str, object], error: type[Exception], message: str
) -> None:
    """Keys must be ORDER, SEARCH or DISCONNECT and values RateLimits, in the emulator too."""
    with pytest.raises(error, match=message):
        BandwidthEmulator(rate_limits=limits)  # type: ignore[arg-type]
    emulator = BandwidthEmulator()
    with pytest.raises(error, match=message):
        emulator.rate_limits = limits  # type: ignore[assignment]


# ---------------------------------------------------------------- groups and headers


def test_groups_come_from_method_and_route_template() -> None:
    """Exactly POST/PUT orders, GET (and HEAD) availableNumbers and POST disconnects are grouped;
    no other route is."""
    emulator = BandwidthEmulator()
    root = "/api/accounts/{account_id}"
    grouped = {
        (route.method, route.resource.canonical): group_of(route.method, route.resource.canonical)
        for route in emulator.app.router.routes()
        if route.resource is not None
    }
    # The same routes below /api/v1, the specification's root, are in the same groups.
    assert {key: group for key, group in grouped.items() if group is not None} == {
        (method, f"{api}/accounts/{{account_id}}{path}"): group
        for api in ("/api", "/api/v1")
        for method, path, group in [
            ("POST", "/orders", "ORDER"),
            ("PUT", "/orders/{id}", "ORDER"),
            ("GET", "/availableNumbers", "SEARCH"),
            ("HEAD", "/availableNumbers", "SEARCH"),
            ("POST", "/disconnects", "DISCONNECT"),
        ]
    }
    for never in [
        ("GET", f"{root}/orders"),
        ("GET", f"{root}/orders/{{id}}"),
        ("GET", f"{root}/orders/{{id}}/history"),
        ("POST", f"{root}/subscriptions"),
        ("GET", f"{root}/disconnects"),
        ("GET", f"{root}/disconnects/{{id}}"),
        ("*", "/api/v1/oauth2/token"),
    ]:
        assert never in grouped
        assert grouped[never] is None
    assert group_of("POST", f"{root}/disconnects") == "DISCONNECT"
    assert group_of("GET", f"{root}/orders/orders") is None  # a template, never a path
    assert group_of("POST", None) is None


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("seconds", {"X-RateLimit-Reset": "1800000001"}),
        ("milliseconds", {"X-RateLimit-Reset": "1800000001000"}),
        ("delta", {"X-RateLimit-Reset": "1"}),
        ("missing", {}),
        ("garbled", {"X-RateLimit-Reset": "soon"}),
        ("past", {"X-RateLimit-Reset": "1799999995"}),
    ],
)
def test_reset_header_styles(style: _ratelimit.ResetHeader, expected: dict[str, str]) -> None:
    """Each rate_limit_header style writes the reset time as documented."""
    assert reset_headers(style, START + 1, now=START + 0.25) == expected


def test_reset_header_rounds_up() -> None:
    """A reset between whole seconds (or milliseconds) is rounded up, so waiting is never short."""
    assert reset_headers("seconds", START + 0.05, now=START) == {"X-RateLimit-Reset": "1800000001"}
    assert reset_headers("milliseconds", START + 0.0501, now=START) == {
        "X-RateLimit-Reset": "1800000000051"
    }
    assert reset_headers("delta", START + 0.05, now=START) == {"X-RateLimit-Reset": "1"}


def test_rate_limit_header_is_validated() -> None:
    """faults.rate_limit_header refuses a style it does not know."""
    emulator = BandwidthEmulator()
    with pytest.raises(ValueError, match="rate_limit_header"):
        emulator.faults.rate_limit_header = "minutes"  # type: ignore[assignment]


# ---------------------------------------------------------------- over HTTP


class Api:
    """Raw HTTP to one emulator account: status, headers and body bytes."""

    def __init__(self, emulator: BandwidthEmulator, session: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.session = session
        self.auth = aiohttp.BasicAuth(emulator.username, emulator.password)
        self.orders = 0

    async def call(
        self,
        method: str,
        path: str,
        body: str | None = None,
        *,
        account: str | None = None,
        auth: aiohttp.BasicAuth | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        url = f"{self.emulator.base_url}/accounts/{account or self.emulator.account_id}{path}"
        async with self.session.request(
            method, url, data=body, auth=auth or self.auth, headers=XML if body else None
        ) as response:
            return response.status, dict(response.headers), await response.read()

    async def order(
        self, *, account: str | None = None, auth: aiohttp.BasicAuth | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """POST an order for a number no earlier call of this test used."""
        self.orders += 1
        body = ORDER.format(cid=f"rl-{self.orders}", number=f"54022780{self.orders:02d}")
        return await self.call("POST", "/orders", body, account=account, auth=auth)

    async def search(self) -> int:
        """GET a search; its status."""
        return (await self.call("GET", SEARCH))[0]


@pytest.fixture
async def api(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[Api]:
    """Raw, authenticated HTTP to the emulator."""
    async with aiohttp.ClientSession() as session:
        yield Api(bandwidth_emulator, session)


async def test_refused_order_is_not_executed(
    api: Api, bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """Over the ORDER limit: 429, empty body, reset at the window's end, and no order made."""
    bandwidth_emulator.rate_limits = {"ORDER": RateLimit(per_window=1)}
    assert (await api.order())[0] == 201
    status, headers, body = await api.order()
    assert (status, body) == (429, b"")
    assert headers["X-RateLimit-Reset"] == "1800000001"
    assert "Content-Type" not in headers or "xml" not in headers["Content-Type"]
    assert bandwidth_emulator.order_count == 1
    assert bandwidth_emulator.orders_with_customer_order_id("rl-2") == []


async def test_refused_close_is_not_executed(
    api: Api, bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """PUT /orders/{id} is in the ORDER group: a refused close leaves the backorder open."""
    backorder = (
        "<Order><Name>Back</Name><AreaCodeSearchAndOrderType><AreaCode>512</AreaCode>"
        "<Quantity>25</Quantity></AreaCodeSearchAndOrderType>"
        "<BackOrderRequested>true</BackOrderRequested><SiteId>743</SiteId></Order>"
    )
    status, headers, _ = await api.call("POST", "/orders", backorder)
    assert status == 201
    order_id = headers["Location"].rsplit("/", 1)[1]
    await bandwidth_emulator.settle()
    assert bandwidth_emulator.order_status(order_id) == "BACKORDERED"
    bandwidth_emulator.rate_limits = {"ORDER": RateLimit(per_window=1)}
    assert (await api.order())[0] == 201
    close = "<Order><CloseOrder>true</CloseOrder></Order>"
    status, _, body = await api.call("PUT", f"/orders/{order_id}", close)
    assert (status, body) == (429, b"")
    assert bandwidth_emulator.order_status(order_id) == "BACKORDERED"
    now[0] += 1
    assert (await api.call("PUT", f"/orders/{order_id}", close))[0] == 200
    assert bandwidth_emulator.order_status(order_id) == "FAILED"


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("seconds", "1800000010"),
        ("milliseconds", "1800000010000"),
        ("delta", "3"),
        ("missing", None),
        ("garbled", "soon"),
        ("past", "1800000002"),
    ],
)
async def test_reset_header_over_http(
    api: Api,
    bandwidth_emulator: BandwidthEmulator,
    now: list[float],
    style: _ratelimit.ResetHeader,
    expected: str | None,
) -> None:
    """A SEARCH refusal sends X-RateLimit-Reset as faults.rate_limit_header says."""
    bandwidth_emulator.rate_limits = {"SEARCH": RateLimit(per_window=1, window=10)}
    bandwidth_emulator.faults.rate_limit_header = style
    now[0] = START + 7.5
    assert await api.search() == 200
    status, headers, body = await api.call("GET", SEARCH)
    assert (status, body) == (429, b"")
    assert headers.get("X-RateLimit-Reset") == expected


async def test_rate_limit_next_follows_the_header_knob(
    api: Api, bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """The one-shot fault sends the same header styles, takes no token and is not counted."""
    bandwidth_emulator.rate_limits = {"SEARCH": RateLimit(per_window=1)}
    bandwidth_emulator.faults.rate_limit_next = 2
    bandwidth_emulator.faults.rate_limit_reset = 2.5
    assert (await api.call("GET", SEARCH))[1]["X-RateLimit-Reset"] == "1800000003"
    bandwidth_emulator.faults.rate_limit_header = "milliseconds"
    status, headers, body = await api.call("GET", SEARCH)
    assert (status, headers["X-RateLimit-Reset"]) == (429, "1800000002750")
    assert b"Too many requests" in body  # the fault's XML body, as before
    assert await api.search() == 200
    search = bandwidth_emulator.rate_limit_counts["SEARCH"]
    assert (search.accepted, search.refused) == (1, 0)


async def test_groups_are_independent(
    api: Api, bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """An exhausted SEARCH bucket does not block orders, and the other way round."""
    bandwidth_emulator.rate_limits = {
        "SEARCH": RateLimit(per_window=2),
        "ORDER": RateLimit(per_window=1),
    }
    assert [await api.search() for _ in range(3)] == [200, 200, 429]
    assert [(await api.order())[0] for _ in range(2)] == [201, 429]
    assert await api.search() == 429
    now[0] += 1
    assert await api.search() == 200
    assert (await api.order())[0] == 201


async def test_unlimited_routes_are_never_refused(
    api: Api, bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """With every group exhausted, order reads, history, subscriptions and tokens still work."""
    one = RateLimit(per_window=1)
    bandwidth_emulator.rate_limits = {"ORDER": one, "SEARCH": one, "DISCONNECT": one}
    _, headers, _ = await api.order()
    order_path = "/orders/" + headers["Location"].rsplit("/", 1)[1]
    await api.search()
    assert (await api.order())[0] == 429
    assert await api.search() == 429
    subscription = (
        "<Subscription><OrderType>orders</OrderType><CallbackSubscription>"
        "<URL>http://127.0.0.1:9/cb</URL></CallbackSubscription></Subscription>"
    )
    for _ in range(3):
        assert (await api.call("GET", order_path))[0] == 200
        assert (await api.call("GET", "/orders"))[0] == 200
        assert (await api.call("GET", order_path + "/history"))[0] == 200
        assert (await api.call("GET", "/subscriptions"))[0] == 200
    assert (await api.call("POST", "/subscriptions", subscription))[0] == 201
    auth = aiohttp.BasicAuth(bandwidth_emulator.client_id, bandwidth_emulator.client_secret)
    for _ in range(3):
        async with api.session.post(
            bandwidth_emulator.token_url, data={"grant_type": "client_credentials"}, auth=auth
        ) as response:
            assert response.status == 200
    assert {g: c.refused for g, c in bandwidth_emulator.rate_limit_counts.items()} == {
        "ORDER": 1,
        "SEARCH": 1,
        "DISCONNECT": 0,
    }


async def test_foreign_account_is_refused_before_any_token(
    api: Api, bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """The emulator serves one account: another account's 403 comes first and costs no token."""
    bandwidth_emulator.rate_limits = {"ORDER": RateLimit(per_window=1)}
    for _ in range(3):
        assert (await api.order(account="1234567"))[0] == 403
    assert (await api.order())[0] == 201
    assert (await api.order())[0] == 429
    counts = bandwidth_emulator.rate_limit_counts["ORDER"]
    assert (counts.accepted, counts.refused) == (1, 1)


async def test_unauthenticated_requests_cost_nothing(
    api: Api, bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """A 401 is answered before the limiter: no token taken, nothing counted."""
    bandwidth_emulator.rate_limits = {"ORDER": RateLimit(per_window=1)}
    wrong = aiohttp.BasicAuth(bandwidth_emulator.username, "wrong-password")
    for _ in range(3):
        assert (await api.order(auth=wrong))[0] == 401
    assert (await api.order())[0] == 201
    counts = bandwidth_emulator.rate_limit_counts["ORDER"]
    assert (counts.accepted, counts.refused) == (1, 0)


async def test_counts_over_http(
    api: Api, bandwidth_emulator: BandwidthEmulator, now: list[float]
) -> None:
    """rate_limit_counts has every group and the refusals of each window by its start."""
    bandwidth_emulator.rate_limits = {"ORDER": RateLimit(per_window=1, window=2)}
    for _ in range(3):
        await api.order()
    now[0] += 2
    for _ in range(2):
        await api.order()
    await api.search()
    await api.call("GET", "/orders")
    counts = bandwidth_emulator.rate_limit_counts
    assert counts == {
        "ORDER": RateLimitCounts(
            accepted=2, refused=3, refused_per_window={int(START): 2, int(START) + 2: 1}
        ),
        "SEARCH": RateLimitCounts(accepted=1),
        "DISCONNECT": RateLimitCounts(),
    }
    assert counts["ORDER"].max_refused_per_window == 2
    assert bandwidth_emulator.order_count == 2


async def test_rate_limits_from_the_constructor_and_off_again(now: list[float]) -> None:
    """rate_limits= limits from the start; assigning None lifts every limit."""
    limits = {"SEARCH": RateLimit(per_window=1)}
    async with (
        BandwidthEmulator(rate_limits=limits) as emulator,
        aiohttp.ClientSession() as session,
    ):
        assert emulator.rate_limits == limits
        api = Api(emulator, session)
        assert [await api.search() for _ in range(2)] == [200, 429]
        emulator.rate_limits = None
        assert emulator.rate_limits == {}
        assert [await api.search() for _ in range(2)] == [200, 200]
    assert BandwidthEmulator().rate_limits == {}


async def test_the_client_waits_out_a_group_limit() -> None:
    """On the real clock, NumbersClient waits for the epoch-seconds reset and orders once each."""
    async with (
        BandwidthEmulator(rate_limits={"ORDER": RateLimit(per_window=1)}) as emulator,
        emulator.client() as client,
    ):
        for number in ("5402278098", "5402278099"):
            await client.create_order(site_id="743", numbers=[number])
        assert emulator.order_count == 2
        assert emulator.rate_limit_counts["ORDER"].accepted == 2


# ---------------------------------------------------------------- the command line


def test_cli_parses_limits() -> None:
    """--order-limit and --search-limit take PER_WINDOW[/WINDOW][+BURST]; the header a style."""
    args = build_parser().parse_args([
        "emulator", "--order-limit", "20/1+5", "--search-limit", "100/60+700",
        "--rate-limit-header", "milliseconds",
    ])  # fmt: skip
    assert args.order_limit == RateLimit(per_window=20, window=1, burst=5)
    assert args.search_limit == RateLimit(per_window=100, window=60, burst=700)
    assert args.rate_limit_header == "milliseconds"
    defaults = build_parser().parse_args(["emulator"])
    assert (defaults.order_limit, defaults.search_limit) == (None, None)
    assert defaults.rate_limit_header == "seconds"


@pytest.mark.parametrize(
    "argv",
    [
        ["--order-limit", "0"],
        ["--order-limit", "20/0"],
        ["--search-limit", "fast"],
        ["--search-limit", "20/1+"],
        ["--rate-limit-header", "minutes"],
    ],
)
def test_cli_refuses_bad_limits(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A bad value exits 2 with argparse's usage and one error line naming the option."""
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["emulator", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert errors[0].startswith(f"bwnumbers emulator: error: argument {argv[0]}: ")
    assert "Traceback" not in err


def test_cli_help_documents_the_syntax(capsys: pytest.CaptureFixture[str]) -> None:
    """`bwnumbers emulator --help` explains the limit syntax."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["emulator", "--help"])
    assert "PER_WINDOW[/WINDOW][+BURST]" in capsys.readouterr().out


async def test_cli_prints_and_applies_the_limits() -> None:
    """The limits are printed as key: value lines before the export line, and enforced."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bwnumbers", "emulator", "--order-limit", "2/1+1",
        "--search-limit", "1/3600", "--rate-limit-header", "milliseconds",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(20):
            while not (line := (await process.stdout.readline()).decode()).startswith("Serving"):
                assert line, "the emulator exited before serving"
                lines.append(line.rstrip("\n"))
        keys = [line.partition(":")[0] for line in lines[-5:-1]]
        assert keys == ["site_id", "order_limit", "search_limit", "rate_limit_header"]
        assert lines[-1].startswith("export ")
        settings = dict(line.split(":", 1) for line in lines[:-1])
        settings = {key: value.strip() for key, value in settings.items()}
        assert settings["order_limit"] == "2 per 1 s, burst 1"
        assert settings["search_limit"] == "1 per 3600 s, burst 0"
        assert settings["rate_limit_header"] == "milliseconds"
        url = f"{settings['base_url']}/accounts/{settings['account_id']}{SEARCH}"
        auth = aiohttp.BasicAuth(settings["username"], settings["password"])
        async with aiohttp.ClientSession() as session:
            # Three searches on a one-per-hour limit: at least one is refused, even across an
            # hour boundary.
            refusals = []
            for _ in range(3):
                async with session.get(url, auth=auth) as response:
                    if response.status == 429:
                        refusals.append(int(response.headers["X-RateLimit-Reset"]))
            assert refusals
            assert all(reset % 3_600_000 == 0 for reset in refusals)
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
