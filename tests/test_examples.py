"""Every example runs against the emulator and does what its docstring says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # Without BW_* the examples use the embedded emulator; without REDIS_URL,
    # several_instances.py starts a redis-server of its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BW_") and k != "REDIS_URL"}
    return subprocess.run(
        [sys.executable, *args], cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("async_service.py", "assigned 919"),
        ("bot_burst.py", "200 users served"),
        ("mount_in_aiohttp_app.py", "learned by callback"),
        ("other_framework.py", "learned by callback"),
        # Its users arrive 0.1 s apart so that a person can kill it mid-burst; not here.
        ("restart_bot.py --pace 0", "40 users served"),
    ],
)
def test_example_script(script: str, expected: str) -> None:
    """The script exits 0 on the emulator and prints its outcome."""
    done = run(*script.split())
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout


def test_reserve_bot_example() -> None:
    """The bot skips the number another account holds, offers five, orders the chosen one with
    its reservation, gives the other four back, and releases the number by callback."""
    done = run("reserve_bot.py")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    skipped = re.search(r"^skipped (\d{10}): .*5041", out, re.MULTILINE)
    assert skipped, out
    offered = re.search(r"^offered ((?:\d{10} ?){5})$", out, re.MULTILINE)
    assert offered, out
    assert skipped[1] not in offered[1]
    ordered = re.search(r"^ordered (\d{10}) with reservation \S+$", out, re.MULTILINE)
    assert ordered, out
    assert ordered[1] in offered[1].split()
    assert "gave back 4 reservations" in out
    assert f"in service: {ordered[1]}\n" in out
    assert re.search(rf"^released {ordered[1]}: disconnect \S+ COMPLETE via callback$", out, re.M)


def test_several_instances_example(redis_required: None) -> None:
    """Three instances behind the example's load balancer, on the redis-server it starts:
    every order is learned by callback, wherever the callback landed."""
    done = run("several_instances.py")
    assert done.returncode == 0, done.stderr
    assert "6 orders, 6 learned by callback" in done.stdout
    placed_by = re.findall(r"placed by (pod-\d)", done.stdout)
    assert sorted(set(placed_by)) == ["pod-0", "pod-1", "pod-2"]


def test_example_pytest_file() -> None:
    """The example integration test passes with the bandwidth_emulator fixture."""
    done = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "test_with_emulator.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_every_example_is_tested() -> None:
    """No example is left out of this file.

    ``restart_bot.py`` is also killed mid-burst and restarted, against an emulator the test
    runs, in ``tests/test_restart_sigkill.py``.
    """
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == {
        "async_service.py",
        "bot_burst.py",
        "mount_in_aiohttp_app.py",
        "reserve_bot.py",
        "other_framework.py",
        "restart_bot.py",
        "several_instances.py",
        "test_with_emulator.py",
    }
