"""Safe parsing: expat parsers that refuse DTDs and bound depth and element count.

Every document we read comes from the network, so no parse may fetch anything, expand an
entity, or grow without bound. Anything refused, malformed or of the wrong root becomes a
:class:`~bwnumbers.DecodeError` with a one-line reason and at most 512 bytes of the body.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Final, NoReturn
from xml.parsers import expat

from bwnumbers._exceptions import DecodeError

MAX_DEPTH: Final = 32
MAX_ELEMENTS: Final = 200_000


class Refused(Exception):
    """Raised inside expat callbacks to stop a document we will not parse."""


class _GuardedParser:
    """An expat parser that refuses DTDs and bounds depth and element count.

    xmltodict assigns its handlers after creating the parser, so the guard wraps them as they
    are assigned rather than subclassing anything. The wrapper is on the hot path of every
    callback, so it keeps its counters in closure cells and reads the depth from xmltodict's
    own element path when it can.
    """

    def __init__(self, parser: Any) -> None:
        object.__setattr__(self, "_parser", parser)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "StartElementHandler":
            self._guard(value)
            return
        if name == "EndElementHandler" and self._parser.EndElementHandler is not None:
            value = _chain(self._parser.EndElementHandler, value)
        elif name in ("EntityDeclHandler", "StartDoctypeDeclHandler"):
            return  # keep our refusal
        setattr(self._parser, name, value)

    def _guard(self, handler: Callable[..., Any]) -> None:
        path = getattr(getattr(handler, "__self__", None), "path", None)
        count = 0
        depth = 0

        def start(name: str, attrs: Any) -> Any:
            nonlocal count, depth
            count += 1
            if count > MAX_ELEMENTS:
                raise Refused(f"the document has more than {MAX_ELEMENTS} elements")
            # xmltodict's path holds the open ancestors of the element being started.
            if (len(path) if path is not None else depth) >= MAX_DEPTH:
                raise Refused(f"elements are nested deeper than {MAX_DEPTH} levels")
            if path is None:
                depth += 1
            return handler(name, attrs)

        def end(_: str) -> None:
            nonlocal depth
            depth -= 1

        self._parser.StartElementHandler = start
        if path is None:  # not xmltodict's handler: count depth ourselves
            self._parser.EndElementHandler = end


def _chain(first: Callable[..., Any], second: Callable[..., Any]) -> Callable[..., Any]:
    def both(*args: Any) -> Any:
        first(*args)
        return second(*args)

    return both


def _refuse_doctype(*_: Any) -> NoReturn:
    raise Refused("a DOCTYPE is not allowed")


def _refuse_entity(*_: Any) -> NoReturn:
    raise Refused("entity declarations and references are not allowed")


def refusing_parser(encoding: str | None = None, namespace_separator: str | None = None) -> Any:
    """An expat parser that refuses any DTD and never resolves an external entity.

    It does not bound depth or element count: a caller that sets its own element handlers
    enforces :data:`MAX_DEPTH` and :data:`MAX_ELEMENTS` itself.
    """
    parser = expat.ParserCreate(encoding, namespace_separator)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    # External entities are never fetched: expat only calls this handler, which refuses.
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


class GuardedExpat:
    """The ``expat`` module interface xmltodict asks for, handing out guarded parsers."""

    ExpatError = expat.ExpatError

    @staticmethod
    def ParserCreate(
        encoding: str | None = None, namespace_separator: str | None = None
    ) -> _GuardedParser:
        return _GuardedParser(refusing_parser(encoding, namespace_separator))


def checked_bytes(body: bytes) -> bytes:
    """*body* as ``bytes``, refusing other types and empty or blank bodies."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise DecodeError("Expected the XML body as bytes.")
    data = body if isinstance(body, bytes) else bytes(body)
    if not data or data.isspace():
        raise DecodeError("Expected an XML document but the body is empty.", body=data)
    return data


@contextlib.contextmanager
def decoding(data: bytes) -> Iterator[None]:
    """Turn every way a parse of *data* can fail into a one-line DecodeError."""
    try:
        yield
    except Refused as exc:
        raise DecodeError(f"Refused the XML document: {exc}.", body=data[:512]) from None
    except (expat.ExpatError, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DecodeError(f"The body is not well-formed XML ({reason}).", body=data[:512]) from None


def check_root(root: str, expected: tuple[str, ...] | None, data: bytes) -> str:
    """The name of *root* without a namespace prefix, which must be one of *expected*.

    *expected* ``None`` accepts any root.
    """
    root_name = root.rpartition(":")[2]
    if expected is not None and root_name not in expected:
        wanted = " or ".join(f"<{r}>" for r in expected)
        raise DecodeError(f"Expected {wanted} but the document is <{root}>.", body=data[:512])
    return root_name
