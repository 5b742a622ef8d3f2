"""The order methods of :class:`NumbersClient`: place orders without ever placing one twice.

The ``/accounts/{accountId}/orders`` endpoints of Bandwidth's Numbers API
(https://dev.bandwidth.com/apis/numbers/). ``POST /orders`` is only retried when it provably
did not execute; after an ambiguous failure the order is looked up by its customer order id
and adopted, never placed again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Final

import attrs

from . import _xml
from ._api import ApiBase, location_id
from ._checks import check_text, check_whole, id_segment
from ._exceptions import (
    AmbiguousOrderError,
    BWNumbersError,
    DecodeError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._models import (
    Order,
    OrderDetails,
    OrderFlag,
    OrderHistoryEntry,
    OrderNumbers,
    OrderRequest,
    OrderStatus,
    OrderSummary,
    check_customer_order_id,
    check_order_name,
)
from ._paging import date_param, every_row
from ._search import Search
from ._xml._links import PageCursor

__all__ = ["MAX_PAGE_SIZE", "OrderMethods"]

log = logging.getLogger("bwnumbers.client")

#: The SPEC's most orders per ``GET /orders`` request.
MAX_PAGE_SIZE: Final = 1000


def _check_page_size(name: str, value: int) -> None:
    check_whole(name, value, minimum=1)
    if value > MAX_PAGE_SIZE:
        raise ValidationError(
            f"{name}={value} is above Bandwidth's {MAX_PAGE_SIZE} orders per request."
        )


def _order_filters(
    customer_order_id: str | None,
    status: OrderStatus | str | None,
    user_id: str | None,
    start_date: dt.date | str | None,
    end_date: dt.date | str | None,
) -> dict[str, str]:
    """The filters of ``GET /orders`` as its query parameters (``page`` and ``size`` aside)."""
    filters: dict[str, str] = {}
    for key, value in (
        ("customerOrderId", customer_order_id),
        ("status", str(status).lower() if status is not None else None),
        ("userid", user_id),
        ("startdate", date_param("start_date", start_date)),
        ("enddate", date_param("end_date", end_date)),
    ):
        if value is not None:
            filters[key] = value
    return filters


class OrderMethods(ApiBase):
    """Place, read, list, update and close orders (mixed into NumbersClient)."""

    async def create_order(
        self,
        *,
        site_id: str,
        numbers: OrderNumbers | None = None,
        search: Search | None = None,
        name: str | None = None,
        customer_order_id: str | None = None,
        peer_id: str | None = None,
        partial_allowed: OrderFlag = None,
        back_order_requested: OrderFlag = None,
        reservation_ids: Sequence[str] | None = None,
    ) -> Order:
        """Order specific *numbers*, or numbers matching *search*: ``POST /orders``.

        Returns the order as Bandwidth accepted it (status ``RECEIVED``, usually); the outcome
        comes later, by notification or :meth:`get_order`. A *customer_order_id* (UUID4 when
        not given) correlates the order; if the POST fails in a way that leaves it unknown
        whether the order was placed, the order is looked up by that id and adopted rather
        than placed twice. Numbers reserved with :meth:`reserve_number` are ordered with
        their *reservation_ids* (the order consumes the reservations).

        Raises:
            ValidationError: bad arguments (before any request), such as *reservation_ids*
                with *search*.
            BadRequestError: Bandwidth refused the order (5016 invalid SiteId, ...).
            AmbiguousOrderError: the order may exist but could not be found.
        """
        request = OrderRequest.build(
            site_id=site_id,
            numbers=numbers,
            search=search,
            name=name,
            customer_order_id=customer_order_id,
            peer_id=peer_id,
            partial_allowed=partial_allowed,
            back_order_requested=back_order_requested,
            reservation_ids=reservation_ids,
        )
        return await self.place_order(request)

    async def place_order(self, request: OrderRequest) -> Order:
        """Submit a prepared :class:`OrderRequest`; see :meth:`create_order`."""
        body = _xml.encode_order(request)
        try:
            response = await self._request("POST", "/orders", body=body, idempotent=False)
        except TransportError as error:
            if not error.request_sent:
                raise
            return await self._adopt(request, error)
        except ServerError as error:
            return await self._adopt(request, error)
        try:
            return _xml.decode_order_response(
                response.body, location_id=location_id(response.headers)
            )
        except DecodeError as error:
            # A 2xx means the order exists even though we could not read it.
            return await self._adopt(request, error)

    async def _adopt(self, request: OrderRequest, cause: BWNumbersError) -> Order:
        """Find the order a failed POST may have placed, by its customer order id."""
        customer_order_id = request.customer_order_id
        log.warning(
            "POST /orders for customer order id %s may or may not have executed (%s); "
            "looking it up instead of retrying",
            customer_order_id,
            cause,
        )
        try:
            order = await self.find_order(customer_order_id)
        except AmbiguousOrderError as ambiguous:
            raise AmbiguousOrderError(
                f"POST /orders failed ({cause}), and looking the order up was ambiguous: "
                f"{ambiguous} No second order was placed.",
                customer_order_id=customer_order_id,
            ) from cause
        except BWNumbersError as lookup_error:
            raise AmbiguousOrderError(
                f"POST /orders failed ({cause}) and looking the order up by customer order id "
                f"{customer_order_id} failed too ({lookup_error}); it may or may not exist. "
                "No second order was placed.",
                customer_order_id=customer_order_id,
            ) from cause
        if order is None:
            raise AmbiguousOrderError(
                f"POST /orders failed ({cause}) and no order with customer order id "
                f"{customer_order_id} exists yet; it may appear later. No second order was "
                "placed.",
                customer_order_id=customer_order_id,
            ) from cause
        log.info("Adopted order %s for customer order id %s", order.id, customer_order_id)
        return order

    async def get_order(self, order_id: str) -> OrderDetails:
        """The order's status and outcome: ``GET /orders/{id}``, the source of truth."""
        path = f"/orders/{id_segment('order_id', order_id)}"
        response = await self._request("GET", path, order_id=order_id)
        return _xml.decode_order_details(response.body, order_id=order_id)

    async def iter_orders(
        self,
        *,
        customer_order_id: str | None = None,
        status: OrderStatus | str | None = None,
        user_id: str | None = None,
        start_date: dt.date | str | None = None,
        end_date: dt.date | str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[OrderSummary]:
        """Every order of the account (``GET /orders``), page after page, in Bandwidth's order.

        An async iterator::

            async for row in client.iter_orders(status="backordered"):
                ...

        Follows Bandwidth's paging for you: the first page is ``page=1``, and only the
        ``page`` (an order id) and ``size`` of each page's ``next`` link are read; every page
        is asked of this client's own base URL, with the same filters. A ``next`` without a
        link in its text (the SPEC's example puts its links in XML comments) ends the list.
        *status* is ``complete``, ``partial``, ``failed`` or ``backordered``; *user_id* the
        user who placed the order; *start_date* and *end_date* bound the order date: a
        ``datetime.date`` is sent as ``YYYY-MM-DD``, a string as it is. *page_size* is 1 to
        1000 (Bandwidth's most per request).

        Raises:
            ValidationError: bad filters, when iteration starts (nothing sent).
            DecodeError: the paging links lead back to a page already read.

        .. versionadded:: 0.3
        """
        filters = _order_filters(customer_order_id, status, user_id, start_date, end_date)
        _check_page_size("page_size", page_size)
        rows = every_row(
            self._order_page, filters, page_size=page_size, listing="Bandwidth's order list"
        )
        async with contextlib.aclosing(rows):
            async for row in rows:
                yield row

    async def _order_page(
        self, params: dict[str, str]
    ) -> tuple[tuple[OrderSummary, ...], PageCursor | None]:
        response = await self._request("GET", "/orders", params=params)
        if response.status == 204 or not response.body.strip():
            return (), None
        return _xml.decode_order_page(response.body)

    async def list_orders(
        self,
        *,
        customer_order_id: str | None = None,
        status: OrderStatus | str | None = None,
        user_id: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        page: str | None = None,
        size: int | None = None,
    ) -> tuple[OrderSummary, ...]:
        """Orders of the account (``GET /orders``), optionally filtered.

        Without *page*, every page is read (*size* rows per request, 1,000 when not given;
        see :meth:`iter_orders`, which does not hold them all at once). With *page* (``"1"``,
        or the order id a ``next`` link names), only that page is read and returned.
        *status* is one of ``complete``, ``partial``, ``failed``, ``backordered``; dates are
        ``YYYY-MM-DD``; *size* is 1 to 1000 (Bandwidth's most per request).

        Raises:
            ValidationError: *size* is not 1 to 1000, or a date is neither a
                ``datetime.date`` nor a string (nothing sent).
            DecodeError: the paging links lead back to a page already read.

        .. versionchanged:: 0.3
            Without *page*, every page is read rather than Bandwidth's first one only.
        """
        if size is not None:
            _check_page_size("size", size)
        if page is None:
            listing = self.iter_orders(
                customer_order_id=customer_order_id,
                status=status,
                user_id=user_id,
                start_date=start_date,
                end_date=end_date,
                page_size=MAX_PAGE_SIZE if size is None else size,
            )
            return tuple([row async for row in listing])
        params = _order_filters(customer_order_id, status, user_id, start_date, end_date)
        params["page"] = page
        if size is not None:
            params["size"] = str(size)
        rows, _ = await self._order_page(params)
        return rows

    async def find_order(self, customer_order_id: str) -> Order | None:
        """The order placed with *customer_order_id*, or ``None`` if there is none (yet).

        ``GET /orders?customerOrderId=...`` (every page of it), then ``GET /orders/{id}`` for
        the order's details (https://dev.bandwidth.com/apis/numbers/). Rows that do not carry
        that customer order id never match. When the details cannot be read, the order is
        built from its row (id, customer order id and status).

        Raises:
            ValidationError: *customer_order_id* is empty.
            AmbiguousOrderError: more than one order has *customer_order_id*.

        .. versionadded:: 0.2
        """
        check_text("customer_order_id", customer_order_id)
        rows = await self.list_orders(customer_order_id=customer_order_id)
        matches = [row for row in rows if row.customer_order_id == customer_order_id]
        if not matches:
            return None
        if len(matches) > 1:
            ids = ", ".join(row.id for row in matches)
            raise AmbiguousOrderError(
                f"{len(matches)} orders have customer order id {customer_order_id} ({ids}), "
                "so which one is meant cannot be told; look at each with "
                "client.get_order(order_id).",
                customer_order_id=customer_order_id,
            )
        (row,) = matches
        try:
            details = await self.get_order(row.id)
        except BWNumbersError:
            return Order(id=row.id, customer_order_id=customer_order_id, status=row.status)
        return attrs.evolve(details.order, id=details.id, status=details.status)

    async def get_order_history(self, order_id: str) -> tuple[OrderHistoryEntry, ...]:
        """The status changes and notes of an order: ``GET /orders/{id}/history``."""
        path = f"/orders/{id_segment('order_id', order_id)}/history"
        response = await self._request("GET", path, order_id=order_id)
        return _xml.decode_order_history(response.body)

    async def close_order(self, order_id: str) -> None:
        """Close a BACKORDERED order; it ends PARTIAL (or FAILED if nothing was allocated)."""
        path = f"/orders/{id_segment('order_id', order_id)}"
        await self._request("PUT", path, body=_xml.encode_close_order(), order_id=order_id)

    async def update_order(
        self, order_id: str, *, name: str | None = None, customer_order_id: str | None = None
    ) -> None:
        """Rename an order and/or change its customer order id: ``PUT /orders/{id}``.

        Give at least one; ``None`` leaves that field as it is. Bandwidth documents the
        update for backordered orders (bwnumbers' emulator allows it in any status). A PUT
        changes nothing when repeated, so it is retried like a GET.

        The journal of :func:`~bwnumbers.order_and_wait` keeps an order under the customer
        order id it was placed with, so changing that id has these effects:

        - a wait under way goes on: it follows the order id once the ``POST /orders`` answer
          gave it (with a shared Redis store, though, a notification with the new id that
          reaches another instance is not routed to the waiting one, whose wait then ends by
          polling);
        - a re-call of ``order_and_wait`` with the old id is picked up from the journal, and a
          call with the new id places a new order;
        - an entry still without an order id (the process stopped before the POST's answer;
          :func:`~bwnumbers.recover` gives it with ``order_id=None``) is looked up with
          :meth:`find_order` by the old id, which no longer finds it: ``recover`` records it
          as never created once its reconcile window has passed, and a re-call (or
          ``recover(..., resubmit=True)``) places the order a second time.

        Raises:
            ValidationError: neither field given, an empty name or one over 50 characters, or
                a customer order id Bandwidth would refuse (before any request).
            NotFoundError: Bandwidth has no such order.
            BadRequestError: Bandwidth refused the update.

        .. versionadded:: 0.3
        """
        if name is None and customer_order_id is None:
            raise ValidationError(
                "Give name= and/or customer_order_id= to update_order; to close a backordered "
                "order, use close_order."
            )
        body = _xml.encode_order_update(
            name=None if name is None else check_order_name(name),
            customer_order_id=(
                None if customer_order_id is None else check_customer_order_id(customer_order_id)
            ),
        )
        path = f"/orders/{id_segment('order_id', order_id)}"
        await self._request("PUT", path, body=body, order_id=order_id)
