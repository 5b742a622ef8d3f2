"""The SDK's validation messages in the words of the command line.

The SDK names its keyword arguments (``area_code='54' is invalid``); a command line user typed
``--area-code 54``. Rather than check every value a second time in argparse (two rule sets
that would drift apart), the CLI lets the SDK validate and translates its
:class:`~bwnumbers.ValidationError` messages through :data:`FLAGS`. A test runs every flag
through the SDK with a bad value and checks that the message names the flag.
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Mapping
from typing import Final

#: The SDK keyword each flag sets, as the SDK's messages name it -> the flag.
FLAGS: Final[Mapping[str, str]] = {
    "area_code": "--area-code",
    "npa_nxx": "--npa-nxx",
    "npa_nxxx": "--npa-nxxx",
    "rate_center": "--rate-center",
    "city": "--city",
    "state": "--state",
    "zip": "--zip",
    "lata": "--lata",
    "local_vanity": "--local-vanity",
    "toll_free_vanity": "--toll-free-vanity",
    "toll_free_wildcard_pattern": "--toll-free-wildcard",
    "quantity": "--quantity",
    "enable_tn_detail": "--details",
    "site_id": "--site-id",
    "peer_id": "--peer-id",
    "name": "--name",
    "partial_allowed": "--partial",
    "timeout": "--timeout",
    "customer_order_id": "--customer-order-id",
    "reservation_ids": "--reservation-id",
}

#: Names that are also plain English ("an order name") are only translated as ``name=``;
#: the others also where a message lists them bare ("such as area_code, state or zip").
_PROSE: Final = frozenset({"name", "timeout"})

_VALUE = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,;:)]+"""
_MENTION: Final = re.compile(
    r"(?<![\w-])(?P<name>"
    + "|".join(sorted(map(re.escape, FLAGS), key=len, reverse=True))
    + rf")(?:(?P<equals>=)(?P<value>{_VALUE})?)?(?![\w-])"
)


def _flag(match: re.Match[str]) -> str:
    name, value = match["name"], match["value"]
    if match["equals"] is None and name in _PROSE:
        return match[0]
    flag = FLAGS[name]
    if value is None:
        return flag
    if value[0] in "'\"":
        try:
            value = shlex.quote(str(ast.literal_eval(value)))
        except (ValueError, SyntaxError):
            pass  # not a Python literal after all; show it as it is
    return f"{flag} {value}"


def speak_flags(message: str) -> str:
    """*message* with every SDK keyword (and its value) written as the flag that sets it."""
    return _MENTION.sub(_flag, message)
