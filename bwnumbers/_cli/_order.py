"""``bwnumbers order``: place an order without ever losing track of it.

The customer order id is made here and printed before the POST, the order id the moment
Bandwidth accepts the order, and Ctrl-C says which order is still running and the command that
looks it up: the order is never thrown away with the process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import uuid

from bwnumbers._client import NumbersClient
from bwnumbers._exceptions import OrderTimeoutError
from bwnumbers._models import OrderRequest, OrderStatus
from bwnumbers._ordering import ResultSource, StatusUpdate, order_and_wait
from bwnumbers._receiver import CallbackReceiver

from ._account import account
from ._output import note


class _Tracker:
    """What is known about the order so far, said on stderr as soon as it is known."""

    def __init__(self, command: str, customer_order_id: str, *, emulator: bool) -> None:
        self._command = command
        self.customer_order_id = customer_order_id
        self.order_id: str | None = None
        self._emulator = emulator

    def sending(self) -> None:
        note(self._command, f"sending the order with customer order id {self.customer_order_id}")

    def accepted(self, order_id: str, status: OrderStatus | None, *, waiting: bool) -> None:
        self.order_id = order_id
        then = "; waiting for its final status" if waiting else ""
        note(self._command, f"order {order_id} accepted, {status or 'status unknown'}{then}")

    def on_status(self, update: StatusUpdate) -> None:
        if update.source is ResultSource.RESPONSE:
            self.accepted(update.order_id, update.status, waiting=True)
        else:
            note(self._command, f"order {update.order_id} is {update.status} ({update.source})")

    def interrupted(self) -> None:
        if self._emulator:
            what = "the order lived in this run's emulator, which stops now"
        elif self.order_id is not None:
            what = (
                f"order {self.order_id} is still running at Bandwidth and can still complete; "
                f"look it up with: bwnumbers order-status {self.order_id}"
            )
        else:
            what = (
                f"the order with customer order id {self.customer_order_id} may or may not "
                "have been placed; look it up with: bwnumbers order-status --customer-order-id "
                f"{self.customer_order_id}"
            )
        note(self._command, f"interrupted: {what}")

    def lookup_hint(self, order_id: str | None) -> str:
        if self._emulator:
            return "The order lived in this run's emulator only."
        if order_id is None:
            return (
                "Look it up with: bwnumbers order-status --customer-order-id "
                f"{self.customer_order_id}"
            )
        return f"Look it up with: bwnumbers order-status {order_id}"


async def order(args: argparse.Namespace) -> int:
    """``bwnumbers order``: place the order; with ``--wait``, wait for its final status."""
    # Built (and so checked) before anything is said or sent; the id is ours, so that even a
    # Ctrl-C during the POST leaves something to look the order up by.
    request = OrderRequest.build(
        site_id=args.site_id,
        numbers=args.numbers,
        name=args.name,
        customer_order_id=str(uuid.uuid4()),
        peer_id=args.peer_id,
        partial_allowed=args.partial_allowed,
        reservation_ids=args.reservation_ids,
    )
    tracker = _Tracker(args.command, request.customer_order_id, emulator=args.emulator)
    async with account(args) as (client, emulator):
        try:
            if not args.wait:
                tracker.sending()
                placed = await client.place_order(request)
                assert placed.id is not None  # place_order guarantees an id
                tracker.accepted(placed.id, placed.status, waiting=False)
                cid = placed.customer_order_id
                print(f"order {placed.id} {placed.status} customer_order_id={cid}")
            else:
                await _wait(args, request, tracker, client, emulator is not None)
        except asyncio.CancelledError:
            tracker.interrupted()
            raise
        except OrderTimeoutError as error:
            error.add_note(tracker.lookup_hint(error.order_id))
            raise
    if args.emulator:
        note(
            args.command,
            "note: --emulator ran a fresh emulator for this command only, so this order is "
            "gone; for orders that last between commands, run `bwnumbers emulator` in another "
            "terminal and use the export line it prints",
        )
    return 0


async def _wait(
    args: argparse.Namespace,
    request: OrderRequest,
    tracker: _Tracker,
    client: NumbersClient,
    on_emulator: bool,
) -> None:
    # A command line cannot receive callbacks from Bandwidth, so a real account is waited for
    # by polling alone (no receiver: nobody would call it); the emulator calls back to a
    # local receiver.
    async with contextlib.AsyncExitStack() as stack:
        receiver: CallbackReceiver | None = None
        if on_emulator:
            receiver = await stack.enter_async_context(CallbackReceiver())
            await client.ensure_subscription(receiver.url)
        tracker.sending()
        result = await order_and_wait(
            client,
            receiver,
            site_id=request.site_id,
            numbers=request.numbers,
            name=request.name,
            customer_order_id=request.customer_order_id,
            peer_id=request.peer_id,
            partial_allowed=request.partial_allowed,
            reservation_ids=request.reservation_ids,
            timeout=args.timeout,
            on_status=tracker.on_status,
        )
    numbers = " ".join(result.completed_numbers)
    print(f"order {result.order_id} {result.status} {numbers} (via {result.source})")
