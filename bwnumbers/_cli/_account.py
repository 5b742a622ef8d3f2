"""The commands that work on an account: ``search`` and ``order-status``, and the account.

The account is the one the ``BW_*`` variables name or, with ``--emulator``, a fresh embedded
emulator that lives for this run only.
"""

from __future__ import annotations

import argparse
import contextlib
import warnings
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, cast

from bwnumbers._client import NumbersClient
from bwnumbers._exceptions import ValidationError
from bwnumbers._models import OrderDetails, _check_customer_order_id
from bwnumbers._rate_sharing import notices
from bwnumbers.testing import BandwidthEmulator

from ._exit_codes import NoOrderError, SeveralOrdersError, UsageError
from ._output import note
from ._parser import SEARCH_OPTIONS

if TYPE_CHECKING:
    from bwnumbers._search import SearchCriteria

_NO_ACCOUNT = (
    "To try bwnumbers without an account, run `bwnumbers emulator` in another terminal and "
    "paste the export line it prints"
)


@contextlib.asynccontextmanager
async def account(
    args: argparse.Namespace,
) -> AsyncIterator[tuple[NumbersClient, BandwidthEmulator | None]]:
    """An open client for BW_* or the embedded emulator, and the emulator (or None)."""

    def waiting(line: str) -> None:
        note(args.command, f"waiting: {line}")

    with notices(waiting):
        if not args.emulator:
            async with _client_from_env(args) as client:
                yield client, None
            return
        async with BandwidthEmulator() as emulator, emulator.client() as client:
            yield client, emulator


def refuse_emulator(args: argparse.Namespace, what: str) -> None:
    """A fresh embedded emulator owns nothing, so *what* could only ever find nothing."""
    if args.emulator:
        raise UsageError(
            f"{args.command} cannot use --emulator, since every run starts a fresh emulator "
            f"that holds no {what}: run `bwnumbers emulator` in another terminal, paste the "
            f"export line it prints, and run {args.command} without --emulator."
        )


def _client_from_env(args: argparse.Namespace) -> NumbersClient:
    # The Basic deprecation is for people here, not a Python warning with a file and line.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        try:
            client = NumbersClient.from_env()
        except ValidationError as error:
            # `order-status --emulator` cannot work (see order_status), so it is not offered.
            offer = "" if args.command == "order-status" else ", or add --emulator"
            raise ValidationError(f"{error} {_NO_ACCOUNT}{offer}.") from None
    for warning in caught:
        note(args.command, f"warning: {warning.message}")
    return client


async def search(args: argparse.Namespace) -> int:
    """``bwnumbers search``: one number per line, or a table with ``--details``."""
    # The names come from SEARCH_OPTIONS, which a test keeps within SearchCriteria's keys.
    criteria = cast(
        "SearchCriteria",
        {
            name: getattr(args, name)
            for _, name, _ in SEARCH_OPTIONS
            if getattr(args, name) is not None
        },
    )
    if args.quantity is not None:
        criteria["quantity"] = args.quantity
    if args.enable_tn_detail:
        criteria["enable_tn_detail"] = True
    async with account(args) as (client, _):
        found = await client.search_available_numbers(**criteria)
    if found.details:
        rows = [("NUMBER", "CITY", "STATE", "RATE CENTER", "LATA")]
        rows += [
            (d.number, d.city or "-", d.state or "-", d.rate_center or "-", d.lata or "-")
            for d in found.details
        ]
        _print_table(rows)
    else:
        for number in found.numbers:
            print(number)
    note(args.command, f"{len(found.numbers)} number(s)")
    return 0


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


async def order_status(args: argparse.Namespace) -> int:
    """``bwnumbers order-status ID`` or ``--customer-order-id X``: the order and its outcome."""
    refuse_emulator(args, "orders")
    async with account(args) as (client, _):
        if args.order_id is not None:
            details = await client.get_order(args.order_id)
        else:
            details = await _find(client, args.customer_order_id)
    print(f"order {details.id} {details.status}")
    if details.customer_order_id:
        print(f"  customer order id {details.customer_order_id}")
    for number in details.completed_numbers:
        print(f"  completed {number}")
    for error in details.errors:
        print(f"  error {error.code}: {error.description} {error.number or ''}".rstrip())
    return 0


async def _find(client: NumbersClient, customer_order_id: str) -> OrderDetails:
    """The one order placed with *customer_order_id*."""
    _check_customer_order_id(None, None, customer_order_id)
    rows = await client.list_orders(customer_order_id=customer_order_id)
    # Filtered here too: a row without a customer order id must not pass for the one asked.
    matches = [row for row in rows if row.customer_order_id == customer_order_id]
    if not matches:
        raise NoOrderError(
            f"No order has customer order id {customer_order_id}: the order was not placed, "
            "or not on this account; check BW_ACCOUNT_ID and the id."
        )
    if len(matches) > 1:
        listing = "; ".join(f"{row.id} ({row.status or 'status unknown'})" for row in matches)
        raise SeveralOrdersError(
            f"{len(matches)} orders have customer order id {customer_order_id}: {listing}. "
            "Show one with `bwnumbers order-status ID`."
        )
    return await client.get_order(matches[0].id)
