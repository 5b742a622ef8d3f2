"""The pytest plugin of bwnumbers: a ``bandwidth_emulator`` fixture.

Registered through the ``pytest11`` entry point, so it is available wherever bwnumbers is
installed. The fixture is async and needs pytest-asyncio; without it the fixture explains that
instead of breaking the test run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ._emulator import BandwidthEmulator

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only where pytest-asyncio is missing

    @pytest.fixture(name="bandwidth_emulator")
    def _bandwidth_emulator_unavailable() -> None:
        """Unavailable: install pytest-asyncio to use the Bandwidth emulator fixture."""
        pytest.fail(
            "The bandwidth_emulator fixture needs pytest-asyncio: pip install pytest-asyncio"
        )

else:

    @pytest_asyncio.fixture
    async def bandwidth_emulator() -> AsyncIterator[BandwidthEmulator]:
        """A running :class:`BandwidthEmulator` on 127.0.0.1, stopped after the test."""
        async with BandwidthEmulator() as emulator:
            yield emulator
