"""The checks and the ``<Subscription>`` body behind ``create_subscription`` and its update.

A subscription targets an order type (optionally one order) or an event type, and notifies a
callback URL or an email address: the four request shapes of Bandwidth's specification
(``POST /accounts/{accountId}/subscriptions``).
"""

from __future__ import annotations

from typing import Final

import attrs

from . import _xml
from ._checks import check_absolute_url, check_both_or_neither, check_text, check_whole
from ._exceptions import ValidationError
from ._models import Subscription

__all__ = ["DIGESTS", "subscription_request", "with_id"]

DIGESTS: Final = ("NONE", "DAILY")


def _check_target(
    event_type: str | None, order_type: str | None, order_id: str | None
) -> tuple[str | None, str | None]:
    """(order type, event type): exactly one, ``orders`` when neither is given."""
    if event_type is None:
        return check_text("order_type", "orders" if order_type is None else order_type), None
    if order_type is not None:
        raise ValidationError(
            "Give order_type= or event_type=, not both: a subscription follows one or the other."
        )
    if order_id is not None:
        raise ValidationError(
            "order_id= applies to order-type subscriptions only; leave it out with event_type=."
        )
    return None, check_text("event_type", event_type)


def _check_email(
    email: str,
    digest: str | None,
    *,
    credentials: bool,
    number_format: str | None,
    default_expiry: bool,
) -> str:
    """The digest to send (upper case, ``NONE`` by default) for an email subscription."""
    check_text("email", email)
    local, at, domain = email.partition("@")
    if not (local and at and domain) or any(c.isspace() for c in email):
        raise ValidationError(
            f"email={email!r} is not an email address; give one such as 'ops@example.com'."
        )
    if credentials or number_format is not None:
        raise ValidationError(
            "username=, password= and number_format= apply to callback subscriptions only; "
            "leave them out with email=."
        )
    if not default_expiry:
        raise ValidationError(
            "expiry= applies to callback subscriptions only: email subscriptions do not expire."
        )
    chosen = "NONE" if digest is None else check_text("digest", digest).upper()
    if chosen not in DIGESTS:
        raise ValidationError(
            f"digest={digest!r} is not a digest frequency; give 'NONE' (an email per event) "
            "or 'DAILY' (one digest a day)."
        )
    return chosen


def _check_callback(
    url: str,
    username: str | None,
    password: str | None,
    expiry: int,
    number_format: str | None,
    digest: str | None,
) -> None:
    check_absolute_url("url", url)
    check_both_or_neither(
        "username", username, "password", password, purpose="for callback authentication"
    )
    if username is not None and password is not None:
        check_text("username", username)
        check_text("password", password)
        if len(username) > 100:
            raise ValidationError("The callback username may have at most 100 characters.")
    check_whole("expiry", expiry, minimum=1, unit="seconds")
    if number_format is not None:
        check_text("number_format", number_format)
    if digest is not None:
        raise ValidationError(
            "digest= applies to email subscriptions only; give email= instead of url=, "
            "or leave digest= out."
        )


def subscription_request(
    *,
    url: str | None,
    email: str | None,
    digest: str | None,
    event_type: str | None,
    order_type: str | None,
    order_id: str | None,
    username: str | None,
    password: str | None,
    expiry: int,
    default_expiry: int,
    number_format: str | None,
) -> tuple[bytes, Subscription]:
    """The checked body, and the subscription it asks for (its *id* is left empty).

    Raises:
        ValidationError: with one sentence on what to give instead.
    """
    if (url is None) == (email is None):
        given = "both" if url is not None else "neither"
        raise ValidationError(
            f"Give url= for a callback subscription or email= for an email subscription "
            f"({given} was given)."
        )
    order_type, event_type = _check_target(event_type, order_type, order_id)
    if email is not None:
        digest = _check_email(
            email,
            digest,
            credentials=username is not None or password is not None,
            number_format=number_format,
            default_expiry=expiry == default_expiry,
        )
        sent_expiry: int | None = None
    else:
        assert url is not None
        _check_callback(url, username, password, expiry, number_format, digest)
        sent_expiry = expiry
    body = _xml.encode_subscription(
        url=url,
        expiry=sent_expiry,
        username=username,
        password=password,
        order_type=order_type,
        event_type=event_type,
        order_id=order_id,
        email=email,
        digest=digest,
        number_format=number_format,
    )
    wanted = Subscription(
        id="",
        order_type=order_type,
        order_id=order_id,
        event_type=event_type,
        url=url,
        expiry=sent_expiry,
        username=username,
        number_format=number_format,
        email=email,
        digest=digest,
    )
    return body, wanted


def with_id(subscription: Subscription, subscription_id: str) -> Subscription:
    """*subscription* as created under *subscription_id*."""
    return attrs.evolve(subscription, id=subscription_id)
