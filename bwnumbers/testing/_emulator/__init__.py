"""The Bandwidth emulator, split by concern; users import it from :mod:`bwnumbers.testing`.

``_server`` (lifecycle and test controls) builds the app from ``_http`` (middleware),
``_search``, ``_subscriptions`` and ``_order_routes`` (routes), ``_book`` (when orders move)
on top of ``_orders`` (the pure order state machine), and ``_delivery`` (notifications).
Imports run one way, from ``_server`` down to ``_context`` and ``_orders``.
"""

from __future__ import annotations

from ._delivery import Delivery
from ._server import BandwidthEmulator

__all__ = ["BandwidthEmulator", "Delivery"]
