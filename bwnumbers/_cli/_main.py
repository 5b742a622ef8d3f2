"""``bwnumbers.cli.main``: parse, run one command, turn its outcome into an exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bwnumbers._exceptions import BWNumbersError, ValidationError

from ._exit_codes import EXIT_CODES, ExitCode, exit_code_for
from ._flags import speak_flags
from ._logging import logging_for
from ._parser import build_parser, check

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _command(name: str) -> Command:
    """The coroutine function of command *name*, imported only when it runs."""
    if name == "demo":
        from ._demo import demo

        return demo
    if name == "emulator":
        from ._emulator import emulator

        return emulator
    if name == "order":
        from ._order import order

        return order
    if name in ("reserve", "unreserve", "release", "list"):
        from ._numbers import list_numbers, release, reserve, unreserve

        return {
            "reserve": reserve,
            "unreserve": unreserve,
            "release": release,
            "list": list_numbers,
        }[name]
    from ._account import order_status, search

    return {"search": search, "order-status": order_status}[name]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see ``bwnumbers --help``)."""
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:
            # The command's own parser, so that its usage and its flags are the ones shown.
            (parser.commands.get(args.command) or parser).error(
                f"unrecognized arguments: {' '.join(extras)}"
            )
        check(parser, args)
    except SystemExit as done:  # --help and --version exit 0; argparse's usage errors exit 2
        code = done.code if isinstance(done.code, int) else 0
        return ExitCode.USAGE if code == 2 else code
    if args.command is None:
        parser.print_help(sys.stderr)
        print(
            f"bwnumbers: error: no command given; choose one of {', '.join(parser.commands)}",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    with logging_for(args.command, verbose=getattr(args, "verbose", False)):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_command(args.command)(args))
    except KeyboardInterrupt:
        # Ctrl-C: asyncio.run cancelled the command, which said what it left behind.
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``); stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces a dead stdout for exit
        return ExitCode.ERROR
    except Exception as error:  # one line, never a traceback, even for our own bugs
        print(f"bwnumbers {args.command}: {_describe(error)}", file=sys.stderr)
        return exit_code_for(error)


def _describe(error: Exception) -> str:
    """The error line: the message in flags, and any note added on the way (what to do)."""
    expected = isinstance(error, BWNumbersError) or type(error) in EXIT_CODES
    message = str(error)
    if isinstance(error, ValidationError):
        message = speak_flags(message)
    message = " ".join([message, *getattr(error, "__notes__", ())])
    return (
        f"error: {message}" if expected else f"unexpected error: {type(error).__name__}: {message}"
    )
