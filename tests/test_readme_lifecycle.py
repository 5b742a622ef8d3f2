"""The README's "life of a number" snippets, run as they are against the emulator: a user can
search, reserve, order with the reservation, list and release from the README alone."""

from __future__ import annotations

import re
from pathlib import Path

import bwnumbers
from bwnumbers.testing import BandwidthEmulator

README = (Path(__file__).parent.parent / "README.md").read_text()
SECTION = README.split("## The life of a number", 1)[1].split("\n## ", 1)[0]


async def test_the_readme_lifecycle_snippets_run_in_order() -> None:
    blocks = re.findall(r"```python\n(.*?)```", SECTION, re.DOTALL)
    assert len(blocks) == 3
    async with (
        BandwidthEmulator() as bandwidth,
        bandwidth.client() as client,
        bwnumbers.CallbackReceiver(username="cb", password="pw") as receiver,
    ):
        await client.ensure_subscriptions(receiver.url, username="cb", password="pw")
        scope: dict[str, object] = {"bwnumbers": bwnumbers, "client": client, "receiver": receiver}
        # The third block subscribes itself; the first orders, so subscriptions come first.
        for block in blocks:
            body = "".join(f"    {line}\n" for line in block.splitlines())
            exec(f"async def _run():\n{body}    return locals()", scope)  # noqa: S102
            scope.update(await scope["_run"]())  # type: ignore[operator]
        chosen = scope["chosen"]
        result = scope["result"]
        assert isinstance(result, bwnumbers.OrderResult)
        assert result.completed_numbers == (chosen.number,)  # type: ignore[attr-defined]
        assert scope["numbers"] == (chosen.number,)  # type: ignore[attr-defined]
        assert scope["info"].status == "Inservice"  # type: ignore[attr-defined]
        done = scope["done"]
        assert isinstance(done, bwnumbers.DisconnectResult)
        assert done.status == "COMPLETE"
        assert [n async for n in client.list_in_service_numbers()] == []
        held = scope["held"]
        for other in held[1:]:  # type: ignore[index]
            # Released by the snippet: the reservation is gone.
            try:
                await client.get_reservation(other.id)
            except bwnumbers.ReservationNotFoundError:
                continue
            raise AssertionError(f"reservation {other.id} was not released")
