"""The ``bwnumbers`` command: a front end, with no business logic of its own."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from ._version import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bwnumbers`` command."""
    parser = argparse.ArgumentParser(
        prog="bwnumbers", description="Bandwidth phone numbers from the command line."
    )
    parser.add_argument("--version", action="version", version=f"bwnumbers {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    emulator = commands.add_parser(
        "emulator",
        help="run the local Bandwidth API emulator until Ctrl-C",
        description="Run the Bandwidth Dashboard API emulator on loopback, for tests in any "
        "language. Prints the base URL, account and credentials, then serves until Ctrl-C.",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    emulator.add_argument("--seed", type=int, default=0, help="inventory and id seed (default 0)")
    emulator.add_argument("--password", help="API password to accept (default: random)")
    return parser


async def _run_emulator(args: argparse.Namespace) -> int:
    from .testing import BandwidthEmulator

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    async with BandwidthEmulator(
        host=args.host, port=args.port, seed=args.seed, password=args.password
    ) as emulator:
        print(f"base_url:   {emulator.base_url}")
        print(f"account_id: {emulator.account_id}")
        print(f"username:   {emulator.username}")
        print(f"password:   {emulator.password}")
        print(f"site_id:    {emulator.site_id}")
        print("Serving; press Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("Stopped.", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    assert args.command == "emulator"  # argparse rejects anything else
    return asyncio.run(_run_emulator(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
