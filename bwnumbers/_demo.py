"""The guided demo: Bandwidth's ordering guide, end to end, on the embedded emulator.

It runs every step of Bandwidth's guide "Search and order Phone Numbers with Callbacks"
(https://dev.bandwidth.com/docs/numbers/guides/searchingForNumbers: subscription, search,
order, callback, fetch), then the recovery the guide recommends when a number was taken
between search and order, and last the end of a number's life: it is released with
``disconnect_and_wait`` and leaves the account's in-service list. The run is divided into
numbered phases (:data:`PHASES`), five of them the guide's own steps under the guide's own
names; each thing done is reported as a :class:`DemoStep`, and the command line prints them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
from aiohttp import web

from . import _rate_sharing
from ._client import NumbersClient
from ._disconnecting import DisconnectResult, disconnect_and_wait
from ._exceptions import OrderFailedError
from ._ordering import OrderResult, ResultSource, StatusUpdate, order_and_wait
from ._receiver import CallbackReceiver
from .testing import BandwidthEmulator, RateLimit

NPA_NXX = "540551"

log = logging.getLogger("bwnumbers.demo")


@attrs.frozen(kw_only=True)
class Phase:
    """A numbered part of the demo; *guide_step* is its step in Bandwidth's ordering guide."""

    number: int
    title: str
    guide_step: int | None = None


#: The demo's phases, in order. The five guide steps carry the guide's own titles.
PHASES: Final = (
    Phase(number=1, title="Start the Bandwidth API emulator"),
    Phase(number=2, title="Get an OAuth 2.0 access token"),
    Phase(number=3, title="Start the callback receiver"),
    Phase(number=4, title="Create Subscription", guide_step=1),
    Phase(number=5, title="Search for Phone Numbers", guide_step=2),
    Phase(number=6, title="Create order for Phone Numbers", guide_step=3),
    Phase(number=7, title="Receive HTTP Callback with order status", guide_step=4),
    Phase(number=8, title="Fetch information about order (optional)", guide_step=5),
    Phase(number=9, title="Recover when another customer takes a number"),
    Phase(number=10, title="Release a number with disconnect_and_wait"),
    Phase(number=11, title="Summary"),
)


@attrs.frozen(kw_only=True)
class DemoStep:
    """One thing the demo did: a short name, a sentence, and the data behind it.

    *phase* is the :class:`Phase` it belongs to.
    """

    step: str
    elapsed_ms: float
    message: str
    phase: Phase
    data: dict[str, Any] = attrs.field(factory=dict)


Report = Callable[[DemoStep], None]


class _Reporter:
    def __init__(self, report: Report, on_phase: Callable[[Phase], None] | None) -> None:
        self._report = report
        self._on_phase = on_phase
        self._started = asyncio.get_running_loop().time()
        self._phases = iter(PHASES)
        self.next_phase()

    def next_phase(self) -> None:
        self._phase = next(self._phases)
        if self._on_phase is not None:
            self._on_phase(self._phase)

    def __call__(self, step: str, message: str, **data: Any) -> None:
        elapsed = (asyncio.get_running_loop().time() - self._started) * 1000
        self._report(
            DemoStep(step=step, elapsed_ms=elapsed, message=message, phase=self._phase, data=data)
        )


async def _show_challenge(request: web.Request, response: web.StreamResponse) -> None:
    """Log each callback the receiver answers: the 401 challenge, then the authenticated retry.

    Only the presence of credentials is logged, never their value.
    """
    if response.status == 401:
        log.debug(
            "Callback %s %s without credentials: the receiver answered 401 with "
            "WWW-Authenticate: %s, so Bandwidth sends it again with the subscription's "
            "credentials",
            request.method,
            request.path,
            response.headers.get("WWW-Authenticate", "(none)"),
        )
    else:
        log.debug(
            "Callback %s %s %s credentials: the receiver answered %d",
            request.method,
            request.path,
            "with" if "Authorization" in request.headers else "without",
            response.status,
        )


def _say_complete(say: _Reporter, result: OrderResult) -> None:
    numbers = ", ".join(result.completed_numbers)
    say(
        "order-complete",
        f"Order {result.order_id} is {result.status}: {numbers} is yours "
        f"(learned by {result.source} after {result.elapsed * 1000:.0f} ms)",
        order_id=result.order_id,
        customer_order_id=result.customer_order_id,
        status=str(result.status),
        numbers=list(result.completed_numbers),
        learned_by=str(result.source),
        order_ms=round(result.elapsed * 1000, 1),
    )


async def run_demo(
    report: Report,
    *,
    on_phase: Callable[[Phase], None] | None = None,
    seed: int = 0,
    rate_limits: Mapping[str, RateLimit] | None = None,
) -> None:
    """Run the whole guide on a fresh emulator and report each step.

    *on_phase* is called as each phase begins, before anything of it is done or logged.
    With *rate_limits* the emulator limits requests like Bandwidth, and the demo shows the
    client waiting for the limit to reset.
    """
    say = _Reporter(report, on_phase)

    def on_status(update: StatusUpdate) -> None:
        say(
            "order-status",
            f"Order {update.order_id} is {update.status} (from the {update.source})",
            order_id=update.order_id,
            status=str(update.status),
        )

    def rate_limited(line: str) -> None:
        say("rate-limit", f"Waiting for Bandwidth's rate limit: {line}")

    with _rate_sharing.notices(rate_limited):
        async with BandwidthEmulator(seed=seed, rate_limits=rate_limits) as bandwidth:
            await _guide(say, on_status, bandwidth)


async def _guide(
    say: _Reporter, on_status: Callable[[StatusUpdate], None], bandwidth: BandwidthEmulator
) -> None:
    callback_user, callback_password = "bandwidth", secrets.token_urlsafe(12)
    say(
        "emulator",
        f"Started the Bandwidth API emulator at {bandwidth.base_url} "
        f"(account {bandwidth.account_id}, site {bandwidth.site_id})",
        base_url=bandwidth.base_url,
        account_id=bandwidth.account_id,
        site_id=bandwidth.site_id,
    )
    receiver = CallbackReceiver(username=callback_user, password=callback_password)
    receiver.app.on_response_prepare.append(_show_challenge)
    async with bandwidth.client() as client, receiver:
        say.next_phase()
        token = await client.authenticate()
        assert token is not None  # the emulator's client uses client credentials
        say(
            "token",
            f"Obtained an access token for client id {bandwidth.client_id} from "
            f"{client.token_url}: valid {token.lifetime:.0f} s, renewed 60 s before it "
            f"expires ({bandwidth.token_requests} token request)",
            token_url=client.token_url,
            client_id=bandwidth.client_id,
            lifetime_s=token.lifetime,
            token_requests=bandwidth.token_requests,
        )
        say.next_phase()
        say(
            "receiver",
            f"Listening for order callbacks at {receiver.url}, with Basic auth and its "
            "challenge flow (Bandwidth has no OAuth for callbacks)",
            url=receiver.url,
        )
        say.next_phase()
        orders, disconnects = await client.ensure_subscriptions(
            receiver.url, username=callback_user, password=callback_password
        )
        say(
            "subscription",
            f"Subscription {orders.id} sends 'orders' notifications to the receiver, and "
            f"subscription {disconnects.id} its 'disconnects' ones (one order type each)",
            subscription_id=orders.id,
            disconnects_subscription_id=disconnects.id,
        )

        say.next_phase()
        found = await client.search_available_numbers(npa_nxx=NPA_NXX, quantity=7)
        say(
            "search",
            f"Searched NPA-NXX {NPA_NXX}: {len(found.numbers)} numbers, e.g. "
            f"{', '.join(found.numbers[:3])}",
            numbers=list(found.numbers),
        )

        say.next_phase()
        first = found.numbers[0]

        def on_first_status(update: StatusUpdate) -> None:
            on_status(update)
            if update.source is ResultSource.RESPONSE:
                say.next_phase()  # accepted: what follows is the wait for the callback

        result = await order_and_wait(
            client, receiver, site_id=bandwidth.site_id, numbers=[first], on_status=on_first_status
        )
        _say_complete(say, result)

        say.next_phase()
        details = await client.get_order(result.order_id)
        say(
            "fetch",
            f"GET /orders/{details.id}: {details.status}, completed "
            f"{', '.join(details.completed_numbers)}, summary {details.summary!r}",
            order_id=details.id,
            status=str(details.status),
            completed=list(details.completed_numbers),
            summary=details.summary,
        )

        say.next_phase()
        await _recover(say, on_status, bandwidth, client, receiver, found.numbers[:2])

        say.next_phase()
        await _release(say, client, receiver, result.completed_numbers[0])

        say.next_phase()
        say(
            "done",
            "Done: two numbers ordered, one conflict recovered, one number released, no order "
            f"lost or duplicated, {bandwidth.token_requests} token request for the whole run",
            orders=bandwidth.order_count,
            waiting=len(receiver.waiters),
            token_requests=bandwidth.token_requests,
        )


async def _in_service(client: NumbersClient) -> list[str]:
    return [number async for number in client.list_in_service_numbers()]


async def _release(
    say: _Reporter, client: NumbersClient, receiver: CallbackReceiver, number: str
) -> None:
    """The end of a number's life: disconnect it, and see it leave the in-service list."""

    def on_status(update: StatusUpdate) -> None:
        say(
            "disconnect-status",
            f"Disconnect {update.order_id} is {update.status} (from the {update.source})",
            order_id=update.order_id,
            status=str(update.status),
        )

    before = await _in_service(client)
    say(
        "in-service",
        f"GET /inserviceNumbers: {len(before)} numbers in service, {', '.join(before)}",
        numbers=before,
    )
    done: DisconnectResult = await disconnect_and_wait(
        client, receiver, numbers=[number], on_status=on_status
    )
    say(
        "release-complete",
        f"Disconnect {done.order_id} is {done.status}: {number} is released (learned by "
        f"{done.source} after {done.elapsed * 1000:.0f} ms); it ages before anyone else can "
        "order it",
        order_id=done.order_id,
        customer_order_id=done.customer_order_id,
        status=str(done.status),
        numbers=list(done.disconnected_numbers),
        learned_by=str(done.source),
        disconnect_ms=round(done.elapsed * 1000, 1),
    )
    after = await _in_service(client)
    say(
        "in-service-after",
        f"GET /inserviceNumbers: {len(after)} number in service, {', '.join(after)}; "
        f"{number} is gone",
        numbers=after,
    )


async def _recover(
    say: _Reporter,
    on_status: Callable[[StatusUpdate], None],
    bandwidth: BandwidthEmulator,
    client: NumbersClient,
    receiver: CallbackReceiver,
    ordered: tuple[str, ...],
) -> None:
    """The guide's advice for a number taken between search and order: search again."""
    first, taken = ordered
    bandwidth.take(taken)
    say(
        "contention",
        f"Meanwhile another customer ordered {taken}, which our search had offered",
        number=taken,
    )
    try:
        await order_and_wait(
            client, receiver, site_id=bandwidth.site_id, numbers=[taken], on_status=on_status
        )
    except OrderFailedError as failure:
        error = failure.errors[0] if failure.errors else None
        say(
            "order-failed",
            f"Order {failure.order_id} FAILED with {error.code if error else '?'}: "
            f"{error.description if error else failure}",
            order_id=failure.order_id,
            codes=list(failure.codes),
            failed_numbers=list(failure.failed_numbers),
        )
    else:  # pragma: no cover - the emulator always fails a taken number
        raise RuntimeError(f"ordering the taken number {taken} unexpectedly succeeded")

    fresh = await client.search_available_numbers(npa_nxx=NPA_NXX, quantity=7)
    choice = next(n for n in fresh.numbers if n not in (first, taken))
    say(
        "search-again",
        f"Searched again as the guide recommends: {len(fresh.numbers)} numbers, choosing {choice}",
        numbers=list(fresh.numbers),
        choice=choice,
    )
    retry = await order_and_wait(
        client, receiver, site_id=bandwidth.site_id, numbers=[choice], on_status=on_status
    )
    _say_complete(say, retry)
