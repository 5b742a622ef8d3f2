"""What the account owns: its in-service numbers, one number's details, an order's numbers.

``GET /inserviceNumbers`` is paged by ``<Links>`` whose host and prefix vary
(``reference/lifecycle.md`` §3.1, §5): only each link's ``page`` and ``size`` are read, and the
next page is asked of the configured base URL with the same filters, so neither credentials
nor filters are ever handed to a host the caller did not choose. ``GET /tns/{tn}`` lives
outside ``/accounts/{accountId}`` (§3.2).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Final

from ._api import ApiBase
from ._checks import check_whole, id_segment
from ._exceptions import NotFoundError, ValidationError
from ._number_models import NumberInfo, NumberStatus
from ._numbers import normalize_number
from ._paging import date_param, every_row
from ._search import _FORMATS as SEARCH_FORMATS
from ._xml import _lifecycle
from ._xml._links import PageCursor

__all__ = ["InventoryMethods", "NumberInfo", "NumberStatus"]

#: The SPEC's page size default for ``/inserviceNumbers``.
DEFAULT_PAGE_SIZE: Final = 300

# The filters of /inserviceNumbers: keyword -> the SPEC's query parameter (all lower case;
# OLDSPEC and the site-level endpoint spell them camelCase, which is not sent).
_FILTERS: Final = {
    "area_code": "areacode",
    "npa_nxx": "npanxx",
    "lata": "lata",
    "state": "state",
    "rate_center": "ratecenter",
}


def in_service_query(
    *,
    area_code: str | None,
    npa_nxx: str | None,
    lata: str | None,
    state: str | None,
    rate_center: str | None,
    start_date: dt.date | str | None,
    end_date: dt.date | str | None,
) -> dict[str, str]:
    """The filters of :meth:`InventoryMethods.list_in_service_numbers` as query parameters.

    Raises:
        ValidationError: a filter is malformed, or *rate_center* comes without *state*
            (the SPEC: without it "the query will fail").
    """
    given = {
        "area_code": area_code,
        "npa_nxx": npa_nxx,
        "lata": lata,
        "state": state,
        "rate_center": rate_center,
    }
    query: dict[str, str] = {}
    for name, value in given.items():
        if value is None:
            continue
        pattern, expected = SEARCH_FORMATS[name]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValidationError(f"{name}={value!r} is invalid: expected {expected}.")
        query[_FILTERS[name]] = value.upper() if name == "state" else value
    if rate_center is not None and state is None:
        raise ValidationError(
            "rate_center= needs state= too: Bandwidth cannot list by rate center alone."
        )
    for name, param, date in (
        ("start_date", "startdate", start_date),
        ("end_date", "enddate", end_date),
    ):
        # assumed: yyyy-mm-dd, as Bandwidth's other list endpoints take (the SPEC's example
        # for this one reads yy-mm-dd, which it also parses as a date); a string goes as is.
        text = date_param(name, date)
        if text is not None:
            query[param] = text
    return query


class InventoryMethods(ApiBase):
    """List and look up the numbers the account owns (mixed into NumbersClient)."""

    async def list_in_service_numbers(
        self,
        *,
        area_code: str | None = None,
        npa_nxx: str | None = None,
        lata: str | None = None,
        state: str | None = None,
        rate_center: str | None = None,
        start_date: dt.date | str | None = None,
        end_date: dt.date | str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[str]:
        """Every in-service number of the account, page after page: ``GET /inserviceNumbers``.

        An async iterator::

            async for number in client.list_in_service_numbers(area_code="540"):
                ...

        *rate_center* needs *state*; *start_date* and *end_date* filter by activation or
        change date. Each page is asked for with the same filters at the configured base URL
        (*page_size* numbers at a time); an empty answer (204, or a 404 that is only
        ``<Links>``) ends the list.

        Raises:
            ValidationError: a malformed filter, when iteration starts (nothing sent).
            DecodeError: Bandwidth's paging sent a page seen before (iteration stops rather
                than loop forever), or a page is not the expected XML.

        .. versionadded:: 0.3
        """
        query = in_service_query(
            area_code=area_code,
            npa_nxx=npa_nxx,
            lata=lata,
            state=state,
            rate_center=rate_center,
            start_date=start_date,
            end_date=end_date,
        )
        check_whole("page_size", page_size, minimum=1)
        rows = every_row(
            self._number_page,
            query,
            page_size=page_size,
            listing="Bandwidth's in-service list",
        )
        async with contextlib.aclosing(rows):
            async for number in rows:
                yield number

    async def _number_page(
        self, params: dict[str, str]
    ) -> tuple[tuple[str, ...], PageCursor | None]:
        try:
            response = await self._request("GET", "/inserviceNumbers", params=params)
        except NotFoundError as error:
            if _lifecycle.is_links_only(error.body):
                return (), None  # "nothing here", as the SPEC's list endpoints answer it
            raise
        if response.status == 204 or not response.body.strip():
            return (), None
        return _lifecycle.decode_number_page(response.body)

    async def get_number(self, number: str) -> NumberInfo:
        """A number's status, site and the last order that touched it: ``GET /tns/{tn}``.

        Raises:
            ValidationError: *number* is not a North American number (nothing sent).
            NotFoundError, BadRequestError: Bandwidth does not know the number, or it is not
                on your accounts.

        .. versionadded:: 0.3
        """
        tn = normalize_number(number)
        response = await self._request("GET", f"/tns/{tn}", in_account=False)
        return _lifecycle.decode_number_info(response.body, number=tn)

    async def get_order_numbers(self, order_id: str) -> tuple[str, ...]:
        """The numbers of an order: ``GET /orders/{id}/tns`` (unpaged).

        .. versionadded:: 0.3
        """
        path = f"/orders/{id_segment('order_id', order_id)}/tns"
        response = await self._request("GET", path, order_id=order_id)
        if response.status == 204 or not response.body.strip():
            return ()
        return _lifecycle.decode_order_numbers(response.body)
