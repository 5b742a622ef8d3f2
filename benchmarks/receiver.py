"""Receiver throughput: CallbackReceiver (with Basic auth) against the reference receiver."""

from __future__ import annotations

import base64
import statistics
from typing import Any

from ._load import build_request, run_load
from ._servers import CALLBACK_PASSWORD, CALLBACK_USER, serving

NOTIFICATION = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Notification>'
    "<Status>COMPLETE</Status><SubscriptionId>d8274fa6-e49b-469a-93bf-c7dd17615950</SubscriptionId>"
    "<Message>Created a new number order for 1 number from WASHINGTON, VA</Message>"
    "<OrderId>{order_id}</OrderId><OrderType>orders</OrderType>"
    "<CustomerOrderId>{customer_order_id}</CustomerOrderId>"
    "<CompletedTelephoneNumbers><TelephoneNumber>5402278098</TelephoneNumber>"
    "</CompletedTelephoneNumbers><LastModifiedDate>2023-09-12T15:11:31.705Z</LastModifiedDate>"
    "</Notification>"
)


def _requests(port: int) -> list[bytes]:
    credentials = base64.b64encode(f"{CALLBACK_USER}:{CALLBACK_PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}", "Content-Type": "application/xml"}
    return [
        build_request(
            "/bandwidth/callbacks",
            port,
            NOTIFICATION.format(order_id=f"order-{i:05d}", customer_order_id=f"c-{i:05d}").encode(),
            headers,
        )
        for i in range(1000)
    ]


async def bench_receiver(*, quick: bool) -> dict[str, Any]:
    """Requests per second of both receivers under the same load.

    Each receiver has its own process (and so its own core); the load generator has the
    other core. Rounds alternate between the two and the reported ratio is the median of the
    per-round ratios, which cancels slow drifts of the machine.
    """
    seconds, rounds, connections = (1.0, 1, 32) if quick else (3.0, 5, 64)
    rates: dict[str, list[float]] = {"reference": [], "bwnumbers": []}
    statuses: dict[str, dict[int, int]] = {"reference": {}, "bwnumbers": {}}
    with serving("reference") as reference_port, serving("bwnumbers") as our_port:
        ports = {"reference": reference_port, "bwnumbers": our_port}
        requests = {kind: _requests(port) for kind, port in ports.items()}
        for kind, port in ports.items():  # warm up both
            await run_load(port, requests[kind], connections=connections, seconds=0.5)
        for _ in range(rounds):
            for kind, port in ports.items():
                result = await run_load(
                    port, requests[kind], connections=connections, seconds=seconds
                )
                rates[kind].append(result.rate)
                for status, count in result.statuses.items():
                    statuses[kind][status] = statuses[kind].get(status, 0) + count
    ratios = [ours / ref for ours, ref in zip(rates["bwnumbers"], rates["reference"], strict=True)]
    return {
        "connections": connections,
        "seconds_per_round": seconds,
        "rounds": rounds,
        "reference_rps": round(statistics.median(rates["reference"])),
        "bwnumbers_rps": round(statistics.median(rates["bwnumbers"])),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
        "goal": 0.9,
        "statuses": {k: {str(s): n for s, n in v.items()} for k, v in statuses.items()},
    }
