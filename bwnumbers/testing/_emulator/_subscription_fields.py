"""Reading a ``<Subscription>`` body of ``POST``/``PUT /subscriptions``, with Bandwidth's errors.

A subscription targets an order type (``<OrderType>``, optionally one ``<OrderId>``) or an
event type (``<EventType>``), and notifies a callback URL (``<CallbackSubscription>``) or an
email address (``<EmailSubscription>``): the four request examples of Bandwidth's
specification. Codes and descriptions follow Bandwidth's error list
(https://dev.bandwidth.com/docs/numbers/errors); where it names no code for a case, the code
is marked *assumed* beside it.
"""

from __future__ import annotations

import re
from typing import Final, TypedDict

import attrs

from bwnumbers.testing import _wire as wire

from ._http import Refusal

__all__ = ["EVENT_TYPES", "ORDER_TYPES", "SubscriptionFields", "error", "invalid", "read_fields"]

ORDER_TYPES: Final = frozenset({
    "portins", "orders", "portouts", "disconnects", "dldas", "lsrorders", "e911s", "tnoptions",
    "externalTns", "lidb", "bulkPortins", "importtnorders", "removeImportedTnOrders", "csrs",
    "emergencyNotificationGroup", "emergencyEndpointGroup", "tollfreePortingValidations",
})  # fmt: skip
EVENT_TYPES: Final = ("MESSAGING_LOST",)
_DIGESTS: Final = ("NONE", "DAILY")
_NUMBER_FORMATS: Final = ("LEGACY", "E164")
_DEFAULT_EXPIRY: Final = 86_400
_URL: Final = re.compile(r"https?://[^\s/]+(/\S*)?")
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@attrs.frozen(kw_only=True)
class SubscriptionFields:
    """What one ``<Subscription>`` body asks for; exactly one of each pair is set.

    *url* is where notifications go, *url_as_sent* what the GET answers echo (see
    :func:`_unquoted`). *expiry* is ``None`` for email subscriptions, which never expire.
    """

    order_type: str | None
    event_type: str | None
    order_id: str | None
    url: str | None = None
    url_as_sent: str | None = None
    expiry: int | None = None
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    number_format: str | None = None
    email: str | None = None
    digest: str | None = None

    @property
    def target(self) -> tuple[str | None, ...]:
        """What makes two subscriptions duplicates (409 16008): what, for whom, where to."""
        return (self.order_type, self.event_type, self.order_id, self.url, self.email)


def error(status: int, code: int, description: str) -> Refusal:
    """Bandwidth's ``<SubscriptionsResponse><ResponseStatus>`` refusal."""
    return Refusal(status, wire.response_status("SubscriptionsResponse", code, description))


def invalid(detail: str) -> Refusal:
    """Bandwidth's 14501 "Subscription object is invalid", with what is wrong."""
    return error(400, 14501, f"Subscription object is invalid: {detail}")


def _unquoted(url: str) -> str:
    # Bandwidth's own request examples send <URL>"http://yourhost:8080/path/to/resource"</URL>
    # and its list example echoes the quotes, so one pair of surrounding double quotes is taken
    # as quoting: kept for the echo, dropped for delivery (a quote cannot start a URL anyway).
    if len(url) >= 2 and url[0] == url[-1] == '"':
        return url[1:-1].strip()
    return url


class _Target(TypedDict):
    order_type: str | None
    event_type: str | None
    order_id: str | None


def _target(node: wire.Node) -> _Target:
    order_type = wire.text(node, "OrderType")
    event_type = wire.text(node, "EventType")
    order_id = wire.text(node, "OrderId")
    if order_type is None and event_type is None:
        raise error(400, 14508, "OrderType or EventType should be specified.")
    if order_type is not None and event_type is not None:
        # Assumed code: Bandwidth documents none for both; 14508 is the one about this choice.
        raise error(400, 14508, "OrderType and EventType cannot both be specified.")
    if order_type is not None and order_type not in ORDER_TYPES:
        raise error(400, 14500, "Incorrect order type.")
    if event_type is not None and event_type not in EVENT_TYPES:
        raise error(400, 14507, f"Incorrect event type. Valid values: {', '.join(EVENT_TYPES)}")
    if event_type is not None and order_id is not None:
        # Assumed: the event-type request schema has no OrderId; events concern no one order.
        raise invalid("OrderId applies to an OrderType subscription only")
    return {"order_type": order_type, "event_type": event_type, "order_id": order_id}


def _callback(callback: wire.Node, target: _Target) -> SubscriptionFields:
    url_as_sent = wire.text(callback, "URL")
    url = None if url_as_sent is None else _unquoted(url_as_sent)
    if not url:
        raise error(400, 14503, "Callback URL is empty")
    if not _URL.fullmatch(url):
        raise error(400, 14506, "Callback URL is invalid")
    expiry_text = wire.text(callback, "Expiry") or str(_DEFAULT_EXPIRY)
    if not expiry_text.isdigit() or int(expiry_text) <= 0:
        raise error(404, 14501, "Subscription expiry is invalid")
    # A <PublicKey> beside <BasicAuthentication> is accepted and dropped: the emulator does
    # no mutual TLS, and Bandwidth never returns it.
    auth = callback.find("CallbackCredentials/BasicAuthentication")
    username = password = None
    if auth is not None:
        username = wire.text(auth, "Username")
        password = wire.text(auth, "Password")
        if not username or not password:
            raise error(
                400,
                14505,
                "Basic authentication must contain both a non-blank username and password",
            )
    # Omitted means LEGACY (the schema's default), which is what a GET then shows.
    number_format = wire.text(callback, "NumberFormat") or "LEGACY"
    if number_format not in _NUMBER_FORMATS:
        # Assumed code: Bandwidth documents none for a NumberFormat outside its enum.
        raise invalid(f"NumberFormat must be one of {', '.join(_NUMBER_FORMATS)}")
    return SubscriptionFields(
        **target,
        url=url,
        url_as_sent=url_as_sent,
        expiry=int(expiry_text),
        username=username,
        password=password,
        number_format=number_format,
    )


def _email(email: wire.Node, target: _Target) -> SubscriptionFields:
    address = wire.text(email, "Email")
    if address is None or not _EMAIL.fullmatch(address):
        # Assumed code: Bandwidth documents none for a bad address.
        raise invalid("Email is not a valid email address")
    digest = wire.text(email, "DigestRequested")
    if digest not in _DIGESTS:
        raise error(400, 14502, f"Incorrect digest type. Valid values: {', '.join(_DIGESTS)}")
    return SubscriptionFields(**target, email=address, digest=digest)


def read_fields(node: wire.Node) -> SubscriptionFields:
    """The fields of a ``<Subscription>`` body, or the refusal Bandwidth would answer."""
    target = _target(node)
    callback = node.find("CallbackSubscription")
    email = node.find("EmailSubscription")
    if callback is None and email is None:
        raise error(400, 14501, "Subscription object is invalid")
    if callback is not None and email is not None:
        # Assumed code: one subscription notifies one way, as every example shows.
        raise invalid("give a CallbackSubscription or an EmailSubscription, not both")
    if callback is not None:
        return _callback(callback, target)
    assert email is not None
    return _email(email, target)
