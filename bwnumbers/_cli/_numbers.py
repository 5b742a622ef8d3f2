"""The commands for the rest of a number's life: ``reserve``, ``unreserve``, ``release``, ``list``.

``release`` means disconnect, as in Bandwidth's own ``band number release``. Each command
prints one line per thing on stdout, or with ``--json`` one JSON array (always an array, even
of one thing or none), so that a script reads every result the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bwnumbers._client import NumbersClient
from bwnumbers._exceptions import BWNumbersError, OrderTimeoutError
from bwnumbers._status import StatusUpdate

from ._account import account, refuse_emulator
from ._exit_codes import exit_code_for
from ._output import note
from ._parser import LIST_FILTERS

__all__ = ["list_numbers", "release", "reserve", "unreserve"]

#: The in-service filters of ``bwnumbers list``: flag dest -> the SDK keyword.


def _print_json(rows: Sequence[object]) -> None:
    print(json.dumps(list(rows)))


async def _each(
    args: argparse.Namespace,
    items: Sequence[str],
    act: Callable[[str], Awaitable[dict[str, Any]]],
    line: Callable[[dict[str, Any]], str],
) -> int:
    """Run *act* on every item, go on after a failure, and exit with the first failure's code.

    A bot reserving five numbers wants the four it got even when the fifth is taken.
    """
    rows: list[dict[str, Any]] = []
    code = 0
    for item in items:
        try:
            row = await act(item)
        except BWNumbersError as error:
            failed = exit_code_for(error)
            code = code or int(failed)
            note(args.command, f"error: {item}: {error}")
            row = {"item": item, "error": str(error), "exit_code": int(failed)}
        else:
            if not args.json:
                print(line(row), flush=True)
        rows.append(row)
    if args.json:
        _print_json(rows)
    return code


async def reserve(args: argparse.Namespace) -> int:
    """``bwnumbers reserve NUMBER...``: hold numbers (about 4 hours) while someone chooses."""
    async with account(args) as (client, _):

        async def act(number: str) -> dict[str, Any]:
            held = await client.reserve_number(number)
            return {
                "reservation_id": held.id,
                "number": held.number,
                "seconds_left": held.seconds_left,
                "expires_at": held.expires_at.isoformat() if held.expires_at else None,
            }

        def line(row: dict[str, Any]) -> str:
            left = row["seconds_left"]
            held = f"{left} s" if left is not None else "? s"
            until = f" until {row['expires_at']}" if row["expires_at"] else ""
            return f"{row['reservation_id']} {row['number']} {held}{until}"

        code = await _each(args, args.numbers, act, line)
    if args.emulator:
        note(args.command, "note: --emulator ran a fresh emulator: these reservations are gone")
    return code


async def unreserve(args: argparse.Namespace) -> int:
    """``bwnumbers unreserve RESERVATION_ID...``: give reserved numbers back."""
    refuse_emulator(args, "reservations")
    async with account(args) as (client, _):

        async def act(reservation_id: str) -> dict[str, Any]:
            await client.release_reservation(reservation_id)
            return {"reservation_id": reservation_id, "released": True}

        return await _each(args, args.reservation_ids, act, lambda row: row["reservation_id"])


async def list_numbers(args: argparse.Namespace) -> int:
    """``bwnumbers list``: the account's in-service numbers, every page of them."""
    refuse_emulator(args, "numbers")
    filters = {name: getattr(args, name) for name in LIST_FILTERS if getattr(args, name)}
    found: list[str] = []
    async with account(args) as (client, _):
        async for number in client.list_in_service_numbers(**filters):
            found.append(number)
            if not args.json:
                print(number, flush=True)
    if args.json:
        _print_json(found)
    note(args.command, f"{len(found)} number(s) in service")
    return 0


async def release(args: argparse.Namespace) -> int:
    """``bwnumbers release NUMBER...``: disconnect numbers; with ``--wait``, until finished."""
    refuse_emulator(args, "numbers")
    # Ours, and said before the POST: a Ctrl-C during it still leaves something to look for.
    customer_order_id = str(uuid.uuid4())
    note(args.command, f"sending the disconnect with customer order id {customer_order_id}")
    async with account(args) as (client, _):
        try:
            if args.wait:
                row = await _release_and_wait(args, client, customer_order_id)
            else:
                placed = await client.disconnect_numbers(
                    args.numbers, customer_order_id=customer_order_id
                )
                row = {
                    "order_id": placed.id,
                    "customer_order_id": customer_order_id,
                    "status": str(placed.status) if placed.status else None,
                    "numbers": list(placed.numbers),
                }
        except asyncio.CancelledError:
            note(
                args.command,
                "interrupted: the disconnect with customer order id "
                f"{customer_order_id} may have been sent; check with `bwnumbers list` before "
                "releasing again",
            )
            raise
    if args.json:
        _print_json([row])
    elif args.wait:
        numbers = " ".join(row["disconnected_numbers"])
        print(f"disconnect {row['order_id']} {row['status']} {numbers} (via {row['source']})")
    else:
        print(f"disconnect {row['order_id']} {row['status']} customer_order_id={customer_order_id}")
    return 0


async def _release_and_wait(
    args: argparse.Namespace, client: NumbersClient, customer_order_id: str
) -> dict[str, Any]:
    from bwnumbers import disconnect_and_wait

    def on_status(update: StatusUpdate) -> None:
        note(args.command, f"disconnect {update.order_id} is {update.status} ({update.source})")

    try:
        # A command line cannot receive Bandwidth's callbacks: it waits by polling alone.
        result = await disconnect_and_wait(
            client,
            None,
            numbers=args.numbers,
            customer_order_id=customer_order_id,
            timeout=args.timeout,
            on_status=on_status,
        )
    except OrderTimeoutError as error:
        error.add_note("The disconnect goes on at Bandwidth; check with `bwnumbers list`.")
        raise
    return {
        "order_id": result.order_id,
        "customer_order_id": result.customer_order_id,
        "status": str(result.status),
        "disconnected_numbers": list(result.disconnected_numbers),
        "failed_numbers": list(result.failed_numbers),
        "source": str(result.source),
    }
