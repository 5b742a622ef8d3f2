"""Shared by the examples: a real account from BW_* variables, or the embedded emulator.

Set BW_ACCOUNT_ID, BW_CLIENT_ID and BW_CLIENT_SECRET (OAuth 2.0 client credentials; optionally
BW_BASE_URL, BW_TOKEN_URL, BW_SITE_ID) to run an example against Bandwidth; leave them unset to
run it on the local emulator.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import bwnumbers
from bwnumbers.testing import BandwidthEmulator


@contextlib.asynccontextmanager
async def account() -> AsyncIterator[tuple[bwnumbers.NumbersClient, str, BandwidthEmulator | None]]:
    """Yield (client, site id, emulator or None)."""
    if os.environ.get("BW_ACCOUNT_ID"):
        async with bwnumbers.NumbersClient.from_env() as client:
            yield client, os.environ.get("BW_SITE_ID", ""), None
        return
    async with BandwidthEmulator() as emulator, emulator.client() as client:
        yield client, emulator.site_id, emulator
