"""What the SDK logs, as the command shows it on stderr.

Without ``--verbose``, warnings only, one line each, prefixed like the command's own messages.
With ``--verbose``, every ``bwnumbers`` DEBUG line, the XML bodies pretty-printed here (the
library keeps its one-line body logs, which services prefer). Only the ``bwnumbers`` loggers
are configured, never the root logger, so asyncio's own DEBUG lines stay out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Iterator

_TOKEN = re.compile(r"<[^>]*>|[^<]+")
_BODY = " body: <"


def pretty_xml(text: str, indent: str = "  ") -> str:
    """*text* indented one element per line; text-only elements stay on one line.

    A tokenizer, not a parser: it expands no entity and fetches nothing, so it is safe on any
    body, and it leaves a malformed body readable rather than failing.
    """
    tokens = [token.strip() for token in _TOKEN.findall(text) if token.strip()]
    lines: list[str] = []
    depth = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("</"):
            depth = max(depth - 1, 0)
            lines.append(indent * depth + token)
        elif token.startswith(("<?", "<!")) or token.endswith("/>") or not token.startswith("<"):
            lines.append(indent * depth + token)
        elif i + 2 < len(tokens) and tokens[i + 2].startswith("</") and tokens[i + 1][0] != "<":
            lines.append(indent * depth + "".join(tokens[i : i + 3]))
            i += 2
        else:
            lines.append(indent * depth + token)
            depth += 1
        i += 1
    return "\n".join(lines)


class _VerboseFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        head, found, body = text.partition(_BODY)
        if not found:
            return text
        pretty = pretty_xml("<" + body)
        return f"{head} body:\n" + "\n".join("    " + line for line in pretty.splitlines())


class _CommandFormatter(logging.Formatter):
    def __init__(self, command: str) -> None:
        super().__init__()
        self._command = command

    def format(self, record: logging.LogRecord) -> str:
        return f"bwnumbers {self._command}: {record.levelname.lower()}: {record.getMessage()}"


def _not_while_interrupted(record: logging.LogRecord) -> bool:
    """Drop what the SDK logs while Ctrl-C unwinds the command: the command says it itself."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        return True
    return task is None or not task.cancelling()


@contextlib.contextmanager
def logging_for(command: str, *, verbose: bool) -> Iterator[None]:
    """Show the ``bwnumbers`` loggers on stderr while the command runs."""
    logger = logging.getLogger("bwnumbers")
    handler = logging.StreamHandler(sys.stderr)
    level = logger.level
    if verbose:
        handler.setFormatter(_VerboseFormatter("%(name)s %(levelname)s %(message)s"))
        logger.setLevel(logging.DEBUG)
    else:
        handler.setLevel(logging.WARNING)
        handler.setFormatter(_CommandFormatter(command))
        handler.addFilter(_not_while_interrupted)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
