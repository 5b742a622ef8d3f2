"""Codec: decoding time of a notification, an order and a 5,000-number search result.

The reference is xmltodict.parse of the same bytes: the parse alone, with no checks and no
models. A ratio under 1 means bwnumbers is faster than the bare parse.
"""

from __future__ import annotations

import timeit
from pathlib import Path
from typing import Any

import xmltodict

from bwnumbers import _xml

DATA = Path(__file__).parent.parent / "tests" / "data"


def _search_result(count: int) -> bytes:
    numbers = "".join(f"<TelephoneNumber>{9190000000 + i}</TelephoneNumber>" for i in range(count))
    return (
        f"<SearchResult><ResultCount>{count}</ResultCount>"
        f"<TelephoneNumberList>{numbers}</TelephoneNumberList></SearchResult>"
    ).encode()


def _time(function: Any, body: bytes, number: int) -> float:
    return min(timeit.repeat(lambda: function(body), number=number, repeat=5)) / number


def bench_codec(*, quick: bool) -> dict[str, Any]:
    """Microseconds per decode, ours against the bare xmltodict parse."""
    scale = 1 if quick else 5
    cases = {
        "notification": (
            _xml.parse_notification,
            (DATA / "notification_complete.xml").read_bytes(),
            4000 * scale,
        ),
        "order_details": (
            lambda body: _xml.decode_order_details(body, order_id="x"),
            (DATA / "order_partial.xml").read_bytes(),
            1000 * scale,
        ),
        "search_5000_numbers": (_xml.decode_search_result, _search_result(5000), 4 * scale),
    }
    report: dict[str, Any] = {}
    for name, (decode, body, number) in cases.items():
        ours = _time(decode, body, number)
        reference = _time(xmltodict.parse, body, number)
        report[name] = {
            "bwnumbers_us": round(ours * 1e6, 1),
            "xmltodict_parse_us": round(reference * 1e6, 1),
            "ratio": round(ours / reference, 2),
        }
    return report
