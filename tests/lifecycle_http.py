"""Raw HTTP to the emulator for the number-lifecycle tests, read with the SDK's XML tree reader.

Every request is what a client written from Bandwidth's documents would send; every answer is
parsed with ``bwnumbers._xml._tree.parse_document``, which refuses anything that is not one
well-formed document, so a malformed answer fails the test that reads it.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import attrs

from bwnumbers._xml._tree import Node, as_node, elements, parse_document, text_of
from bwnumbers.testing import BandwidthEmulator

XML = {"Content-Type": "application/xml"}


@attrs.frozen
class Answer:
    """One response: status, headers, root element name and tree (empty without a body)."""

    status: int
    headers: dict[str, str]
    root: str | None
    node: Node
    body: bytes

    def texts(self, path: str) -> list[str]:
        """The texts at a ``/``-separated *path* below the root, in document order."""
        return texts(self.node, path)

    def text(self, path: str) -> str | None:
        found = self.texts(path)
        return found[0] if found else None


def texts(node: Node, path: str) -> list[str]:
    """The texts of every element at *path* (``A/B/C``) below *node*."""
    *parents, last = path.split("/")
    nodes = [node]
    for name in parents:
        nodes = [as_node(child) for n in nodes for child in elements(n, name)]
    return [text_of(v) or "" for n in nodes for v in elements(n, last)]


class Api:
    """Authenticated raw HTTP to one emulator: account paths, or API-root paths with ``/tns``."""

    def __init__(self, emulator: BandwidthEmulator, session: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.account = f"{emulator.base_url}/accounts/{emulator.account_id}"
        self.session = session
        # Built by hand: aiohttp 3.14 deprecates BasicAuth and auth=, and this is a helper
        # module, not a test module the pyproject's warning filter exempts.
        pair = f"{emulator.username}:{emulator.password}".encode()
        self.authorization = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}

    async def call(self, method: str, path: str, body: str | None = None, **kw: Any) -> Answer:
        """*path* is below the account (``/orders``) unless it starts with ``/tns``."""
        url = (self.emulator.base_url if path.startswith("/tns") else self.account) + path
        headers = {**self.authorization, **(XML if body is not None else {})}
        async with self.session.request(method, url, data=body, headers=headers, **kw) as response:
            data = await response.read()
            root, node = parse_document(data, None) if data.strip() else (None, {})
            return Answer(response.status, dict(response.headers), root, node, data)

    async def reserve(self, number: str) -> str:
        """Reserve *number*; the reservation id (the Location's last segment)."""
        answer = await self.call("POST", "/tnreservation", reservation(number))
        assert answer.status == 201, answer.body
        return answer.headers["Location"].rsplit("/", 1)[1]

    async def order(
        self, *numbers: str, reservation_ids: Sequence[str] = (), partial: bool = False
    ) -> str:
        """Order *numbers* and let the order finish; its id."""
        answer = await self.call("POST", "/orders", order(numbers, reservation_ids, partial))
        assert answer.status == 201, answer.body
        await self.emulator.settle()
        return answer.headers["Location"].rsplit("/", 1)[1]

    async def disconnect(self, *numbers: str, extra: str = "", settle: bool = True) -> str:
        """Disconnect *numbers* (and let it finish, with *settle*); its id."""
        answer = await self.call("POST", "/disconnects", disconnect(numbers, extra=extra))
        assert answer.status == 201, answer.body
        if settle:
            await self.emulator.settle()
        return answer.headers["Location"].rsplit("/", 1)[1]


@asynccontextmanager
async def api_for(emulator: BandwidthEmulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(emulator, session)


def reservation(*numbers: str) -> str:
    tns = "".join(f"<ReservedTn>{n}</ReservedTn>" for n in numbers)
    return f"<Reservation>{tns}</Reservation>"


def numbers_list(numbers: Sequence[str]) -> str:
    tns = "".join(f"<TelephoneNumber>{n}</TelephoneNumber>" for n in numbers)
    return f"<TelephoneNumberList>{tns}</TelephoneNumberList>"


def order(
    numbers: Sequence[str], reservation_ids: Sequence[str] = (), partial: bool = False
) -> str:
    ids = "".join(f"<ReservationId>{r}</ReservationId>" for r in reservation_ids)
    listed = f"<ReservationIdList>{ids}</ReservationIdList>" if reservation_ids else ""
    return (
        "<Order><Name>lifecycle</Name><ExistingTelephoneNumberOrderType>"
        f"{numbers_list(numbers)}{listed}</ExistingTelephoneNumberOrderType>"
        f"<PartialAllowed>{'true' if partial else 'false'}</PartialAllowed>"
        "<SiteId>743</SiteId></Order>"
    )


def disconnect(numbers: Sequence[str], *, extra: str = "", top: str = "") -> str:
    """A ``DisconnectTelephoneNumberOrder``; *extra* goes inside the order type, *top* beside."""
    return (
        f"<DisconnectTelephoneNumberOrder>{top}<DisconnectTelephoneNumberOrderType>"
        f"{numbers_list(numbers)}{extra}</DisconnectTelephoneNumberOrderType>"
        "</DisconnectTelephoneNumberOrder>"
    )
