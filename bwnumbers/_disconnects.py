"""The disconnect methods of :class:`NumbersClient`: release numbers without ever doing it twice.

The ``/accounts/{accountId}/disconnects`` endpoints of Bandwidth's Numbers API
(https://dev.bandwidth.com/apis/numbers/). ``POST /disconnects`` goes through the DISCONNECT
rate-limit gate and is only retried when it provably did not execute. After an ambiguous
failure the disconnect is looked for, never sent again. Bandwidth's list of disconnects has no
customer order id filter and its rows carry none, so it is found by its numbers: the recent
disconnects (bounded in count and time) of exactly the same numbers, whose details must not
name another customer order id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncGenerator, Sequence
from typing import Final

import attrs

from . import _xml
from ._api import ApiBase, location_id
from ._checks import check_both_or_neither, check_whole, id_segment
from ._disconnect_models import (
    DisconnectDetails,
    DisconnectMode,
    DisconnectOrder,
    DisconnectRequest,
    DisconnectSummary,
)
from ._exceptions import (
    AmbiguousOrderError,
    BWNumbersError,
    DecodeError,
    NotFoundError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._models import OrderStatus
from ._paging import date_param, every_row
from ._xml._links import PageCursor

__all__ = ["CLOCK_SKEW_MARGIN", "DisconnectMethods"]

log = logging.getLogger("bwnumbers.client")

#: How much earlier than our clock's "before the POST" a disconnect may carry as its date:
#: Bandwidth stamps it with its own clock.
CLOCK_SKEW_MARGIN: Final = dt.timedelta(minutes=5)
#: Bandwidth's bounds for the ``size`` of one page of ``GET /disconnects``.
MAX_PAGE_SIZE: Final = 5000
#: The rows :meth:`DisconnectMethods.find_disconnect` reads at most, by default.
DEFAULT_FIND_LIMIT: Final = 50


def _same_numbers(numbers: Sequence[str], request: DisconnectRequest) -> bool:
    return sorted(numbers) == sorted(request.numbers)


class DisconnectMethods(ApiBase):
    """Disconnect numbers, read and list disconnects (mixed into NumbersClient)."""

    async def disconnect_numbers(
        self,
        numbers: Sequence[str],
        *,
        name: str | None = None,
        customer_order_id: str | None = None,
        disconnect_mode: DisconnectMode | str | None = None,
    ) -> DisconnectOrder:
        """Disconnect *numbers* from the account: ``POST /disconnects``.

        Returns the disconnect as Bandwidth accepted it (status ``RECEIVED`` when it says
        one), always with its id; the outcome comes later, by a ``disconnects`` notification
        or :meth:`get_disconnect`. *customer_order_id* (a UUID4 when not given; letters,
        digits, dashes and spaces, at most 40) correlates it; *disconnect_mode* takes either
        of Bandwidth's vocabularies (``normal``/``purge``/``soft-remove``, or ``NORMAL``/
        ``PURGE``), Bandwidth's default being ``NORMAL``.

        Raises:
            ValidationError: bad arguments (before any request).
            BadRequestError: Bandwidth refused the disconnect.
            AmbiguousOrderError: the POST may or may not have created the disconnect, and it
                could not be found; nothing was sent twice.

        .. versionadded:: 0.3
        """
        request = DisconnectRequest.build(
            numbers,
            name=name,
            customer_order_id=customer_order_id,
            disconnect_mode=disconnect_mode,
        )
        return await self.place_disconnect(request)

    async def place_disconnect(self, request: DisconnectRequest) -> DisconnectOrder:
        """Submit a prepared :class:`DisconnectRequest`; see :meth:`disconnect_numbers`."""
        if not isinstance(request, DisconnectRequest):
            raise ValidationError("place_disconnect() takes a bwnumbers.DisconnectRequest.")
        body = _xml.encode_disconnect(request)
        # Before the first attempt, as Bandwidth's clock may see it: the earliest date the
        # disconnect can carry if this POST creates it.
        since = dt.datetime.now(dt.UTC) - CLOCK_SKEW_MARGIN
        try:
            response = await self._request("POST", "/disconnects", body=body, idempotent=False)
        except TransportError as error:
            if not error.request_sent:
                raise
            return await self._reconcile(request, error, since)
        except ServerError as error:
            return await self._reconcile(request, error, since)
        created_id = location_id(response.headers)
        try:
            order = _xml.decode_disconnect_response(response.body, location_id=created_id)
        except DecodeError as error:
            if created_id is None:  # a 2xx: it exists, but which one is it?
                return await self._reconcile(request, error, since)
            log.warning(
                "POST /disconnects created %s but its answer could not be read (%s); "
                "using what was sent",
                created_id,
                error,
            )
            order = DisconnectOrder(id=created_id)
        return self._completed(order, request)

    @staticmethod
    def _completed(order: DisconnectOrder, request: DisconnectRequest) -> DisconnectOrder:
        """*order* with what was sent filling what Bandwidth's answer left out."""
        return attrs.evolve(
            order,
            customer_order_id=order.customer_order_id or request.customer_order_id,
            numbers=order.numbers or request.numbers,
            name=order.name if order.name is not None else request.name,
        )

    async def _reconcile(
        self, request: DisconnectRequest, cause: BWNumbersError, since: dt.datetime
    ) -> DisconnectOrder:
        """Find the disconnect a failed POST may have created, by its numbers."""
        customer_order_id = request.customer_order_id
        numbers = ", ".join(request.numbers)
        log.warning(
            "POST /disconnects of %s (customer order id %s) may or may not have executed (%s); "
            "looking for it instead of sending it again",
            numbers,
            customer_order_id,
            cause,
        )
        check = (
            "Check with client.list_disconnects() and client.get_disconnect(id), or "
            "client.find_disconnect(request, since=...), before disconnecting them again."
        )
        try:
            found = await self.find_disconnect(request, since=since)
        except AmbiguousOrderError as ambiguous:
            raise AmbiguousOrderError(
                f"POST /disconnects failed ({cause}), and looking for the disconnect was "
                f"ambiguous: {ambiguous} Nothing was sent twice.",
                customer_order_id=customer_order_id,
            ) from cause
        except BWNumbersError as lookup_error:
            raise AmbiguousOrderError(
                f"POST /disconnects of {numbers} failed ({cause}) and looking for the "
                f"disconnect failed too ({lookup_error}), so it may or may not exist. {check}",
                customer_order_id=customer_order_id,
            ) from cause
        if found is None:
            raise AmbiguousOrderError(
                f"POST /disconnects of {numbers} failed ({cause}) and no disconnect of those "
                "numbers is listed yet, so it may or may not exist (it may appear later). "
                f"{check}",
                customer_order_id=customer_order_id,
            ) from cause
        log.info("Adopted disconnect %s for customer order id %s", found.id, customer_order_id)
        return self._completed(found, request)

    async def get_disconnect(self, disconnect_id: str) -> DisconnectDetails:
        """A disconnect's status and outcome: ``GET /disconnects/{id}``, the source of truth.

        .. versionadded:: 0.3
        """
        path = f"/disconnects/{id_segment('disconnect_id', disconnect_id)}"
        response = await self._request("GET", path, order_id=disconnect_id)
        return _xml.decode_disconnect_details(response.body, disconnect_id=disconnect_id)

    async def list_disconnects(
        self,
        *,
        status: OrderStatus | str | None = None,
        start_date: dt.date | str | None = None,
        end_date: dt.date | str | None = None,
        page_size: int = 300,
    ) -> AsyncGenerator[DisconnectSummary, None]:
        """Every disconnect of the account (``GET /disconnects``), page after page.

        Follows Bandwidth's paging for you: only the ``page`` and ``size`` of each page's
        ``next`` link are read; every page is asked of this client's own base URL, with the
        same filters. *status* is ``complete``, ``partial``, ``failed``...; *start_date* and
        *end_date* go together (Bandwidth takes them as a pair): a ``datetime.date`` is sent as
        ``YYYY-MM-DD``, a string as it is. *page_size* is 1 to 5000. An empty listing is
        Bandwidth's 204, or its 404 with a bare ``<Links>`` body.

        Raises:
            ValidationError: bad filters (before any request).
            DecodeError: the paging links lead back to a page already read.

        .. versionadded:: 0.3
        """
        check_both_or_neither(
            "start_date", start_date, "end_date", end_date, purpose="(Bandwidth takes a range)"
        )
        check_whole("page_size", page_size, minimum=1)
        if page_size > MAX_PAGE_SIZE:
            raise ValidationError(f"page_size={page_size} is above Bandwidth's {MAX_PAGE_SIZE}.")
        filters: dict[str, str] = {}
        for key, value in (
            ("status", str(status).lower() if status is not None else None),
            ("startdate", date_param("start_date", start_date)),
            ("enddate", date_param("end_date", end_date)),
        ):
            if value is not None:
                filters[key] = value
        rows = every_row(
            self._disconnect_page,
            filters,
            page_size=page_size,
            listing="Bandwidth's disconnect list",
            first_page=None,  # Bandwidth's default page, "1"
        )
        async with contextlib.aclosing(rows):
            async for row in rows:
                yield row

    async def _disconnect_page(
        self, params: dict[str, str]
    ) -> tuple[tuple[DisconnectSummary, ...], PageCursor | None]:
        try:
            response = await self._request("GET", "/disconnects", params=params)
        except NotFoundError as error:
            # Bandwidth documents "no disconnect orders" as a 404 whose body is <Links>.
            if _xml.is_bare_links(error.body):
                return (), None
            raise
        if response.status == 204:
            return (), None
        return _xml.decode_disconnect_list(response.body)

    async def find_disconnect(
        self,
        request: DisconnectRequest,
        *,
        since: dt.datetime,
        limit: int = DEFAULT_FIND_LIMIT,
    ) -> DisconnectOrder | None:
        """The disconnect *request* created, if it exists: ``None`` if none is found.

        Bandwidth's list of disconnects cannot be filtered by customer order id and its rows
        carry none, so this reads the disconnects dated *since* or later (at most *limit*
        rows) and keeps those of exactly *request*'s numbers, reading
        ``GET /disconnects/{id}`` for each candidate: a disconnect whose details name another
        customer order id is not the one. The date filter is widened by a day on each side
        (Bandwidth's days may not be UTC days) and *since* is then applied to each row's date.

        Raises:
            ValidationError: *since* is naive, or *limit* is below 1.
            AmbiguousOrderError: several disconnects match; which one is meant cannot be told.

        .. versionadded:: 0.3
        """
        if not isinstance(since, dt.datetime) or since.tzinfo is None:
            raise ValidationError("since= must be a timezone-aware datetime.")
        check_whole("limit", limit, minimum=1)
        now = dt.datetime.now(dt.UTC)
        rows = self.list_disconnects(
            start_date=(since - dt.timedelta(days=1)).astimezone(dt.UTC).date(),
            end_date=(now + dt.timedelta(days=1)).date(),
            page_size=min(limit, MAX_PAGE_SIZE),
        )
        matches: list[DisconnectOrder] = []
        read = 0
        async with contextlib.aclosing(rows):  # stopping early must not leave it suspended
            async for row in rows:
                read += 1
                if self._is_candidate(row, request, since):
                    found = await self._matching_details(row.id, request)
                    if found is not None:
                        matches.append(found)
                if read >= limit:
                    break
        if len(matches) > 1:
            ids = ", ".join(str(m.id) for m in matches)
            raise AmbiguousOrderError(
                f"{len(matches)} recent disconnects are of exactly the numbers "
                f"{', '.join(request.numbers)} ({ids}), so which one customer order id "
                f"{request.customer_order_id} created cannot be told; look at each with "
                "client.get_disconnect(disconnect_id).",
                customer_order_id=request.customer_order_id,
            )
        return matches[0] if matches else None

    @staticmethod
    def _is_candidate(
        row: DisconnectSummary, request: DisconnectRequest, since: dt.datetime
    ) -> bool:
        if row.ordered_at is not None and row.ordered_at < since:
            return False
        if row.numbers:
            return _same_numbers(row.numbers, request)
        return row.count_of_numbers is None or row.count_of_numbers == len(request.numbers)

    async def _matching_details(
        self, disconnect_id: str, request: DisconnectRequest
    ) -> DisconnectOrder | None:
        details = await self.get_disconnect(disconnect_id)
        order = details.order
        if not _same_numbers(order.numbers, request):
            return None
        if order.customer_order_id not in (None, request.customer_order_id):
            return None
        return attrs.evolve(order, id=details.id, status=details.status)
