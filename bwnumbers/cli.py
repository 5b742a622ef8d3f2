"""The ``bwnumbers`` command: a front end, with no business logic of its own.

``demo`` runs Bandwidth's ordering guide on the embedded emulator; ``emulator`` serves the
emulator for tests in any language; ``search``, ``order`` and ``order-status`` work on a real
account (``BW_*`` variables) or, with ``--emulator``, on the embedded emulator. Errors print one
line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shlex
import signal
import sys
import warnings
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ._version import __version__

_SEARCH_OPTIONS = (
    ("--area-code", "area_code"),
    ("--npa-nxx", "npa_nxx"),
    ("--npa-nxxx", "npa_nxxx"),
    ("--rate-center", "rate_center"),
    ("--city", "city"),
    ("--state", "state"),
    ("--zip", "zip"),
    ("--lata", "lata"),
    ("--local-vanity", "local_vanity"),
    ("--toll-free-vanity", "toll_free_vanity"),
    ("--toll-free-wildcard", "toll_free_wildcard_pattern"),
)


def _rate_limit(text: str) -> Any:
    """An argparse type: a ``RateLimit`` from ``PER_WINDOW[/WINDOW][+BURST]``."""
    from .testing import RateLimit

    try:
        return RateLimit.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bwnumbers`` command."""
    parser = argparse.ArgumentParser(
        prog="bwnumbers", description="Bandwidth phone numbers from the command line."
    )
    parser.add_argument("--version", action="version", version=f"bwnumbers {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run Bandwidth's ordering guide end to end on the embedded emulator",
        description="Subscribe, search, order, receive the callback, fetch the order, then "
        "recover from a number taken by another customer. No account, no network.",
    )
    demo.add_argument("--json", action="store_true", help="print one JSON object per step")
    demo.add_argument("--verbose", action="store_true", help="log the XML exchanged (no secrets)")
    demo.add_argument("--seed", type=int, default=0, help="emulator seed (default 0)")
    demo.add_argument(
        "--order-limit",
        type=_rate_limit,
        metavar="LIMIT",
        help="rate-limit the emulator's orders, PER_WINDOW[/WINDOW][+BURST] (e.g. 1/2), to see "
        "the client wait for Bandwidth's rate limit",
    )

    emulator = commands.add_parser(
        "emulator",
        help="run the local Bandwidth API emulator until Ctrl-C",
        description="Run the Bandwidth Dashboard API emulator on loopback, for tests in any "
        "language. Prints the base URL, account, OAuth client credentials, token URL and the "
        "legacy Basic credentials, then serves until Ctrl-C. Rate limits are per endpoint "
        "group, written PER_WINDOW[/WINDOW][+BURST]: 20/1+5 admits 20 requests per second "
        "(windows aligned to whole epoch seconds) and lets up to 5 unused ones carry over; "
        "100/60+700 is about Bandwidth's published limit. Over a limit the emulator answers 429 "
        "with X-RateLimit-Reset.",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    emulator.add_argument("--seed", type=int, default=0, help="inventory and id seed (default 0)")
    emulator.add_argument("--client-id", help="OAuth client id to accept (default emulator-client)")
    emulator.add_argument("--client-secret", help="OAuth client secret to accept (default: random)")
    emulator.add_argument(
        "--password", help="legacy API password (Basic) to accept (default: random)"
    )
    for group in ("order", "search"):
        emulator.add_argument(
            f"--{group}-limit",
            type=_rate_limit,
            metavar="LIMIT",
            help=f"rate limit {group.upper()} requests; LIMIT is PER_WINDOW[/WINDOW][+BURST], "
            "e.g. 20/1+5 (default: unlimited)",
        )
    emulator.add_argument(
        "--rate-limit-header",
        choices=("seconds", "milliseconds", "delta", "missing", "garbled", "past"),
        default="seconds",
        help="how a 429 gives X-RateLimit-Reset (default: epoch seconds, as Bandwidth)",
    )

    account = argparse.ArgumentParser(add_help=False)
    account.add_argument(
        "--emulator",
        action="store_true",
        help="use the embedded emulator instead of BW_* variables",
    )

    search = commands.add_parser(
        "search", parents=[account], help="search available numbers", description="Search "
        "available numbers (GET /availableNumbers)."
    )  # fmt: skip
    for flag, name in _SEARCH_OPTIONS:
        search.add_argument(flag, dest=name)
    search.add_argument("--quantity", type=int)
    search.add_argument("--details", action="store_true", help="show city, state, rate center")

    order = commands.add_parser(
        "order", parents=[account], help="order numbers", description="Order specific numbers."
    )
    order.add_argument("numbers", nargs="+", metavar="NUMBER")
    order.add_argument("--site-id", required=True)
    order.add_argument("--peer-id")
    order.add_argument("--name")
    order.add_argument("--partial", action="store_true", help="allow a partial order")
    order.add_argument("--wait", action="store_true", help="wait for the final status")
    order.add_argument("--timeout", type=float, help="seconds to wait with --wait")

    status = commands.add_parser(
        "order-status", parents=[account], help="show an order", description="Show an order."
    )
    status.add_argument("order_id", metavar="ID")
    return parser


# ---------------------------------------------------------------------- demo


def _print_step(step: Any, *, as_json: bool) -> None:
    if as_json:
        record = {"step": step.step, "elapsed_ms": round(step.elapsed_ms, 1), **step.data}
        record["message"] = step.message
        print(json.dumps(record), flush=True)
    else:
        print(f"[{step.elapsed_ms:7.0f} ms] {step.step:<15} {step.message}", flush=True)


async def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    await run_demo(
        lambda step: _print_step(step, as_json=args.json),
        seed=args.seed,
        rate_limits={"ORDER": args.order_limit} if args.order_limit else None,
    )
    return 0


# ---------------------------------------------------------------------- emulator


async def _emulator(args: argparse.Namespace) -> int:
    from .testing import BandwidthEmulator

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    options: dict[str, Any] = {"client_id": args.client_id, "client_secret": args.client_secret}
    limits = {
        group: limit
        for group, limit in (("ORDER", args.order_limit), ("SEARCH", args.search_limit))
        if limit is not None
    }
    async with BandwidthEmulator(
        host=args.host,
        port=args.port,
        seed=args.seed,
        password=args.password,
        rate_limits=limits,
        **{name: value for name, value in options.items() if value is not None},
    ) as emulator:
        emulator.faults.rate_limit_header = args.rate_limit_header
        # `key: value` lines that clients in other languages parse; keep the keys stable.
        for key, value in (
            ("base_url", emulator.base_url),
            ("account_id", emulator.account_id),
            ("client_id", emulator.client_id),
            ("client_secret", emulator.client_secret),
            ("token_url", emulator.token_url),
            ("username", emulator.username),
            ("password", emulator.password),
            ("site_id", emulator.site_id),
        ):
            print(f"{key + ':':<14} {value}")
        for group, limit in limits.items():
            print(f"{group.lower() + '_limit:':<14} {limit}")
        if limits or args.rate_limit_header != "seconds":
            print(f"rate_limit_header: {args.rate_limit_header}")
        print(
            f"export BW_CLIENT_ID={shlex.quote(emulator.client_id)} "
            f"BW_CLIENT_SECRET={shlex.quote(emulator.client_secret)} "
            f"BW_ACCOUNT_ID={shlex.quote(emulator.account_id)} "
            f"BW_BASE_URL={shlex.quote(emulator.base_url)}"
        )
        print("Serving; press Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("Stopped.", flush=True)
    return 0


# ---------------------------------------------------------------------- account commands


@contextlib.asynccontextmanager
async def _account(args: argparse.Namespace) -> AsyncIterator[tuple[Any, Any]]:
    """A client for BW_* or the embedded emulator, and the emulator (or None)."""
    from ._client import NumbersClient
    from ._rate_sharing import notices

    def waiting(line: str) -> None:
        print(f"bwnumbers {args.command}: waiting: {line}", file=sys.stderr, flush=True)

    with notices(waiting):
        async with _client(args, NumbersClient) as pair:
            yield pair


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace, cls: Any) -> AsyncIterator[tuple[Any, Any]]:
    if not args.emulator:
        # The Basic deprecation is for people here, not a Python warning with a file and line.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            client = cls.from_env()
        for warning in caught:
            print(f"bwnumbers {args.command}: warning: {warning.message}", file=sys.stderr)
        async with client:
            yield client, None
        return
    from .testing import BandwidthEmulator

    async with BandwidthEmulator() as emulator, emulator.client() as client:
        yield client, emulator


async def _search(args: argparse.Namespace) -> int:
    criteria: dict[str, Any] = {
        name: getattr(args, name) for _, name in _SEARCH_OPTIONS if getattr(args, name)
    }
    if args.quantity is not None:
        criteria["quantity"] = args.quantity
    if args.details:
        criteria["enable_tn_detail"] = True
    async with _account(args) as (client, _):
        found = await client.search_available_numbers(**criteria)
    for detail in found.details:
        place = f"{detail.city or '-'}, {detail.state or '-'}"
        print(f"{detail.number}  {place}  {detail.rate_center or '-'}")
    if not found.details:
        for number in found.numbers:
            print(number)
    print(f"{len(found.numbers)} number(s)", file=sys.stderr)
    return 0


async def _order(args: argparse.Namespace) -> int:
    from ._ordering import order_and_wait
    from ._receiver import CallbackReceiver

    async with _account(args) as (client, emulator):
        if not args.wait:
            order = await client.create_order(
                site_id=args.site_id,
                numbers=args.numbers,
                peer_id=args.peer_id,
                name=args.name,
                partial_allowed=args.partial,
            )
            print(f"order {order.id} {order.status} customer_order_id={order.customer_order_id}")
            return 0
        # A command line cannot receive callbacks from Bandwidth, so a real account is
        # waited for by polling alone; the emulator calls back to a local receiver.
        async with CallbackReceiver() as receiver:
            if emulator is not None:
                await client.ensure_subscription(receiver.url)
            result = await order_and_wait(
                client,
                receiver,
                site_id=args.site_id,
                numbers=args.numbers,
                peer_id=args.peer_id,
                name=args.name,
                partial_allowed=args.partial,
                timeout=args.timeout,
            )
        numbers = " ".join(result.completed_numbers)
        print(f"order {result.order_id} {result.status} {numbers} (via {result.source})")
        return 0


async def _order_status(args: argparse.Namespace) -> int:
    async with _account(args) as (client, _):
        details = await client.get_order(args.order_id)
    print(f"order {details.id} {details.status}")
    for number in details.completed_numbers:
        print(f"  completed {number}")
    for error in details.errors:
        print(f"  error {error.code}: {error.description} {error.number or ''}".rstrip())
    return 0


_COMMANDS = {
    "demo": _demo,
    "emulator": _emulator,
    "search": _search,
    "order": _order,
    "order-status": _order_status,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from ._exceptions import BWNumbersError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
    try:
        return asyncio.run(_COMMANDS[args.command](args))
    except BWNumbersError as exc:
        print(f"bwnumbers {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``); stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces a dead stdout for exit
        return 1
    except Exception as exc:  # a one-line error, never a traceback, even for our own bugs
        print(f"bwnumbers {args.command}: unexpected error: {type(exc).__name__}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
