"""The Bandwidth emulator, split by concern; users import it from :mod:`bwnumbers.testing`.

``_server`` (lifecycle; test controls in ``_controls``) builds the app from ``_http``
(middleware), ``_search``, ``_subscriptions``, ``_order_routes``, ``_reservation_routes``,
``_disconnect_routes`` and ``_inventory_routes`` (routes), ``_book`` (when orders move) on top
of the pure rules (``_orders``, ``_disconnects``, and ``_numbers``: what each number is to the
account), and ``_delivery`` (notifications). Imports run one way, from ``_server`` down to
``_context`` and the pure modules.
"""

from __future__ import annotations

from ._delivery import Delivery
from ._server import BandwidthEmulator

__all__ = ["BandwidthEmulator", "Delivery"]
