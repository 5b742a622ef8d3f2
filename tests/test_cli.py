"""The bwnumbers command: demo, and search / order / order-status on the emulator."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import subprocess
import sys

import pytest

from bwnumbers import cli
from bwnumbers._cli._logging import logging_for

SECRET_API = "api-Pa55-for-test"
SECRET_CALLBACK = "cb-Pa55-for-test"


@pytest.fixture
def known_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the demo's random passwords known, so the test can look for them."""
    values = iter([SECRET_CALLBACK, SECRET_API])
    real = secrets.token_urlsafe
    # Later draws (the emulator's OAuth client secret, token ids) stay random.
    monkeypatch.setattr("secrets.token_urlsafe", lambda n=None: next(values, None) or real(n))


GUIDE_STEPS = {  # reference/ordering-guide.md, "Steps"
    1: "Create Subscription",
    2: "Search for Phone Numbers",
    3: "Create order for Phone Numbers",
    4: "Receive HTTP Callback with order status",
    5: "Fetch information about order (optional)",
}


def test_demo_text(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo walks the whole guide in numbered steps, recovers from the conflict, exits 0."""
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    headings = re.findall(r"^(\d+)\. (.+?)(?: \(ordering guide step (\d)\))?$", out, re.MULTILINE)
    assert [int(number) for number, _, _ in headings] == list(range(1, 12))
    guide = {int(step): title for _, title, step in headings if step}
    assert guide == GUIDE_STEPS
    assert re.search(r"^    \[\s*\d+ ms\] ", out, re.MULTILINE)
    assert "FAILED with 5005" in out
    assert "learned by callback" in out
    assert "valid 3600 s" in out
    assert "11. Summary" in out
    assert re.search(r"Disconnect \S+ is RECEIVED\s+\(from the response\)", out)
    assert re.search(r"Disconnect \S+ is COMPLETE:\s+\d{10} is released", out)


@pytest.mark.parametrize("verbose", [[], ["--verbose"]])
def test_demo_fits_an_80_column_terminal(
    verbose: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """No line of the demo's output is longer than 80 characters."""
    assert cli.main(["demo", *verbose]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 80, max(lines, key=len)


def test_demo_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints JSON Lines: one object per line, with step numbers, ids and statuses."""
    assert cli.main(["demo", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(isinstance(r, dict) for r in records)
    complete = [r for r in records if r["step"] == "order-complete"]
    assert len(complete) == 2
    assert all(r["status"] == "COMPLETE" and len(r["numbers"]) == 1 for r in complete)
    (failed,) = [r for r in records if r["step"] == "order-failed"]
    assert failed["codes"] == [5005]
    assert records[-1]["orders"] == 3
    assert records[-1]["waiting"] == 0
    (token,) = [r for r in records if r["step"] == "token"]
    assert token["lifetime_s"] == 3600
    assert token["token_url"].endswith("/api/v1/oauth2/token")
    assert records[-1]["token_requests"] == 1  # one token for the whole run
    assert all(isinstance(r["elapsed_ms"], float) for r in records)
    guide = {r["guide_step"]: r["title"] for r in records if r["guide_step"]}
    assert guide == GUIDE_STEPS
    assert [r["phase"] for r in records] == sorted(r["phase"] for r in records)
    # The number's whole life: two in service, one released, one left.
    before, after = (r for r in records if r["step"].startswith("in-service"))
    (released,) = [r for r in records if r["step"] == "release-complete"]
    assert released["status"] == "COMPLETE"
    assert released["numbers"] == [complete[0]["numbers"][0]]
    assert sorted(before["numbers"]) == sorted(r["numbers"][0] for r in complete)
    assert after["numbers"] == [complete[1]["numbers"][0]]


def test_demo_help_says_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """`bwnumbers demo --help` says that --json prints JSON Lines."""
    assert cli.main(["demo", "--help"]) == 0
    assert "JSON Lines" in capsys.readouterr().out


def test_demo_verbose_leaks_no_secret(
    known_secrets: None, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """--verbose logs the XML exchanged without any password or Authorization value."""
    caplog.set_level(logging.DEBUG)
    assert cli.main(["demo", "--verbose"]) == 0
    captured = capsys.readouterr()
    text = caplog.text + captured.out + captured.err
    assert "<Order>" in text
    assert "<Password>***</Password>" in text
    for secret in (SECRET_API, SECRET_CALLBACK, "Authorization"):
        assert secret not in text
    assert not re.search(r"Basic [A-Za-z0-9+/]{8,}", text)


def test_demo_verbose_shows_the_challenge_and_pretty_xml(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--verbose shows each callback's 401 challenge and retry, XML one element per line,
    and none of asyncio's own debug lines."""
    assert cli.main(["demo", "--verbose"]) == 0
    err = capsys.readouterr().err
    assert re.search(
        r"Callback POST \S+ without credentials: the receiver answered 401 with "
        r'WWW-Authenticate: Basic realm="[^"]*"',
        err,
    )
    assert "Callback POST /bandwidth/callbacks with credentials: the receiver answered 200" in err
    assert "POST /orders request body:\n    <?xml" in err
    assert "\n    <Order>\n      <CustomerOrderId>" in err
    assert "Using selector" not in err
    assert not err.startswith("asyncio")


def test_demo_runs_as_a_module() -> None:
    """`python -m bwnumbers demo` works the same and exits 0."""
    done = subprocess.run(
        [sys.executable, "-m", "bwnumbers", "demo"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Done: two numbers ordered" in done.stdout


def test_search_on_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    """search prints one number per line, or with --details a table under a header line."""
    assert cli.main(["search", "--emulator", "--npa-nxx", "540551", "--quantity", "3"]) == 0
    numbers = capsys.readouterr().out.split()
    assert len(numbers) == 3
    assert cli.main(["search", "--emulator", "--state", "NJ", "--quantity", "2", "--details"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["NUMBER", "CITY", "STATE", "RATE", "CENTER", "LATA"]
    assert len(rows) == 2
    assert all(row.index("NJ") == header.index("STATE") for row in rows)
    assert "RIDGEWOOD" in rows[0]


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["search", "--emulator", "--rate-center", "CARY"], "--rate-center requires --state", 6),
        (["order", "--emulator", "--site-id", "999", "5402278098"], "5016", 1),
        (["order", "--emulator", "--site-id", "743", "123"], "not a valid", 6),
        (["search", "--npa-nxx", "540551"], "BW_ACCOUNT_ID", 6),
    ],
)
def test_errors_are_one_line(
    argv: list[str],
    message: str,
    code: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Errors print one clear line and exit with their code, never a traceback."""
    for name in ("BW_ACCOUNT_ID", "BW_CLIENT_ID", "BW_CLIENT_SECRET", "BW_USERNAME",
                 "BW_PASSWORD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    (error,) = [line for line in err.splitlines() if ": error: " in line]
    assert message in error
    assert error == err.splitlines()[-1]
    assert "Traceback" not in err


async def test_sdk_warnings_are_one_line_and_left_out_while_interrupted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An SDK warning is a `bwnumbers CMD: warning:` line, except while Ctrl-C unwinds the
    command, which then says itself what it left behind."""
    log = logging.getLogger("bwnumbers.ordering")

    async def interrupted_order() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            log.warning("Order o-1 was cancelled while it waited")
            raise

    with logging_for("order", verbose=False):
        log.warning("Polling order o-1 failed; trying again")
        task = asyncio.create_task(interrupted_order())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert capsys.readouterr().err == (
        "bwnumbers order: warning: Polling order o-1 failed; trying again\n"
    )


def test_demo_shows_the_wait_for_a_rate_limit(capsys: pytest.CaptureFixture[str]) -> None:
    """With the emulator's orders limited, the demo shows the wait and until when."""
    assert cli.main(["demo", "--json", "--order-limit", "1/2"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    waits = [r for r in records if r["step"] == "rate-limit"]
    assert waits  # three orders, one allowed per 2-second window: at least one waits
    assert re.search(r"ORDER: .* wait until \d\d:\d\d:\d\d UTC", waits[0]["message"])
    assert records[-1]["orders"] == 3
