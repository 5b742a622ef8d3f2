"""Bandwidth's published Numbers specification, as excerpts, and how an answer is compared with it.

``tests/data/numbers_spec/excerpts.json`` holds what the conformance test needs of
``site/specs/numbers.yml`` in https://github.com/Bandwidth/api-docs at commit 2fcdf57e (made
by ``extract.py`` beside it): for each operation the emulator implements, its request examples,
its response examples and the element names its response schema allows.

An answer is compared by element *paths* (``OrderResponse/Order/Name``): names and nesting,
not order, counts or text. A path of the answer is fine when the specification's example or its
schema has it; a path of the example the answer lacks is a difference too. Two rules keep the
comparison about the emulator rather than about which example was sent:

- the order type element (``AreaCodeSearchAndOrderType``, ``ExistingTelephoneNumberOrderType``...)
  is compared by role: it becomes ``{OrderType}`` and what is below it is checked against the
  request that was sent (:func:`order_type_echo`), not against another example's order type;
- an element of an ``<Order>`` that the request did not send is not missing from the answer's
  echo of it: in a refusal (4xx), which echoes what was sent, any element; in an acceptance,
  the optional ones that the emulator does not fill in (``TnAttributes``, ``PeerId``,
  ``CustomerOrderId``, ``ReservationIdList``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # the specification's own examples and the emulator's answers
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SPEC_FILE = Path(__file__).parent / "data" / "numbers_spec" / "excerpts.json"
SPEC: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
OPERATIONS: dict[str, dict[str, Any]] = {op["operation_id"]: op for op in SPEC["operations"]}

ORDER_TYPE = "{OrderType}"
_ORDER_TYPE_NAME = re.compile(r"\w+SearchAndOrderType|ExistingTelephoneNumberOrderType")
# Elements of <Order> that appear in an order's echo only when the request sent them.
_ECHOED_IF_SENT = frozenset({"CustomerOrderId", "PeerId", "TnAttributes", "ReservationIdList"})


def parse(body: bytes | str) -> ET.Element | None:
    """The root element of *body*, or ``None`` for an empty body."""
    data = body.encode() if isinstance(body, str) else body
    if not data.strip():
        return None
    return ET.fromstring(data.strip())  # noqa: S314 - trusted: the spec's examples, our emulator


def paths(root: ET.Element | None) -> set[str]:
    """Every element path below and including *root*, the order type element by its role."""
    found: set[str] = set()

    def walk(element: ET.Element, prefix: str) -> None:
        name = ORDER_TYPE if _ORDER_TYPE_NAME.fullmatch(element.tag) else element.tag
        path = f"{prefix}/{name}" if prefix else name
        found.add(path)
        if name != ORDER_TYPE:
            for child in element:
                if isinstance(child.tag, str):  # comments are not elements
                    walk(child, path)

    if root is not None:
        walk(root, "")
    return found


def schema_allows(schema: Mapping[str, Any], path: str) -> bool:
    """Whether the flattened response *schema* has an element at *path* (``*``: any name)."""
    level: Mapping[str, Any] = schema
    for name in path.split("/"):
        if name == ORDER_TYPE:
            return any(_ORDER_TYPE_NAME.fullmatch(key) for key in level)
        if name in level:
            level = level[name]
        elif "*" in level:
            level = level["*"]
        else:
            return False
    return True


def order_children(request: ET.Element | None) -> set[str]:
    """The paths of the elements an ``<Order>`` request sent, below ``Order``."""
    if request is None:
        return set()
    return {path.partition("/")[2] for path in paths(request)} - {""}


def differences(
    operation: Mapping[str, Any],
    status: int,
    answer: bytes,
    *,
    example: str | None = None,
    sent: ET.Element | None = None,
) -> list[str]:
    """How *answer* (with *status*) differs from the specification of *operation*.

    Compared with the response example named *example* if there is one, else with every
    example of that status; *sent* is the ``<Order>`` the answer echoes, if any.
    """
    response = operation["responses"].get(str(status))
    if response is None:
        documented = ", ".join(sorted(operation["responses"]))
        return [f"status {status} (documented: {documented})"]
    examples: Mapping[str, str] = response["examples"]
    chosen = [examples[example]] if example in examples else list(examples.values())
    expected: set[str] = set().union(*(paths(parse(text)) for text in chosen))
    ours = paths(parse(answer))
    sent_names = order_children(sent)
    unsent = _ECHOED_IF_SENT if status < 400 else None
    extra = sorted(
        p
        for p in ours - expected
        if not schema_allows(response["schema"], p) and not _sent_echo(p, sent_names)
    )
    missing = sorted(
        p
        for p in expected - ours
        if not _unsent_echo(p, sent_names, unsent) and not _below_any(p, ours, expected)
    )
    return [f"extra {p}" for p in extra] + [f"missing {p}" for p in missing]


def _sent_echo(path: str, sent_names: set[str]) -> bool:
    """Whether *path* is an element of an echoed ``<Order>`` that the request sent."""
    head, _, below = path.partition("/Order/")
    return bool(below) and "/" not in head.strip("/") and below in sent_names


def _unsent_echo(path: str, sent_names: set[str], optional: frozenset[str] | None) -> bool:
    """Whether *path* is an element of an echoed ``<Order>`` that was not sent (and, with
    *optional*, is one of those)."""
    head, _, below = path.partition("/Order/")
    if not below or "/" in head.strip("/"):  # only the <Order> right below the root echoes
        return False
    top = below.split("/", 1)[0]
    return below not in sent_names and (optional is None or top in optional)


def _below_any(path: str, ours: set[str], expected: set[str]) -> bool:
    """Whether *path*'s parent is itself missing (only the topmost missing element is named)."""
    parent = path.rpartition("/")[0]
    return bool(parent) and parent in expected and parent not in ours


def order_type_echo(sent: ET.Element | None, answer: bytes) -> tuple[set[str], set[str]]:
    """The child names of the order type element sent, and of the one the answer echoes."""

    def children(root: ET.Element | None) -> set[str]:
        if root is None:
            return set()
        for element in root.iter():
            if isinstance(element.tag, str) and _ORDER_TYPE_NAME.fullmatch(element.tag):
                return {child.tag for child in element if isinstance(child.tag, str)}
        return set()

    return children(sent), children(parse(answer))


def implemented(
    every: Iterable[tuple[str, str]], routes: Iterable[tuple[str, re.Pattern[str]]]
) -> set[tuple[str, str]]:
    """The specification's operations ``(METHOD, path)`` that one of the emulator's *routes*
    (method and path pattern) answers below ``/api/v1``.

    A route answers an operation when it matches the operation's path with its parameters
    filled in, and its own literal segments are the operation's: a route whose parameter would
    take a literal segment of the path (``/orders/{id}`` for ``/orders/totals``) does not count.
    """
    routes = list(routes)

    def answers(method: str, path: str, route_method: str, pattern: re.Pattern[str]) -> bool:
        segments = ["x1" if s.startswith("{") else s for s in f"/api/v1{path}".split("/")]
        if route_method != method or not pattern.fullmatch("/".join(segments)):
            return False
        for index, segment in enumerate(segments):
            if segment not in ("", "x1"):
                probe = [*segments[:index], "x2", *segments[index + 1 :]]
                if pattern.fullmatch("/".join(probe)):
                    return False
        return True

    return {
        (method, path)
        for method, path in every
        if any(answers(method, path, m, pattern) for m, pattern in routes)
    }
