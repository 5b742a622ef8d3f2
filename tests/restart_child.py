"""A process for the restart tests to SIGKILL: it orders, or recovers, on a SQLiteStore journal.

    python restart_child.py order JOURNAL CUSTOMER_ORDER_ID AREA_CODE [--user NAME]
    python restart_child.py recover JOURNAL [--window SECONDS] [--resubmit]

The account comes from BW_* (the test's emulator). It waits by polling alone (no receiver), so
that the only requests it makes are the ones a test counts. Every event is one JSON line on
stdout: ``status`` (a non-final status seen), ``pending`` (an order ``recover()`` returned),
``result`` and ``error`` (how an order ended).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import bwnumbers

FAST_POLLING = bwnumbers.PollPolicy(first_poll=0.1, interval=0.1, max_interval=0.2)


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def on_status(customer_order_id: str) -> bwnumbers.StatusHook:
    def report(update: bwnumbers.StatusUpdate) -> None:
        emit("status", coid=customer_order_id, status=str(update.status))

    return report


def result_fields(result: bwnumbers.OrderResult) -> dict[str, Any]:
    return {
        "status": str(result.status),
        "order_id": result.order_id,
        "numbers": list(result.completed_numbers),
        "source": str(result.source),
    }


async def ended(customer_order_id: str, wait: Any) -> None:
    try:
        result = await wait
    except bwnumbers.BWNumbersError as error:
        emit("error", coid=customer_order_id, type=type(error).__name__, message=str(error))
    else:
        emit("result", coid=customer_order_id, **result_fields(result))


async def order(client: bwnumbers.NumbersClient, args: argparse.Namespace) -> None:
    async with bwnumbers.SQLiteStore(args.journal) as store:
        await ended(
            args.coid,
            bwnumbers.order_and_wait(
                client,
                None,
                store=store,
                site_id=os.environ["BW_SITE_ID"],
                search=bwnumbers.Search(area_code=args.area_code),
                customer_order_id=args.coid,
                back_order_requested=True,
                metadata={"user": args.user},
                on_status=on_status(args.coid),
                polling=FAST_POLLING,
            ),
        )


async def recover(client: bwnumbers.NumbersClient, args: argparse.Namespace) -> None:
    async with bwnumbers.SQLiteStore(args.journal) as store:
        pending = await bwnumbers.recover(
            client, None, store=store, reconcile_window=args.window, resubmit=args.resubmit
        )
        for one in pending:
            emit(
                "pending",
                coid=one.customer_order_id,
                order_id=one.order_id,
                metadata=dict(one.metadata),
                state=str(one.intent.state),
            )
        await asyncio.gather(
            *(
                ended(
                    one.customer_order_id,
                    one.wait(on_status=on_status(one.customer_order_id), polling=FAST_POLLING),
                )
                for one in pending
            )
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    ordering = commands.add_parser("order")
    ordering.add_argument("journal")
    ordering.add_argument("coid")
    ordering.add_argument("area_code")
    ordering.add_argument("--user", default="someone")
    recovering = commands.add_parser("recover")
    recovering.add_argument("journal")
    recovering.add_argument("--window", type=float, default=60.0)
    recovering.add_argument("--resubmit", action="store_true")
    args = parser.parse_args()
    async with bwnumbers.NumbersClient.from_env() as client:
        await (order if args.command == "order" else recover)(client, args)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
