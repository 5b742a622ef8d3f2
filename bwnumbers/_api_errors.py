"""Turn an API error response into the bwnumbers exception, with a sentence saying what to do.

A 401 or 403 is the error a newcomer meets first, and Bandwidth's own words for it ("Access
Denied") say nothing about which credentials were refused or why; so the exception adds which
credentials the request used (never a secret) and what to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from . import _transport, _xml
from ._auth import Authenticator
from ._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from ._transport import Response

__all__ = ["api_error"]

_STATUS_ERRORS: Final[Mapping[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def api_error(
    response: Response,
    *,
    method: str,
    path: str,
    order_id: str | None,
    auth: Authenticator,
    account_id: str,
    base_url: str,
) -> APIError:
    """The exception for an error *response* to ``method path``."""
    code, description, errors = _xml.decode_error(response.body)
    status = response.status
    cls = _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(
        status=status,
        code=code,
        description=description or _transport.reason(status),
        body=response.body,
        errors=errors,
        method=method,
        path=path,
        order_id=order_id,
        hint=refusal_hint(status, auth, account_id=account_id, base_url=base_url),
    )


def refusal_hint(status: int, auth: Authenticator, *, account_id: str, base_url: str) -> str | None:
    """What to check after a 401 or 403, naming the credentials used; ``None`` otherwise."""
    if status == 401:
        return auth.refused(f"account {account_id} at base_url={base_url!r}")
    if status == 403:
        return (
            f"The request used {auth.describe()}, which Bandwidth accepted but does not allow "
            "to do this: check in the Bandwidth App that it has the role this request needs "
            f"(the Numbers role, to search and order numbers) and access to account {account_id}."
        )
    return None
