"""Bandwidth's own Python SDK against the emulator, replayed from a recording.

``tests/data/iris_sdk_requests.json`` holds what python-bandwidth-iris sent for its reservation
and disconnect calls (recorded once against the emulator; the SDK itself is not on PyPI and is
never part of this repository) and the elements it read from each answer. Replaying the exact
requests shows the emulator still answers them as the SDK parses them: the id it takes from
``Location``, the fields it reads, the status codes it checks.
"""

from __future__ import annotations

import json
from typing import Any

from bwnumbers._xml._tree import parse_document
from bwnumbers.testing import BandwidthEmulator
from tests.conftest import DATA
from tests.lifecycle_http import api_for, texts

RECORDING: dict[str, Any] = json.loads((DATA / "iris_sdk_requests.json").read_text())


def test_the_recording_covers_the_calls_and_the_delete_sends_the_id() -> None:
    """Unlike Node's (``.../tnreservation/undefined``), the SDK's delete names the id it got."""
    calls = [(c["method"], c["path"]) for c in RECORDING["calls"]]
    reservation = "/accounts/{account_id}/tnreservation/{reservation_id}"
    assert calls == [
        ("POST", "/accounts/{account_id}/tnreservation"),
        ("GET", reservation),
        ("DELETE", reservation),
        ("GET", reservation),
        ("POST", "/accounts/{account_id}/disconnects"),
        ("GET", "/accounts/{account_id}/disconnects/{disconnect_id}"),
    ]


async def test_the_sdks_requests_get_the_answers_it_parses() -> None:
    async with BandwidthEmulator() as emulator, api_for(emulator) as api:
        await api.order(*RECORDING["setup"]["in_service"])
        known = {"account_id": emulator.account_id}
        for call in RECORDING["calls"]:
            url = f"{emulator.base_url}{call['path'].format(**known)}"
            async with api.session.request(
                call["method"],
                url,
                data=call["body"],
                headers={**api.authorization, "content-type": call["content_type"]},
            ) as response:
                body = await response.read()
                status, location = response.status, response.headers.get("Location")
            assert status == call["status"], (call["sdk"], body)
            if "save_location_id_as" in call:
                assert location is not None
                # The SDK's _save(): the id is what follows the last "/" of Location.
                known[call["save_location_id_as"]] = location[location.rfind("/") + 1 :]
            node = parse_document(body, None)[1] if body.strip() else {}
            for path, expected in call["sdk_reads"]:
                assert texts(node, path) == [expected.format(**known)], (call["sdk"], path)
            await emulator.settle()  # the SDK read the disconnect after it was processed
