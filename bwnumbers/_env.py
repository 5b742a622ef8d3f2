"""Client settings from environment variables, for :meth:`NumbersClient.from_env`.

The variable names follow Bandwidth's own SDKs and examples (``BW_ACCOUNT_ID``,
``BW_CLIENT_ID``, ``BW_CLIENT_SECRET``); messages name variables, never their values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from ._exceptions import ValidationError

__all__ = ["client_arguments"]


def client_arguments(overrides: Mapping[str, object]) -> dict[str, object]:
    """The keyword arguments of a client from the environment, *overrides* applied last.

    Raises:
        ValidationError: a variable is missing or only half of a pair is set.
    """
    kwargs: dict[str, object] = _env_credentials()
    needs = []
    if not kwargs and not _AUTH_ARGUMENTS.intersection(overrides):
        needs.append("BW_CLIENT_ID and BW_CLIENT_SECRET to your OAuth 2.0 client credentials")
    account_id = _env("BW_ACCOUNT_ID")
    if account_id is None and "account_id" not in overrides:
        needs.insert(0, "BW_ACCOUNT_ID to your Bandwidth account id")
    if needs:
        raise ValidationError(f"Set {', and '.join(needs)}.")
    kwargs["account_id"] = account_id
    for variable, name in (("BW_BASE_URL", "base_url"), ("BW_TOKEN_URL", "token_url")):
        if os.environ.get(variable):
            kwargs[name] = os.environ[variable]
    kwargs.update(overrides)
    return kwargs


_AUTH_ARGUMENTS: Final = frozenset(
    {"client_id", "client_secret", "access_token", "username", "password"}
)


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _env_credentials() -> dict[str, object]:
    """The credentials the environment gives: client credentials first, then legacy Basic."""
    client_id, client_secret = _env("BW_CLIENT_ID"), _env("BW_CLIENT_SECRET")
    if client_id and client_secret:
        return {"client_id": client_id, "client_secret": client_secret}
    if client_id or client_secret:
        have, lack = (
            ("BW_CLIENT_ID", "BW_CLIENT_SECRET")
            if client_id
            else ("BW_CLIENT_SECRET", "BW_CLIENT_ID")
        )
        raise ValidationError(
            f"{have} is set but {lack} is not: set both to your client credentials."
        )
    username, password = _env("BW_USERNAME"), _env("BW_PASSWORD")
    if username and password:
        return {"username": username, "password": password}
    if username or password:
        have, lack = ("BW_USERNAME", "BW_PASSWORD") if username else ("BW_PASSWORD", "BW_USERNAME")
        raise ValidationError(
            f"{have} is set but {lack} is not; better, set BW_CLIENT_ID and BW_CLIENT_SECRET "
            "instead (API users stop working on 2026-12-02)."
        )
    return {}
