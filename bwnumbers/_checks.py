"""Input checks shared by every module that takes arguments from users.

Each check raises :class:`ValidationError` with a sentence naming the argument and what it
accepts, and never echoes a value that may be a secret (the callers pass only names for those).
"""

from __future__ import annotations

import ipaddress
from typing import Final, TypeGuard
from urllib.parse import quote, urlsplit

from ._exceptions import ValidationError

__all__ = [
    "check_absolute_url",
    "check_both_or_neither",
    "check_id",
    "check_seconds",
    "check_secret_url",
    "check_text",
    "check_whole",
    "id_segment",
    "is_loopback",
    "is_number",
]

_BOTH_OR_NEITHER: Final = "Give both {first}= and {second}= {purpose}, or neither."


def is_number(value: object) -> TypeGuard[int | float]:
    """True for an int or float that is not a bool (``True`` is no number of seconds)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_seconds(name: str, value: object, *, allow_zero: bool = False) -> None:
    """Refuse anything but a number of seconds > 0 (>= 0 with *allow_zero*)."""
    if not is_number(value) or not (value >= 0 if allow_zero else value > 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{name}={value!r} must be a number of seconds {bound}.")


def check_whole(name: str, value: object, *, minimum: int, unit: str = "") -> None:
    """Refuse anything but an int (not a bool) of at least *minimum*."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = f"whole number of {unit}" if unit else "whole number"
        raise ValidationError(f"{name}={value!r} must be a {what} >= {minimum}.")


def check_text(name: str, value: object) -> str:
    """Refuse anything but a string with something other than whitespace in it."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string.")
    return value


def check_id(name: str, value: object) -> str:
    """Refuse an id that cannot be one segment of a Bandwidth URL path."""
    if not isinstance(value, str) or not value.strip() or "/" in value or "?" in value:
        raise ValidationError(f"{name}={value!r} is not a valid Bandwidth id.")
    return value


def id_segment(name: str, value: object) -> str:
    """Quote an id for use as one URL path segment, refusing empty ids."""
    return quote(check_text(name, value), safe="")


def check_both_or_neither(
    first: str, first_value: object, second: str, second_value: object, *, purpose: str
) -> None:
    """Refuse one half of a pair such as username= and password= (values never shown)."""
    if (first_value is None) != (second_value is None):
        raise ValidationError(_BOTH_OR_NEITHER.format(first=first, second=second, purpose=purpose))


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, where plain http is harmless."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_absolute_url(name: str, url: object) -> str:
    """Refuse anything but an absolute http(s) URL, such as a callback URL."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{name}={url!r} is not an absolute http(s) URL.")
    assert isinstance(url, str)
    return url


def check_secret_url(name: str, url: str, *, example: str, allow_insecure_http: bool) -> str:
    """Refuse a URL that would send credentials where they must not go; strip a final slash.

    The API and token URLs both carry secrets (a token, or the client secret), so both must be
    https, or plain http to loopback, unless the caller explicitly allows otherwise.
    """
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{name}={url!r} is not an http(s) URL such as {example!r}.")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            f"{name} must not contain credentials; pass them as keyword arguments instead."
        )
    if parts.query or parts.fragment:
        raise ValidationError(f"{name} must not have a query string or fragment.")
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure_http:
        raise ValidationError(
            f"{name} uses plain http:// for {parts.hostname}, which would send your "
            "credentials unencrypted; use https:// or pass allow_insecure_http=True."
        )
    return url.rstrip("/")
