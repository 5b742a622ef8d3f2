"""The choke point of :class:`NumbersClient`: every API request goes through :meth:`_request`.

It is the one place that builds the URL and headers, takes the access token, passes the
rate-limit gate, applies the retry policy and maps error responses to bwnumbers exceptions;
sending the request itself is the :class:`~bwnumbers._transport.Transport`'s job.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote, urlsplit

from . import _auth, _rate_sharing, _ratelimit, _retry, _xml
from ._api_errors import api_error
from ._exceptions import APIError, BWNumbersError
from ._retry import RetryPolicy
from ._shared import shared
from ._store import OrderStore
from ._transport import Request, Response, Transport

__all__ = ["ApiBase", "ClientState", "location_id"]

log = logging.getLogger("bwnumbers.client")

_XML: Final = "application/xml; charset=utf-8"


class ClientState(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


def location_id(headers: Mapping[str, str]) -> str | None:
    """The id at the end of a ``Location`` header (a created order or subscription)."""
    location = headers.get("Location")
    if not location:
        return None
    last = urlsplit(location).path.rstrip("/").rpartition("/")[2]
    return last or None


class ApiBase:
    """Sends API requests for :class:`NumbersClient`, which sets these attributes up."""

    account_id: str
    base_url: str
    retry: RetryPolicy
    _auth: _auth.Authenticator
    _transport: Transport
    _timeout: float
    _connect_timeout: float
    _user_agent: str
    _max_rate: Mapping[str, float]
    _gate: _ratelimit.RateGate | None
    _state: ClientState
    store: OrderStore | None

    def _open_transport(self) -> Transport:
        """The transport, once it is certain that this client is not closed."""
        if self._state is ClientState.CLOSED:
            raise RuntimeError("This NumbersClient is closed; create a new one to send requests.")
        self._state = ClientState.OPENED
        return self._transport

    def _ensure_gate(self) -> _ratelimit.RateGate:
        if self._gate is None:
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
            self._gate = _rate_sharing.shared.attach(origin, self.account_id)
            self._gate.pace(self._max_rate)
            store = shared(self.store)
            if store is not None:  # a 429 here pauses every instance
                store.use_client(self)  # type: ignore[arg-type]  # a NumbersClient
                store.share_rate_limits(self._gate)
        return self._gate

    def _url(self, path: str, *, in_account: bool = True) -> str:
        if not in_account:  # /tns/{tn}: one of the few paths not under the account
            return f"{self.base_url}{path}"
        return f"{self.base_url}/accounts/{quote(self.account_id, safe='')}{path}"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        idempotent: bool = True,
        order_id: str | None = None,
        in_account: bool = True,
    ) -> Response:
        """Send one API request with retries; return a 2xx response or raise.

        *path* is below ``/accounts/{accountId}``, or with *in_account* false below the base
        URL itself (``/tns/{tn}``). Non-idempotent requests (*idempotent* false) are retried
        only when they provably did not execute: refused before sending, or answered 429 or
        401 (see :meth:`_send`).
        """
        self._open_transport()
        label = f"{method} {path}"
        if body is not None:
            log.debug("%s request body: %s", label, _xml.redact(body))

        async def send() -> Response:
            return await self._send(method, path, params, body, in_account=in_account)

        def error_for(response: Response) -> APIError:
            return api_error(
                response,
                method=method,
                path=path,
                order_id=order_id,
                auth=self._auth,
                account_id=self.account_id,
                base_url=self.base_url,
            )

        response = await _retry.with_retries(
            send,
            error_for,
            policy=self.retry,
            idempotent=idempotent,
            label=label,
            gate=self._ensure_gate(),
            group=_ratelimit.group_of(method, path),
        )
        if response.body:
            log.debug("%s response body: %s", label, _xml.redact(response.body))
        return response

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: bytes | None,
        *,
        in_account: bool = True,
    ) -> Response:
        """One attempt, re-sent once with a new token when the API answers 401.

        A 401 means the request was not executed, so re-sending is safe even for
        ``POST /orders``. Every request refused with the same token shares one renewal.
        """
        try:
            authorization = await self._auth.authorization()
        except BWNumbersError as error:
            raise _retry.GiveUp(error) from None
        url = self._url(path, in_account=in_account)
        response = await self._exchange(method, path, url, params, body, authorization)
        if response.status != 401:
            return response
        try:
            renewed = await self._auth.renew(authorization)
        except BWNumbersError as error:
            raise _retry.GiveUp(error) from None
        if renewed is None:
            return response
        log.info("%s %s answered 401; re-sending it once with a new access token", method, path)
        return await self._exchange(method, path, url, params, body, renewed)

    async def _exchange(
        self,
        method: str,
        path: str,
        url: str,
        params: Mapping[str, str] | None,
        body: bytes | None,
        authorization: str,
    ) -> Response:
        headers = {
            "Authorization": authorization,
            "User-Agent": self._user_agent,
            "Accept": "application/xml",
        }
        if body is not None:
            headers["Content-Type"] = _XML
        request = Request(
            method=method,
            url=url,
            path=path,
            headers=headers,
            params=params,
            body=body,
            timeout=self._timeout,
            connect_timeout=self._connect_timeout,
        )
        return await self._open_transport().send(request)
