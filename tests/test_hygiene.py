"""The async hygiene checks of tests/_hygiene.py catch planted leaks and pass clean tests.

Each test runs an inner pytest session (pytester, in-process) configured like ours: asyncio
auto mode, function-scoped loops, warnings as errors, and the very same ``tests._hygiene``
module as plugin. The outer tests are sync: an in-process session cannot run inside a loop.
"""

from __future__ import annotations

import pytest

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

FOREVER = """
import asyncio

STOPPED = []


async def forever(label):
    try:
        await asyncio.sleep(30)
    finally:
        STOPPED.append(label)
"""


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    """Run *source* as a test module under our hygiene plugin, in-process."""
    pytester.makeini(INI)
    pytester.makeconftest('pytest_plugins = ["tests._hygiene"]')
    pytester.makepyfile(test_inner=source)
    return pytester.runpytest("-p", "no:cacheprovider")


def test_task_left_by_the_test_fails_it(pytester: pytest.Pytester) -> None:
    """A test that starts asyncio.sleep(30) and returns errors at teardown naming the task."""
    result = run(
        pytester,
        """
import asyncio

async def test_leak():
    asyncio.ensure_future(asyncio.sleep(30))
""",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leak*",
            "*1 task(s) still running after the test and its fixtures ended:",
            "*<Task pending name=* coro=<sleep() running at *",
            "*They were cancelled and awaited.",
        ]
    )


def test_task_left_by_a_fixture_teardown_fails_the_test(pytester: pytest.Pytester) -> None:
    """A task started by an async fixture's teardown is caught, named and cancelled."""
    result = run(
        pytester,
        FOREVER
        + """
import pytest

@pytest.fixture
async def leaky():
    yield
    asyncio.ensure_future(forever("fixture teardown"))

async def test_uses_leaky_fixture(leaky):
    pass

def test_the_leaked_task_was_cancelled():
    assert STOPPED == ["fixture teardown"]
""",
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_uses_leaky_fixture*",
            "*<Task pending name=* coro=<forever() running at *test_inner.py:*",
        ]
    )


def test_every_parametrized_case_is_checked(pytester: pytest.Pytester) -> None:
    """Parametrized coroutine tests share their fixture names; each case still gets the check."""
    result = run(
        pytester,
        FOREVER
        + """
import pytest

@pytest.mark.parametrize("label", ["a", "b"])
async def test_leak(label):
    asyncio.ensure_future(forever(label))
""",
    )
    result.assert_outcomes(passed=2, errors=2)
    assert "No such fixture" not in result.stdout.str()


def test_task_that_ignores_cancellation_is_reported(pytester: pytest.Pytester) -> None:
    """A leaked task that swallows its cancellation is reported as still running."""
    result = run(
        pytester,
        """
import asyncio

async def stubborn():
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        await asyncio.sleep(2)

async def test_leak():
    asyncio.ensure_future(stubborn())
""",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*coro=<stubborn() *", "*1 of them ignored cancellation*"])


def test_tests_that_clean_up_pass(pytester: pytest.Pytester) -> None:
    """Clean tests pass: awaited tasks, a task briefly unwinding, sync and module-loop tests."""
    result = run(
        pytester,
        """
import asyncio
import contextlib

import pytest

async def test_cancels_and_awaits():
    task = asyncio.ensure_future(asyncio.sleep(30))
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

async def test_leaves_a_cancelled_task_unwinding():
    async def slow_exit():
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.01)

    task = asyncio.ensure_future(slow_exit())
    await asyncio.sleep(0)
    task.cancel()

@pytest.fixture
async def background():
    task = asyncio.ensure_future(asyncio.sleep(30))
    yield task
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

async def test_fixture_stops_its_task(background):
    assert not background.done()

def test_sync():
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()

@pytest.mark.asyncio(loop_scope="module")
async def test_on_a_module_loop():
    await asyncio.sleep(0)
""",
    )
    result.assert_outcomes(passed=5)
