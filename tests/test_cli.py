"""The bwnumbers command: demo, and search / order / order-status on the emulator."""

from __future__ import annotations

import json
import logging
import re
import secrets
import subprocess
import sys

import pytest

from bwnumbers import cli

SECRET_API = "api-Pa55-for-test"
SECRET_CALLBACK = "cb-Pa55-for-test"


@pytest.fixture
def known_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the demo's random passwords known, so the test can look for them."""
    values = iter([SECRET_CALLBACK, SECRET_API])
    real = secrets.token_urlsafe
    # Later draws (the emulator's OAuth client secret, token ids) stay random.
    monkeypatch.setattr("secrets.token_urlsafe", lambda n=None: next(values, None) or real(n))


def test_demo_text(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo walks the whole guide, recovers from the conflict and exits 0."""
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    steps = [re.sub(r"^\[\s*\d+ ms\]\s+", "", line).split()[0] for line in out.splitlines()]
    assert steps == [
        "emulator", "token", "receiver", "subscription", "search", "order-status", "order-complete",
        "fetch", "contention", "order-status", "order-failed", "search-again", "order-status",
        "order-complete", "done",
    ]  # fmt: skip
    assert re.search(r"^\[\s*\d+ ms\] ", out, re.MULTILINE)
    assert "FAILED with 5005" in out
    assert "learned by callback" in out
    assert "valid 3600 s" in out


def test_demo_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one JSON object per step with ids, statuses and numbers."""
    assert cli.main(["demo", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
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


def test_demo_runs_as_a_module() -> None:
    """`python -m bwnumbers demo` works the same and exits 0."""
    done = subprocess.run(
        [sys.executable, "-m", "bwnumbers", "demo"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "done" in done.stdout


def test_search_on_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    """search prints one number per line (or details)."""
    assert cli.main(["search", "--emulator", "--npa-nxx", "540551", "--quantity", "3"]) == 0
    numbers = capsys.readouterr().out.split()
    assert len(numbers) == 3
    assert cli.main(["search", "--emulator", "--state", "NJ", "--quantity", "1", "--details"]) == 0
    assert "RIDGEWOOD, NJ" in capsys.readouterr().out


def test_order_on_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    """order places the order; with --wait it prints the final status."""
    assert cli.main(["order", "--emulator", "--site-id", "743", "5402278098"]) == 0
    assert "RECEIVED" in capsys.readouterr().out
    assert cli.main(["order", "--emulator", "--site-id", "743", "(540) 227-8098", "--wait"]) == 0
    assert re.search(r"order \S+ COMPLETE 5402278098", capsys.readouterr().out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["order-status", "--emulator", "nope"], "HTTP 404"),
        (["search", "--emulator", "--rate-center", "CARY"], "requires state"),
        (["order", "--emulator", "--site-id", "999", "5402278098"], "5016"),
        (["order", "--emulator", "--site-id", "743", "123"], "not a valid"),
        (["search", "--npa-nxx", "540551"], "BW_ACCOUNT_ID"),
    ],
)
def test_errors_are_one_line(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Errors print one clear line and exit 1, never a traceback."""
    for name in ("BW_ACCOUNT_ID", "BW_CLIENT_ID", "BW_CLIENT_SECRET", "BW_USERNAME",
                 "BW_PASSWORD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_order_status_on_a_fresh_emulator_explains(capsys: pytest.CaptureFixture[str]) -> None:
    """Every --emulator run starts empty, so order-status finds nothing: said in one line."""
    assert cli.main(["order-status", "--emulator", "x"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_demo_shows_the_wait_for_a_rate_limit(capsys: pytest.CaptureFixture[str]) -> None:
    """With the emulator's orders limited, the demo shows the wait and until when."""
    assert cli.main(["demo", "--json", "--order-limit", "1/2"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    waits = [r for r in records if r["step"] == "rate-limit"]
    assert waits  # three orders, one allowed per 2-second window: at least one waits
    assert re.search(r"ORDER: .* wait until \d\d:\d\d:\d\d UTC", waits[0]["message"])
    assert records[-1]["orders"] == 3
