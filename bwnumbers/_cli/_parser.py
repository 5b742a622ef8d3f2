"""The argument parser of the ``bwnumbers`` command: flags, help, and "did you mean".

argparse's own exit status 2 for a usage error becomes 6 in :func:`bwnumbers.cli.main`; the
parser itself keeps argparse's behaviour, so ``build_parser().parse_args()`` stays ordinary.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import math
import re
from typing import Any, NoReturn

from bwnumbers._version import __version__

from ._exit_codes import HELP as EXIT_CODES_HELP

# Every flag's dest is the SDK keyword it sets, so that the SDK's messages can be translated
# back to flags (see _flags.py).

#: Search flags and the SDK keyword each sets.
LIST_FILTERS = ("area_code", "npa_nxx", "lata", "state", "rate_center")
"""The search options ``bwnumbers list`` filters in-service numbers by (Bandwidth's names)."""

SEARCH_OPTIONS = (
    ("--area-code", "area_code", "3 digits, e.g. 540"),
    ("--npa-nxx", "npa_nxx", "6 digits, e.g. 540551"),
    ("--npa-nxxx", "npa_nxxx", "7 digits, e.g. 5405512"),
    ("--rate-center", "rate_center", "a rate center abbreviation, with --state"),
    ("--city", "city", "a city, with --state"),
    ("--state", "state", "a two-letter state code, e.g. NC"),
    ("--zip", "zip", "a ZIP code, e.g. 27606"),
    ("--lata", "lata", "a LATA, up to 5 digits"),
    ("--local-vanity", "local_vanity", "3 to 7 letters, digits, '*' or '_'"),
    ("--toll-free-vanity", "toll_free_vanity", "4 to 10 letters or digits"),
    ("--toll-free-wildcard", "toll_free_wildcard_pattern", "e.g. 8** or 83*"),
)

_UNKNOWN = "unrecognized arguments: "
_BAD_CHOICE = re.compile(r"invalid choice: '([^']*)'")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that suggests the close flag or command for a misspelled one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Abbreviations are off: --area-cod would otherwise silently mean --area-code, and a
        # script relying on an abbreviation breaks the day a second flag shares its prefix.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.commands: dict[str, Parser] = {}

    def error(self, message: str) -> NoReturn:
        super().error(message + self._suggestion(message))

    def _known_flags(self) -> list[str]:
        parsers = [self, *self.commands.values()]
        return sorted({flag for p in parsers for a in p._actions for flag in a.option_strings})

    def _suggestion(self, message: str) -> str:
        hints: list[str] = []
        if message.startswith(_UNKNOWN):
            for word in message.removeprefix(_UNKNOWN).split():
                flag = word.partition("=")[0]
                if flag.startswith("-"):
                    close = difflib.get_close_matches(flag, self._known_flags(), n=1)
                    hints += [f"{flag}: did you mean {close[0]}?"] if close else []
        elif (choice := _BAD_CHOICE.search(message)) and self.commands:
            close = difflib.get_close_matches(choice[1], list(self.commands), n=1)
            hints += [f"did you mean {close[0]}?"] if close else []
        return f" ({'; '.join(hints)})" if hints else ""


def _rate_limit(text: str) -> Any:
    """An argparse type: a ``RateLimit`` from ``PER_WINDOW[/WINDOW][+BURST]``."""
    from bwnumbers.testing import RateLimit

    try:
        return RateLimit.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _inventory_size(text: str) -> int:
    """An argparse type: numbers per NPA-NXX block, checked by the emulator's own rule."""
    from bwnumbers._exceptions import ValidationError
    from bwnumbers.testing._inventory import check_size

    value: object = text
    with contextlib.suppress(ValueError):
        value = int(text)
    try:
        check_size(value)
    except ValidationError as exc:
        why = str(exc).partition(" is not allowed: ")[2]
        raise argparse.ArgumentTypeError(f"{text} is not allowed: {why}") from None
    assert isinstance(value, int)
    return value


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, not {text!r}")
    return value


def build_parser() -> Parser:
    """The argument parser of the ``bwnumbers`` command."""
    parser = Parser(
        prog="bwnumbers",
        description="Bandwidth phone numbers from the command line.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bwnumbers {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    parser.commands = {
        "demo": _demo(commands),
        "emulator": _emulator(commands),
        "search": _search(commands),
        "order": _order(commands),
        "order-status": _order_status(commands),
        "reserve": _reserve(commands),
        "unreserve": _unreserve(commands),
        "release": _release(commands),
        "list": _list(commands),
    }
    return parser


def _demo(commands: argparse._SubParsersAction[Parser]) -> Parser:
    demo = commands.add_parser(
        "demo",
        help="run Bandwidth's ordering guide end to end on the embedded emulator",
        description="Run the five steps of Bandwidth's ordering guide (create subscription, "
        "search, create order, receive the callback, fetch the order), then recover from a "
        "number taken by another customer. No account, no network.",
    )
    demo.add_argument(
        "--json",
        action="store_true",
        help="print JSON Lines: one JSON object per step, one per line",
    )
    demo.add_argument(
        "--verbose",
        action="store_true",
        help="also log every HTTP exchange on stderr: the XML bodies (pretty-printed, "
        "passwords masked) and the callback's 401 Basic-auth challenge",
    )
    demo.add_argument("--seed", type=int, default=0, help="emulator seed (default 0)")
    demo.add_argument(
        "--order-limit",
        type=_rate_limit,
        metavar="LIMIT",
        help="rate-limit the emulator's orders, PER_WINDOW[/WINDOW][+BURST] (e.g. 1/2), to see "
        "the client wait for Bandwidth's rate limit",
    )
    return demo


def _emulator(commands: argparse._SubParsersAction[Parser]) -> Parser:
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
    emulator.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; 0.0.0.0 or :: listens on every interface)",
    )
    emulator.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    emulator.add_argument("--seed", type=int, default=0, help="inventory and id seed (default 0)")
    emulator.add_argument(
        "--inventory-size",
        type=_inventory_size,
        metavar="N",
        help="numbers seeded in each NPA-NXX block (default 20, 1 to 10,000; toll-free NPAs "
        "get half)",
    )
    emulator.add_argument(
        "--reservation-lifetime",
        type=_seconds,
        metavar="SECONDS",
        help="how long a number reservation holds (default 14400, Bandwidth's 4 hours)",
    )
    emulator.add_argument(
        "--aging-period",
        type=_seconds,
        metavar="SECONDS",
        help="how long a disconnected number ages before it is back in stock (default 30 days)",
    )
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
    return emulator


def _account_command(
    commands: argparse._SubParsersAction[Parser], name: str, summary: str, description: str
) -> Parser:
    """A command that works on an account: BW_* variables, or --emulator."""
    return commands.add_parser(
        name,
        help=summary,
        description=f"{description}\n\nThe account comes from BW_ACCOUNT_ID, BW_CLIENT_ID and "
        "BW_CLIENT_SECRET\n(optionally BW_BASE_URL, BW_TOKEN_URL).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _emulator_flag(command: Parser) -> None:
    command.add_argument(
        "--emulator",
        action="store_true",
        help="use a fresh embedded emulator instead of BW_* variables (it lives for this run only)",
    )


def _search(commands: argparse._SubParsersAction[Parser]) -> Parser:
    search = _account_command(
        commands,
        "search",
        summary="search available numbers",
        description="Search available numbers (GET /availableNumbers).",
    )
    _emulator_flag(search)
    for flag, name, text in SEARCH_OPTIONS:
        search.add_argument(flag, dest=name, help=text)
    search.add_argument("--quantity", type=int, help="how many numbers, 1 to 5000")
    search.add_argument(
        "--details",
        action="store_true",
        dest="enable_tn_detail",
        help="show city, state, rate center and LATA, under a header line",
    )
    return search


def _order(commands: argparse._SubParsersAction[Parser]) -> Parser:
    order = _account_command(
        commands,
        "order",
        summary="order numbers",
        description="Order specific numbers. The customer order id is printed on stderr\n"
        "before the order is sent, and the order id as soon as Bandwidth accepts it.",
    )
    _emulator_flag(order)
    order.add_argument(
        "numbers", nargs="+", metavar="NUMBER", help="a number to order, e.g. 5402278098"
    )
    order.add_argument("--site-id", required=True, help="the site (sub-account) to order for")
    order.add_argument("--peer-id", help="the location (SIP peer) of the site")
    order.add_argument("--name", help="the order's name (at most 50 characters)")
    order.add_argument(
        "--partial", action="store_true", dest="partial_allowed", help="allow a partial order"
    )
    order.add_argument(
        "--reservation-id",
        action="append",
        dest="reservation_ids",
        metavar="ID",
        help="the reservation of a number you reserved (`bwnumbers reserve`); repeat it for "
        "each reserved number",
    )
    order.add_argument(
        "--wait", action="store_true", help="wait for the final status, showing progress"
    )
    order.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="seconds to wait (with --wait only)"
    )
    return order


def _order_status(commands: argparse._SubParsersAction[Parser]) -> Parser:
    status = _account_command(
        commands,
        "order-status",
        summary="show an order",
        description="Show an order, by its order id or by the customer order id that\n"
        "`bwnumbers order` printed.",
    )
    which = status.add_mutually_exclusive_group(required=True)
    which.add_argument("order_id", nargs="?", metavar="ID", help="the order id")
    which.add_argument(
        "--customer-order-id", metavar="ID", help="find the order by its customer order id"
    )
    # Refused with a sentence (see the command), rather than "unrecognized arguments".
    status.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    return status


def _json_flag(command: Parser) -> None:
    command.add_argument(
        "--json",
        action="store_true",
        help="print one JSON array (always an array, even of one item or none)",
    )


def _reserve(commands: argparse._SubParsersAction[Parser]) -> Parser:
    reserve = _account_command(
        commands,
        "reserve",
        summary="reserve numbers while someone chooses",
        description="Reserve available numbers (POST /tnreservation), so that no other\n"
        "account can order them for about 4 hours. Prints one line per number:\n"
        "RESERVATION_ID NUMBER SECONDS_LEFT s until EXPIRY. A number that cannot be\n"
        "reserved is reported on stderr and the others are still reserved.",
    )
    _emulator_flag(reserve)
    _json_flag(reserve)
    reserve.add_argument("numbers", nargs="+", metavar="NUMBER", help="a number, e.g. 5402278098")
    return reserve


def _unreserve(commands: argparse._SubParsersAction[Parser]) -> Parser:
    unreserve = _account_command(
        commands,
        "unreserve",
        summary="give reserved numbers back",
        description="Release reservations (DELETE /tnreservation/ID) by the ids that\n"
        "`bwnumbers reserve` printed.",
    )
    unreserve.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    _json_flag(unreserve)
    unreserve.add_argument(
        "reservation_ids", nargs="+", metavar="RESERVATION_ID", help="a reservation id"
    )
    return unreserve


def _release(commands: argparse._SubParsersAction[Parser]) -> Parser:
    release = _account_command(
        commands,
        "release",
        summary="disconnect numbers from the account",
        description="Release (disconnect) numbers of the account (POST /disconnects), as\n"
        "Bandwidth's `band number release` does. The customer order id is printed on\n"
        "stderr before the disconnect is sent. A released number ages (typically 30\n"
        "days) before anyone else can order it.",
    )
    release.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    _json_flag(release)
    release.add_argument(
        "numbers", nargs="+", metavar="NUMBER", help="a number to release, e.g. 5402278098"
    )
    release.add_argument(
        "--wait", action="store_true", help="wait for the final status, showing progress"
    )
    release.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="seconds to wait (with --wait only)"
    )
    return release


def _list(commands: argparse._SubParsersAction[Parser]) -> Parser:
    listing = _account_command(
        commands,
        "list",
        summary="list the account's in-service numbers",
        description="List the numbers in service on the account (GET /inserviceNumbers),\n"
        "every page of them, one per line.",
    )
    listing.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    _json_flag(listing)
    for flag, name, text in SEARCH_OPTIONS:
        if name in LIST_FILTERS:
            listing.add_argument(flag, dest=name, help=text)
    return listing


def check(parser: Parser, args: argparse.Namespace) -> None:
    """Refuse flag combinations argparse cannot express; exits like argparse does."""
    if args.command in ("order", "release") and args.timeout is not None and not args.wait:
        parser.commands[args.command].error(
            "--timeout only applies with --wait: add --wait, or leave --timeout out"
        )
