"""A fake of the client's transport seam: records each Request, answers with canned Responses.

Tests of request building and response handling use it instead of patching aiohttp, so they
run on any aiohttp version (aioresponses cannot patch aiohttp 3.14 and later).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import attrs

from bwnumbers._transport import Request, Response

Answer = Response | BaseException | Callable[[Request], Response]


@attrs.define
class _Route:
    method: str
    path: str | re.Pattern[str]
    answer: Answer
    repeat: bool

    def matches(self, request: Request) -> bool:
        if request.method != self.method:
            return False
        if isinstance(self.path, str):
            return request.path == self.path
        return self.path.fullmatch(request.path) is not None


class FakeTransport:
    """Answers each request with the first canned answer whose method and path match.

    A path is the API path below the account (``/orders/o1``) or the token URL's path, given
    as a string or a compiled pattern; query parameters are in ``Request.params``. An answer is
    used once unless *repeat*; a request nothing answers fails the test with an AssertionError.
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._routes: list[_Route] = []

    def add(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        status: int = 200,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        exception: BaseException | None = None,
        answer: Callable[[Request], Response] | None = None,
        repeat: bool = False,
    ) -> None:
        canned: Answer = (
            exception or answer or Response(status=status, headers=dict(headers or {}), body=body)
        )
        self._routes.append(_Route(method, path, canned, repeat))

    def get(self, path: str | re.Pattern[str], **kwargs: object) -> None:
        self.add("GET", path, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str | re.Pattern[str], **kwargs: object) -> None:
        self.add("POST", path, **kwargs)  # type: ignore[arg-type]

    def put(self, path: str | re.Pattern[str], **kwargs: object) -> None:
        self.add("PUT", path, **kwargs)  # type: ignore[arg-type]

    def delete(self, path: str | re.Pattern[str], **kwargs: object) -> None:
        self.add("DELETE", path, **kwargs)  # type: ignore[arg-type]

    def calls(self, method: str, path: str | None = None) -> list[Request]:
        """The requests made with *method* (to *path* when given), in order."""
        return [r for r in self.requests if r.method == method and (path is None or r.path == path)]

    async def send(self, request: Request) -> Response:
        self.requests.append(request)
        for index, route in enumerate(self._routes):
            if route.matches(request):
                if not route.repeat:
                    del self._routes[index]
                if isinstance(route.answer, BaseException):
                    raise route.answer
                if isinstance(route.answer, Response):
                    return route.answer
                return route.answer(request)
        raise AssertionError(f"The fake transport has no answer for {request.label}.")
