"""The ``bwnumbers`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._version import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bwnumbers`` command."""
    parser = argparse.ArgumentParser(
        prog="bwnumbers", description="Bandwidth phone numbers from the command line."
    )
    parser.add_argument("--version", action="version", version=f"bwnumbers {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
