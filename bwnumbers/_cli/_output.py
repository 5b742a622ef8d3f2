"""What the commands say on stderr: one line each, prefixed with the command."""

from __future__ import annotations

import sys


def note(command: str, text: str) -> None:
    """Say *text* on stderr as ``bwnumbers COMMAND: text``, at once."""
    print(f"bwnumbers {command}: {text}", file=sys.stderr, flush=True)
