"""The ``bwnumbers`` command: a front end, with no business logic of its own.

``demo`` runs Bandwidth's ordering guide on the embedded emulator; ``emulator`` serves the
emulator for tests in any language; ``search``, ``order`` and ``order-status`` work on a real
account (``BW_*`` variables) or, with ``--emulator``, on the embedded emulator. Errors print one
line, never a traceback, and exit with a code scripts can branch on (``bwnumbers --help``).
The implementation lives in ``bwnumbers._cli``.
"""

from __future__ import annotations

import sys

from ._cli._main import main
from ._cli._parser import build_parser

__all__ = ["build_parser", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
