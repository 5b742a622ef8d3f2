"""``/disconnects``: placing, reading and listing disconnect orders, processed in the background.

Shapes from Bandwidth's disconnect guide, https://dev.bandwidth.com/docs/numbers/disconnectNumbers/
(the request, the 201 answer, ``GET /disconnects/{id}``), its API reference (the list, its
paging and filters) and error codes, https://dev.bandwidth.com/docs/numbers/errors/ . The rules
of a disconnect are :mod:`._disconnects`'. Assumed: 5002/5052/5070/5093 for a bad body (the
orders' codes), the oldest disconnect first in the list, rows dated as the SPEC's samples write
them (``2014-01-10T17-34-15Z``, hyphens in the time) and an empty ``TelephoneNumberDetails``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from aiohttp import web

from bwnumbers.testing import _wire as wire

from . import _disconnects as disconnects
from ._book import now
from ._context import Context
from ._delivery import Notifier
from ._http import Refusal, listing_response, location, query_day, read_xml, xml_response
from ._numbers import NumberStates

__all__ = ["DisconnectRoutes"]

_CUSTOMER_ORDER_ID = re.compile(r"[A-Za-z0-9\- ]{1,40}")
_TN = re.compile(r"\d{10}")
_MODES = {"normal": "normal", "purge": "purge", "soft-remove": "soft-remove"}
_PROTECTED = frozenset({"TRUE", "FALSE", "UNCHANGED"})
_STATUSES = frozenset({"RECEIVED", "COMPLETE", "PARTIAL", "FAILED"})
_ROOT = "DisconnectTelephoneNumberOrderResponse"
_TYPE = "DisconnectTelephoneNumberOrderType"


def _error(code: int, description: str, status: int = 400) -> Refusal:
    root = wire.element(_ROOT, wire.error_list([(code, description, None)]))
    return Refusal(status, wire.document(root))


def _refusal(message: str) -> Refusal:
    return _error(5002, f"Validation error: {message}")


def _field(node: wire.Node, tag: str) -> str | None:
    """*tag* inside ``DisconnectTelephoneNumberOrderType`` (the SPEC's place) or beside it."""
    return wire.text(node, f"{_TYPE}/{tag}") or wire.text(node, tag)


def _list_date(moment: dt.datetime, *, millis: bool) -> str:
    text = moment.strftime("%Y-%m-%dT%H-%M-%S")
    return f"{text}.{moment.microsecond // 1000:03d}Z" if millis else f"{text}Z"


def _day(text: str, name: str) -> dt.date:
    try:
        return query_day(text)
    except ValueError:
        raise _error(15501, f"The {name} {text} is invalid; use yy-mm-dd") from None


def _order_request(d: disconnects.Disconnect) -> wire.Node:
    return wire.element(
        "orderRequest",
        wire.optional("CustomerOrderId", d.customer_order_id),
        wire.optional("Name", d.name),
        wire.element("OrderCreateDate", text=wire.timestamp(d.created)),
        wire.element("id", text=d.id),
        wire.element(
            _TYPE,
            wire.listing("TelephoneNumberList", "TelephoneNumber", d.numbers),
            wire.element("DisconnectMode", text=d.mode),
            wire.optional("Protected", d.protected),
        ),
    )


class DisconnectRoutes:
    """The disconnect routes of one account, and its disconnect orders by id."""

    def __init__(self, context: Context, numbers: NumberStates, notifier: Notifier) -> None:
        self._context = context
        self._numbers = numbers
        self._notifier = notifier
        self.disconnects: dict[str, disconnects.Disconnect] = {}

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        router.add_post(f"{prefix}/disconnects", self._create)
        router.add_get(f"{prefix}/disconnects", self._list)
        router.add_get(f"{prefix}/disconnects/{{id}}", self._get)

    # ------------------------------------------------------------------ create

    def _parse(self, node: wire.Node) -> disconnects.Disconnect:
        customer_order_id = wire.text(node, "CustomerOrderId")
        if customer_order_id is not None and not _CUSTOMER_ORDER_ID.fullmatch(customer_order_id):
            raise _error(5052, "Customer order ID is invalid.")
        # Deprecated; sent as <Name> (SPEC, Java) or <name> (docs' example, Node, Ruby, C#).
        name = wire.text(node, "Name") or wire.text(node, "name")
        if name is not None and len(name) > 50:
            raise _refusal("Name is at most 50 characters")
        numbers = tuple(
            (n.text or "").strip() for n in node.findall(f"{_TYPE}/TelephoneNumberList/*")
        )
        if not numbers:
            raise _refusal("at least one TelephoneNumber is required")
        if any(not _TN.fullmatch(n) for n in numbers):
            raise _error(5070, "Telephone number is invalid.")
        if len(set(numbers)) != len(numbers):
            raise _error(5093, "Order cannot contain duplicate telephone numbers.")
        # The SPEC's enum is NORMAL/PURGE, error 5084's list normal/soft-remove/purge.
        mode = _MODES.get((_field(node, "DisconnectMode") or "normal").lower())
        if mode is None:
            raise _error(
                5084, "Invalid DisconnectMode. Valid values are: normal, soft-remove, purge"
            )
        protected = _field(node, "Protected")
        if protected is not None:
            protected = protected.upper()
            if protected not in _PROTECTED:
                raise _error(5108, "Protected value is invalid: use TRUE, FALSE or UNCHANGED")
            if protected != "UNCHANGED" and mode == "purge":
                raise _error(5109, "Protected cannot be changed by a purge disconnect")
        return disconnects.Disconnect(
            id=self._context.new_id(),
            customer_order_id=customer_order_id,
            name=name,
            mode=mode,
            protected=protected,
            numbers=numbers,
            created=now(),
        )

    async def _create(self, request: web.Request) -> web.StreamResponse:
        node = await read_xml(request, "DisconnectTelephoneNumberOrder", _refusal)
        disconnect = self._parse(node)
        self.disconnects[disconnect.id] = disconnect
        body = wire.document(
            wire.element(
                _ROOT, _order_request(disconnect), wire.element("OrderStatus", text="RECEIVED")
            )
        )
        if self._context.faults.callback_before_response:
            await self._process(disconnect, 0.0)
        else:
            self._context.spawn(self._process(disconnect, self._context.order_delay))
        faults = self._context.faults  # read after processing: a test may have replaced them
        where = location(request, self._context.account_id, "disconnects", disconnect.id)
        headers = {"Location": where}
        failure, faults.fail_next_disconnect = faults.fail_next_disconnect, None
        if failure == "500":
            return xml_response(
                wire.error_response("Internal Server Error. Please try again.", 1000), 500
            )
        if failure == "disconnect":
            assert request.transport is not None
            request.transport.abort()
        if failure == "truncate":
            body = body[: len(body) // 2]
        return xml_response(body, 201, headers)

    async def _process(self, disconnect: disconnects.Disconnect, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        notice = disconnects.process(disconnect, self._numbers, now=now())
        if notice is not None:
            await self._notifier.notify((notice,))

    # ------------------------------------------------------------------ read

    async def _get(self, request: web.Request) -> web.Response:
        # ?tndetail=true adds detail Bandwidth shows no sample of; the answer is the same.
        d = self.disconnects.get(request.match_info["id"])
        if d is None:
            raise Refusal(404, wire.error_response("The resource does not exist"))
        root = wire.element(
            _ROOT,
            wire.listing("DisconnectedTelephoneNumberList", "TelephoneNumber", d.disconnected)
            if d.disconnected
            else None,
            wire.error_list(d.errors),
            _order_request(d),
            wire.element("OrderStatus", text=d.status),
        )
        return xml_response(wire.document(root))

    def _chosen(self, request: web.Request) -> list[disconnects.Disconnect]:
        query = request.query
        status = query.get("status")
        if status is not None and status.upper() not in _STATUSES:
            raise _error(15518, "Status is invalid")
        start = _day(query["startdate"], "startdate") if "startdate" in query else None
        end = _day(query["enddate"], "enddate") if "enddate" in query else None
        user = query.get("userid")
        return [
            d
            for d in self.disconnects.values()
            if (status is None or d.status == status.upper())
            and (start is None or d.created.date() >= start)
            and (end is None or d.created.date() <= end)
            and user in (None, self._context.username)
        ]

    async def _list(self, request: web.Request) -> web.Response:
        chosen = self._chosen(request)
        size_text = request.query.get("size", "300")
        if not size_text.isdigit() or not 1 <= int(size_text) <= 5000:
            raise _error(15502, "The size must be a whole number from 1 to 5000")
        size = int(size_text)
        page = request.query.get("page", "1")
        ids = [d.id for d in chosen]
        if page != "1" and page not in ids:
            raise _error(15503, f"The page {page} is not a disconnect order id")
        start = 0 if page == "1" else ids.index(page)
        rows = chosen[start : start + size]
        if not rows:
            return web.Response(status=204)
        following = ids[start + size] if start + size < len(ids) else None
        return listing_response(
            request,
            total=len(chosen),
            size=size,
            next_page=following,
            rows=(self._row(d) for d in rows),
        )

    def _row(self, d: disconnects.Disconnect) -> wire.Node:
        # Like Bandwidth's rows: no CustomerOrderId, dates with hyphens in the time.
        return wire.element(
            "OrderIdUserIdDate",
            wire.element("CountOfTNs", text=len(d.numbers)),
            wire.element("userId", text=self._context.username),
            wire.element(
                "lastModifiedDate", text=_list_date(d.modified or d.created, millis=False)
            ),
            wire.element("OrderId", text=d.id),
            wire.element("OrderType", text="disconnect"),
            wire.element("OrderDate", text=_list_date(d.created, millis=True)),
            wire.element("OrderStatus", text=d.status),
            wire.element("TelephoneNumberDetails"),
        )
