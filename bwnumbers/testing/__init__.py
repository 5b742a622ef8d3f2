"""Test helpers: a local Bandwidth API emulator and its pytest fixture.

``from bwnumbers.testing import BandwidthEmulator`` gives a real Dashboard API server on
loopback for demos and integration tests; installing bwnumbers also registers the
``bandwidth_emulator`` pytest fixture.
"""

from __future__ import annotations

from ._emulator import BandwidthEmulator, Delivery
from ._faults import Faults
from ._ratelimit import RateLimit, RateLimitCounts

__all__ = ["BandwidthEmulator", "Delivery", "Faults", "RateLimit", "RateLimitCounts"]
