"""Async hygiene checks for every test: what asyncio would otherwise swallow fails the test.

Two things go unnoticed in an asyncio test suite unless something looks for them:

* asyncio *logs*, rather than warns about, a task destroyed while pending, an exception never
  retrieved and an unclosed transport, so ``filterwarnings = error`` cannot see them
  (:func:`_asyncio_hygiene`);
* a task still running when a test ends. pytest-asyncio closes each test's event loop with an
  :class:`asyncio.Runner`, which cancels leftover tasks without a word, so a ``stop()`` that
  forgets its background task passes every test (:func:`_no_leaked_tasks`).

The second check is an async fixture, so it runs on the test's own loop. It is attached to
coroutine tests whose loop lives and dies with them (pytest-asyncio's default): a sync test has
no loop of its own (an async fixture would give it one), and tasks on a module- or
session-scoped loop may belong to fixtures that outlive the test. Registered from
``tests/conftest.py`` through ``pytest_plugins``; ``tests/test_hygiene.py`` runs pytest
sessions with this same module to show that it catches leaks.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from pytest_asyncio import is_async_test

#: How long tasks still running after the test get to finish on their own (a cancelled task
#: unwinding through its ``finally``, a callback's last step) before they count as leaked.
GRACE_SECONDS = 0.05
#: How long a leaked task gets to end once cancelled; one that ignores cancellation is named.
CANCEL_TIMEOUT = 1.0

_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep


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
async def _no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves a task running on its loop; cancel and await those tasks.

    Torn down after every other function-scoped fixture of the test (see
    :func:`pytest_collection_modifyitems`), so a fixture's ``stop()`` that forgets a task is
    caught as well as the test itself.
    """
    yield
    loop = asyncio.get_running_loop()
    this = asyncio.current_task()

    def running() -> set[asyncio.Task[object]]:
        return {task for task in asyncio.all_tasks(loop) if task is not this}

    # Tasks already finishing get a grace period; tasks they start meanwhile are waited for too.
    deadline = loop.time() + GRACE_SECONDS
    while (leaked := running()) and (remaining := deadline - loop.time()) > 0:
        await asyncio.wait(leaked, timeout=remaining)
    if not leaked:
        return
    described = sorted(_describe(task) for task in leaked)
    for task in leaked:
        task.cancel()
    _, stubborn = await asyncio.wait(leaked, timeout=CANCEL_TIMEOUT)
    for task in leaked - stubborn:
        if not task.cancelled():
            task.exception()  # retrieved: the leak is the report, not a second log line
    lines = [f"{len(leaked)} task(s) still running after the test and its fixtures ended:"]
    lines += [f"  {line}" for line in described]
    if stubborn:
        lines.append(f"{len(stubborn)} of them ignored cancellation and are still running.")
    else:
        lines.append("They were cancelled and awaited.")
    if not loop.get_debug():
        lines.append("Run with --asyncio-debug to see where each task was created.")
    pytest.fail("\n".join(lines), pytrace=False)


def _describe(task: asyncio.Task[object]) -> str:
    """The task's repr (name, coroutine, where it waits) and, in debug mode, where it started."""
    text = repr(task)
    created = getattr(task, "_source_traceback", None)  # set by asyncio in debug mode only
    if created:
        ours = [frame for frame in created if not frame.filename.startswith(_ASYNCIO_DIR)]
        if ours:
            frame = ours[-1]
            text += f"\n    created at {frame.filename}:{frame.lineno} in {frame.name}"
    return text


def _has_its_own_loop(item: pytest.Item) -> bool:
    """Whether *item* is a coroutine test run on a function-scoped loop."""
    if not is_async_test(item):
        return False
    marker = item.get_closest_marker("asyncio")
    scope = marker.kwargs.get("loop_scope") if marker is not None else None
    return (scope or item.config.getini("asyncio_default_test_loop_scope")) == "function"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every coroutine test on its own loop the :func:`_no_leaked_tasks` check.

    Attached by name rather than ``autouse``: an autouse async fixture would also run for sync
    tests and give each of them an event loop they never asked for. Placed right after
    :func:`_asyncio_hygiene`, it is set up before the test's other function-scoped fixtures
    and so torn down after them, and the loop it needs closes before ``_asyncio_hygiene``
    collects garbage. (A ``usefixtures`` mark added here would come too late: the fixture
    closure is computed when the item is created. Parametrized items share their list of
    names, hence the membership test.)
    """
    for item in items:
        if not _has_its_own_loop(item):
            continue
        names = item.fixturenames
        if "_no_leaked_tasks" not in names:
            names.insert(names.index("_asyncio_hygiene") + 1, "_no_leaked_tasks")
