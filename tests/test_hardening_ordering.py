"""Waiters and ordering under faults: a stateful model, flip-flops, dead servers, TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import trustme
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from bwnumbers import (
    AmbiguousOrderError,
    CallbackReceiver,
    Notification,
    NumbersClient,
    Order,
    OrderDetails,
    OrderError,
    OrderFailedError,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderWaiters,
    PollPolicy,
    ResultSource,
    RetryPolicy,
    StatusUpdate,
    TransportError,
    order_and_wait,
)
from bwnumbers.testing import BandwidthEmulator

FAST = PollPolicy(first_poll=0.01, interval=0.01, max_interval=0.02)
FINAL = (OrderStatus.COMPLETE, OrderStatus.PARTIAL, OrderStatus.FAILED)


# ---------------------------------------------------------------- a stateful model


class FakeBandwidth:
    """An in-memory stand-in for NumbersClient: the truth about each order."""

    def __init__(self, waiters: OrderWaiters) -> None:
        self.waiters = waiters
        self.truth: dict[str, OrderStatus] = {}
        self.number: dict[str, str] = {}
        self.early: set[str] = set()
        self.posts = 0

    async def place_order(self, request: OrderRequest) -> Order:
        self.posts += 1
        order_id = request.customer_order_id.replace("c-", "o-")
        self.truth.setdefault(order_id, OrderStatus.RECEIVED)
        assert request.numbers is not None
        self.number[order_id] = request.numbers[0]
        await asyncio.sleep(0)
        if request.customer_order_id in self.early:  # the callback beats the POST answer
            self.waiters.deliver(self.notification(order_id, self.truth[order_id]))
        return Order(
            id=order_id, customer_order_id=request.customer_order_id, status=OrderStatus.RECEIVED
        )

    async def get_order(self, order_id: str) -> OrderDetails:
        await asyncio.sleep(0)
        status = self.truth[order_id]
        number = self.number[order_id]
        failed = status is OrderStatus.FAILED
        return OrderDetails(
            id=order_id,
            status=status,
            order=Order(id=order_id, customer_order_id=order_id.replace("o-", "c-")),
            completed_numbers=() if failed or not status.is_final else (number,),
            failed_numbers=(number,) if failed else (),
            errors=(OrderError(code=5005, description="unavailable", number=number),)
            if failed
            else (),
        )

    async def find_order(self, customer_order_id: str) -> Order | None:
        order_id = customer_order_id.replace("c-", "o-")
        known = order_id in self.truth
        return Order(id=order_id, customer_order_id=customer_order_id) if known else None

    def notification(self, order_id: str, status: OrderStatus) -> Notification:
        return Notification(
            order_id=order_id,
            customer_order_id=order_id.replace("o-", "c-"),
            status=status,
            completed_numbers=(self.number.get(order_id, "5402270000"),),
        )


class OrderingMachine(RuleBasedStateMachine):
    """Place orders, deliver (duplicate, contradicting, early, dropped) callbacks, cancel, poll."""

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.waiters = OrderWaiters(unclaimed_limit=20)
        self.bandwidth = FakeBandwidth(self.waiters)
        self.tasks: dict[str, asyncio.Task[OrderResult]] = {}
        self.count = 0

    def run(self, seconds: float = 0.005) -> None:
        self.loop.run_until_complete(asyncio.sleep(seconds))

    @rule(target=orders, early=st.booleans(), final_first=st.sampled_from([None, *FINAL]))
    def place(self, early: bool, final_first: OrderStatus | None) -> str:
        self.count += 1
        customer_order_id = f"c-{self.count}"
        order_id = f"o-{self.count}"
        if final_first is not None:
            self.bandwidth.truth[order_id] = final_first
        if early:
            self.bandwidth.early.add(customer_order_id)
        coroutine = order_and_wait(
            self.bandwidth,
            self.waiters,
            site_id="1",
            numbers=[f"540227{self.count:04d}"],
            customer_order_id=customer_order_id,
            polling=FAST,
        )
        self.tasks[order_id] = self.loop.create_task(coroutine)
        self.run(0)
        return order_id

    @rule(order_id=orders, status=st.sampled_from(FINAL))
    def finish(self, order_id: str, status: OrderStatus) -> None:
        if not self.bandwidth.truth[order_id].is_final:  # final is final
            self.bandwidth.truth[order_id] = status

    @rule(
        order_id=orders, kind=st.sampled_from(["truth", "duplicate", "contradiction", "backorder"])
    )
    def deliver(self, order_id: str, kind: str) -> None:
        truth = self.bandwidth.truth[order_id]
        if kind == "backorder":
            status = OrderStatus.BACKORDERED
        elif kind == "contradiction":
            status = next(s for s in FINAL if s is not truth)
        else:
            status = truth
        for _ in range(2 if kind == "duplicate" else 1):
            self.waiters.deliver(self.bandwidth.notification(order_id, status))

    @rule(order_id=orders)
    def cancel(self, order_id: str) -> None:
        self.tasks[order_id].cancel()

    @rule()
    def tick(self) -> None:
        self.run(0.02)

    @invariant()
    def outcomes_match_their_own_orders(self) -> None:
        for order_id, task in self.tasks.items():
            if not task.done() or task.cancelled():
                continue
            truth = self.bandwidth.truth[order_id]
            error = task.exception()
            if error is not None:
                assert isinstance(error, OrderFailedError), repr(error)
                assert error.order_id == order_id
                assert truth is OrderStatus.FAILED
            else:
                result = task.result()
                assert result.order_id == order_id
                assert result.customer_order_id == order_id.replace("o-", "c-")
                assert result.status is truth
                assert result.completed_numbers == (self.bandwidth.number[order_id],)

    @invariant()
    def no_order_posted_twice(self) -> None:
        assert self.bandwidth.posts == len(self.tasks)

    def teardown(self) -> None:
        try:
            for order_id in self.tasks:
                if not self.bandwidth.truth[order_id].is_final:
                    self.bandwidth.truth[order_id] = OrderStatus.COMPLETE
            pending = [t for t in self.tasks.values() if not t.done()]
            if pending:
                self.loop.run_until_complete(asyncio.wait(pending, timeout=10))
            assert all(t.done() for t in self.tasks.values())
            self.outcomes_match_their_own_orders()
            assert len(self.waiters) == 0, "the registry is not empty at quiescence"
        finally:
            for task in self.tasks.values():
                task.cancel()
            self.loop.run_until_complete(asyncio.sleep(0))
            self.loop.close()


OrderingMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestOrderingMachine = OrderingMachine.TestCase


# ---------------------------------------------------------------- contradictions on the wire


@pytest.fixture
async def client(bandwidth_emulator: BandwidthEmulator) -> AsyncIterator[NumbersClient]:
    async with bandwidth_emulator.client() as numbers_client:
        yield numbers_client


async def test_failed_callback_but_complete_order_follows_get(
    client: NumbersClient, bandwidth_emulator: BandwidthEmulator
) -> None:
    """A FAILED notification for an order GET says is COMPLETE yields COMPLETE: no flip-flop."""
    receiver = CallbackReceiver()
    bandwidth_emulator.order_delay = 0.3

    def on_status(update: StatusUpdate) -> None:
        if update.status is OrderStatus.RECEIVED:
            receiver.deliver(Notification(order_id=update.order_id, status=OrderStatus.FAILED))

    result = await order_and_wait(
        client,
        receiver,
        site_id="743",
        numbers=["5402278098"],
        on_status=on_status,
        polling=PollPolicy(first_poll=0.1, interval=0.1),
    )
    assert result.status is OrderStatus.COMPLETE
    assert result.source is ResultSource.POLL
    assert len(receiver.waiters) == 0


# ---------------------------------------------------------------- client faults


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_refused_connections_are_retried_and_order_once() -> None:
    """While nothing listens the POST is retried; once Bandwidth is up exactly one order exists."""
    port = free_port()
    emulator = BandwidthEmulator(port=port)
    retry = RetryPolicy(attempts=8, initial_backoff=0.1, max_backoff=0.4)
    # A token minted up front, so that it is the POST itself that meets the refusals.
    async with NumbersClient(
        account_id=emulator.account_id, access_token=emulator.issue_token(),
        base_url=f"http://127.0.0.1:{port}/api", retry=retry,
    ) as client:  # fmt: skip

        async def start_later() -> None:
            await asyncio.sleep(0.4)
            await emulator.start()

        starter = asyncio.ensure_future(start_later())
        try:
            order = await client.create_order(site_id="743", numbers=["5402278098"])
            await starter
            assert emulator.order_count == 1
            assert emulator.orders_with_customer_order_id(order.customer_order_id or "") == [
                order.id
            ]
        finally:
            await starter
            await emulator.stop()


async def test_server_that_never_answers_fails_within_the_timeout() -> None:
    """A server that accepts and never answers ends in TransportError within the budget."""
    hung: list[asyncio.StreamWriter] = []

    async def swallow(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    retry = RetryPolicy(attempts=2, initial_backoff=0.05, max_backoff=0.05)
    started = time.perf_counter()
    try:
        async with NumbersClient(
            account_id="1", access_token="t", base_url=f"http://127.0.0.1:{port}",
            timeout=0.3, retry=retry,
        ) as client:  # fmt: skip
            with pytest.raises(TransportError, match="no complete answer"):
                await client.get_order("x")
            # The POST is not retried after sending; the lookup times out too: ambiguous.
            with pytest.raises(AmbiguousOrderError):
                await client.create_order(site_id="1", numbers=["5402278098"])
    finally:
        for writer in hung:
            writer.close()
        server.close()
        await server.wait_closed()
    assert time.perf_counter() - started < 5


async def test_concurrent_ensure_subscription_from_two_clients(
    bandwidth_emulator: BandwidthEmulator,
) -> None:
    """Two clients (as two processes would) racing ensure_subscription leave one subscription."""
    async with bandwidth_emulator.client() as first, bandwidth_emulator.client() as second:
        results = await asyncio.gather(
            *(c.ensure_subscription("https://me.test/bw") for c in (first, second, first, second))
        )
        assert len({r.id for r in results}) == 1
        assert len(await first.list_subscriptions()) == 1


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


async def test_client_verifies_certificates_by_default(
    server_context: ssl.SSLContext, ca: trustme.CA
) -> None:
    """An unknown CA is refused (TransportError); trusting it explicitly works."""
    async with BandwidthEmulator(ssl_context=server_context) as emulator:
        assert emulator.base_url.startswith("https://")
        async with emulator.client(retry=RetryPolicy(attempts=3, initial_backoff=0.01)) as client:
            with pytest.raises(TransportError, match="certificate"):
                await client.search_available_numbers(area_code="540")
        trusting = ssl.create_default_context()
        ca.configure_trust(trusting)
        async with emulator.client(ssl_context=trusting) as client:
            assert (await client.search_available_numbers(area_code="540", quantity=1)).numbers


async def test_receiver_serves_https(server_context: ssl.SSLContext, ca: trustme.CA) -> None:
    """The receiver accepts an SSLContext and answers over TLS."""
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with CallbackReceiver(ssl_context=server_context) as receiver:
        assert receiver.url.startswith("https://127.0.0.1:")
        async with aiohttp.ClientSession() as http:
            body = b"<Notification><Status>COMPLETE</Status><OrderId>x</OrderId></Notification>"
            async with http.post(receiver.url, data=body, ssl=client_context) as response:
                assert response.status == 200
