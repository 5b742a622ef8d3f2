"""A bot that survives being killed: it finishes, on start, what its previous run left.

Shows: ``SQLiteStore`` as the journal of a ``CallbackReceiver``; on start,
``bwnumbers.recover()`` returns the orders a killed run left unfinished, each with the
``metadata`` it was placed with (whom it was for), and ``pending.wait()`` finishes them; then a
burst of users each get a local number with ``order_and_wait(..., metadata={"user": ...})``.
Numbers Bandwidth does not have yet are back-ordered (``back_order_requested=True``): such an
order can take days, so it outlives many restarts of the bot.

Try it (README, "Surviving restarts"): run ``bwnumbers emulator`` in one terminal, paste the
``export`` line it prints into another, run this bot, kill it mid-burst (Ctrl-C or
``kill -9``), and run it again: it says whom each recovered order was for and how it ended.

Environment: as ``async_service.py`` (BW_ACCOUNT_ID, BW_CLIENT_ID, BW_CLIENT_SECRET, BW_BASE_URL,
BW_SITE_ID). Without them it runs on the embedded emulator, which ends with the process, so it
uses a journal of its own in a temporary directory (a restart cannot be shown that way).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import tempfile
from collections.abc import Awaitable, Iterator, Sequence
from pathlib import Path

from _account import account

import bwnumbers


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--journal",
        type=Path,
        help="the SQLite journal (default restart_bot.sqlite3 here; a temporary one on the "
        "embedded emulator)",
    )
    parser.add_argument("--users", type=int, default=40, help="users in the burst (default 40)")
    parser.add_argument("--area-code", default="919", help="where the numbers are (default 919)")
    parser.add_argument(
        "--pace", type=float, default=0.1, help="seconds between two users (default 0.1)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for one order in this run; the journal keeps it (default 60)",
    )
    parser.add_argument(
        "--reconcile-window",
        type=float,
        default=60.0,
        help="seconds after which an order Bandwidth never saw is sent again (default 60, as "
        "Bandwidth may take a while to list a new order; the emulator lists it at once)",
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def journal_path(chosen: Path | None, embedded: bool) -> Iterator[Path]:
    if chosen is not None:
        yield chosen
    elif embedded:
        # The embedded emulator forgets its orders when the process ends: a journal kept
        # across runs would only hold orders nobody can find again.
        with tempfile.TemporaryDirectory() as directory:
            yield Path(directory) / "restart_bot.sqlite3"
    else:
        yield Path("restart_bot.sqlite3")


def described(result: bwnumbers.OrderResult) -> str:
    return f"{result.status} {', '.join(result.completed_numbers)} (order {result.order_id})"


async def outcome(wait: Awaitable[bwnumbers.OrderResult]) -> str:
    """How an order ended, in a few words, whatever its way of ending."""
    try:
        return described(await wait)
    except bwnumbers.NeverCreatedError:
        return "never reached Bandwidth; nothing was ordered"
    except bwnumbers.OrderFailedError as error:
        return f"FAILED {', '.join(error.descriptions)}"
    except bwnumbers.OrderTimeoutError:
        return "still waiting; the journal keeps it for the next start"


def on_status(user: str) -> bwnumbers.StatusHook:
    def report(update: bwnumbers.StatusUpdate) -> None:
        if update.status == bwnumbers.OrderStatus.BACKORDERED:
            print(f"order for {user} is BACKORDERED", flush=True)

    return report


async def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    async with account() as (client, site_id, emulator):
        site_id = site_id or "743"  # BW_SITE_ID unset: the site `bwnumbers emulator` has
        with journal_path(args.journal, emulator is not None) as path:
            async with (
                bwnumbers.SQLiteStore(path) as store,
                bwnumbers.CallbackReceiver(store=store) as receiver,
            ):
                await client.ensure_subscription(receiver.url)
                if emulator is not None:
                    emulator.add_numbers(f"{args.area_code}555{i:04d}" for i in range(args.users))
                await finish_previous_run(client, receiver, args)
                await serve_burst(client, receiver, site_id, args)
    return 0


async def finish_previous_run(
    client: bwnumbers.NumbersClient, receiver: bwnumbers.CallbackReceiver, args: argparse.Namespace
) -> None:
    # resubmit=True: a user whose order never reached Bandwidth still wants a number, and the
    # stored request is sent again under the same customer order id (so never twice).
    pending = await bwnumbers.recover(
        client, receiver, resubmit=True, reconcile_window=args.reconcile_window
    )
    print(f"recovering {len(pending)} orders left unfinished by a previous run", flush=True)

    async def finish(order: bwnumbers.PendingOrder) -> None:
        user = order.metadata.get("user", "someone")
        ended = await outcome(order.wait(timeout=args.timeout, on_status=on_status(user)))
        print(f"recovered order for {user}: {ended}", flush=True)

    await asyncio.gather(*(finish(order) for order in pending))


async def serve_burst(
    client: bwnumbers.NumbersClient,
    receiver: bwnumbers.CallbackReceiver,
    site_id: str,
    args: argparse.Namespace,
) -> None:
    run = secrets.token_hex(2)  # tells this run's users from the last run's in the output

    async def serve(user: str) -> None:
        ended = await outcome(
            bwnumbers.order_and_wait(
                client,
                receiver,
                site_id=site_id,
                search=bwnumbers.Search(area_code=args.area_code),
                back_order_requested=True,
                metadata={"user": user},
                on_status=on_status(user),
                timeout=args.timeout,
            )
        )
        print(f"order for {user}: {ended}", flush=True)

    tasks = []
    for i in range(args.users):
        tasks.append(asyncio.create_task(serve(f"user-{run}-{i:03d}")))
        await asyncio.sleep(args.pace)  # users arrive one after another, not all at once
    await asyncio.gather(*tasks)
    print(f"{args.users} users served", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    try:
        raise SystemExit(asyncio.run(main()))
    except KeyboardInterrupt:
        # The orders under way are in the journal: the next start finishes them.
        raise SystemExit("stopped; run me again to finish the orders under way") from None
