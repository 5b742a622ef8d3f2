"""``bwnumbers emulator``: the Bandwidth API emulator for tests in any language."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import shlex
import signal
from typing import Any

from bwnumbers.testing import BandwidthEmulator

from ._exit_codes import ListenError
from ._output import note

_EVERY_INTERFACE = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names, not a bind


async def emulator(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM, after printing how to connect."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    options: dict[str, Any] = {
        "client_id": args.client_id,
        "client_secret": args.client_secret,
        "inventory_size": args.inventory_size,
        "reservation_lifetime": args.reservation_lifetime,
        "aging_period": args.aging_period,
    }
    limits = {
        group: limit
        for group, limit in (("ORDER", args.order_limit), ("SEARCH", args.search_limit))
        if limit is not None
    }
    bandwidth = BandwidthEmulator(
        host=args.host,
        port=args.port,
        seed=args.seed,
        password=args.password,
        rate_limits=limits,
        **{name: value for name, value in options.items() if value is not None},
    )
    try:
        await bandwidth.start()
    except OSError as error:
        raise ListenError(_cannot_listen(args.host, args.port, error)) from None
    try:
        bandwidth.faults.rate_limit_header = args.rate_limit_header
        _print_settings(bandwidth, args, limits)
        await stop.wait()
    finally:
        await bandwidth.stop()
    print("Stopped.", flush=True)
    return 0


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    where = f"[{host}]" if ":" in host else host
    where += f":{port}" if port else ""  # port 0 means "any free port"
    if error.errno == errno.EADDRINUSE:
        return (
            f"Cannot listen on {where}: the port is already in use; choose another --port, "
            "or leave --port out to get a free one."
        )
    reason = error.strerror or str(error)
    return f"Cannot listen on {where}: {reason}; check --host and --port."


def _print_settings(
    bandwidth: BandwidthEmulator, args: argparse.Namespace, limits: dict[str, Any]
) -> None:
    # `key: value` lines that clients in other languages parse; keep the keys stable.
    for key, value in (
        ("base_url", bandwidth.base_url),
        ("account_id", bandwidth.account_id),
        ("client_id", bandwidth.client_id),
        ("client_secret", bandwidth.client_secret),
        ("token_url", bandwidth.token_url),
        ("username", bandwidth.username),
        ("password", bandwidth.password),
        ("site_id", bandwidth.site_id),
    ):
        print(f"{key + ':':<14} {value}")
    for group, limit in limits.items():
        print(f"{group.lower() + '_limit:':<14} {limit}")
    if limits or args.rate_limit_header != "seconds":
        print(f"rate_limit_header: {args.rate_limit_header}")
    print(
        f"export BW_CLIENT_ID={shlex.quote(bandwidth.client_id)} "
        f"BW_CLIENT_SECRET={shlex.quote(bandwidth.client_secret)} "
        f"BW_ACCOUNT_ID={shlex.quote(bandwidth.account_id)} "
        f"BW_BASE_URL={shlex.quote(bandwidth.base_url)}",
        flush=True,
    )
    if args.host in _EVERY_INTERFACE:
        note(
            args.command,
            f"listening on every interface, port {bandwidth.port}; base_url uses loopback for "
            "this machine: from another machine, use this machine's address instead",
        )
    print("Serving; press Ctrl-C to stop.", flush=True)
