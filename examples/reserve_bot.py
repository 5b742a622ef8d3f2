"""A chat bot offers a customer five numbers, holds them while the customer chooses, and
orders the chosen one with its reservation; later, the customer leaves and the number is
released.

Shows: ``reserve_number`` on every offered number (another account cannot order them while
they are reserved, for about 4 hours), ``order_and_wait(..., reservation_ids=[...])`` for the
chosen one, ``release_reservation`` for the others, a number someone else holds answered with
``NumberUnavailableError`` (offer another), and ``disconnect_and_wait`` when the customer
leaves, with one receiver URL serving both order and disconnect notifications.

Environment: as the other examples (BW_* for a real account, else the local emulator);
CALLBACK_PUBLIC_URL is the public URL that reaches this process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random

from _account import account

import bwnumbers

CALLBACK_USER = os.environ.get("CALLBACK_USER", "bandwidth")
CALLBACK_PASSWORD = os.environ.get("CALLBACK_PASSWORD", "change-me-callback-password")
PUBLIC_URL = os.environ.get("CALLBACK_PUBLIC_URL")
OFFERED = 5


class NumberBot:
    """One conversation at a time: offer, hold, order the choice, give the rest back."""

    def __init__(
        self, client: bwnumbers.NumbersClient, receiver: bwnumbers.CallbackReceiver, site_id: str
    ) -> None:
        self.client = client
        self.receiver = receiver
        self.site_id = site_id

    async def search(self, area_code: str) -> tuple[str, ...]:
        # A few more than offered: some may be held by someone else by the time we reserve.
        found = await self.client.search_available_numbers(
            area_code=area_code, quantity=OFFERED + 2
        )
        return found.numbers

    async def offer(self, numbers: tuple[str, ...]) -> list[bwnumbers.Reservation]:
        """Reserve up to OFFERED of *numbers*; ones held elsewhere are skipped."""
        held: list[bwnumbers.Reservation] = []
        for number in numbers:
            if len(held) == OFFERED:
                break
            try:
                held.append(await self.client.reserve_number(number))
            except bwnumbers.NumberUnavailableError as taken:  # reserved or ordered meanwhile
                print(f"skipped {number}: {taken}")
        return held

    async def choose(
        self, customer: str, offered: list[bwnumbers.Reservation], choice: int
    ) -> bwnumbers.OrderResult:
        """Order the customer's *choice* with its reservation; release the others, always."""
        chosen = offered[choice]
        try:
            return await bwnumbers.order_and_wait(
                self.client,
                self.receiver,
                site_id=self.site_id,
                numbers=[chosen.number],
                reservation_ids=[chosen.id],  # the order consumes the reservation
                name=f"number for {customer}"[:50],
                metadata={"customer": customer},
                timeout=120,
            )
        finally:
            for other in offered:
                if other is not chosen:
                    await self.release(other)

    async def release(self, reservation: bwnumbers.Reservation) -> None:
        try:
            await self.client.release_reservation(reservation.id)
        except bwnumbers.ReservationNotFoundError:
            pass  # it expired on its own: nothing to give back

    async def goodbye(self, number: str) -> bwnumbers.DisconnectResult:
        """The customer left: disconnect their number (it ages before anyone can re-order it)."""
        return await bwnumbers.disconnect_and_wait(
            self.client, self.receiver, numbers=[number], timeout=120
        )


async def main() -> str:
    async with (
        account() as (client, site_id, emulator),
        bwnumbers.CallbackReceiver(
            host="127.0.0.1",
            username=CALLBACK_USER,
            password=CALLBACK_PASSWORD,
            public_url=PUBLIC_URL,
        ) as receiver,
    ):
        # One subscription per order type, both to the one receiver URL.
        await client.ensure_subscriptions(
            receiver.url, username=CALLBACK_USER, password=CALLBACK_PASSWORD
        )
        bot = NumberBot(client, receiver, site_id)
        found = await bot.search("919")
        if emulator is not None:  # on the emulator, another account holds one of them
            emulator.reserve_elsewhere(found[1])
        offered = await bot.offer(found)
        print("offered", " ".join(r.number for r in offered))
        choice = random.randrange(len(offered))  # noqa: S311 - the customer's pick
        result = await bot.choose("alice", offered, choice)
        number = result.completed_numbers[0]
        print(f"ordered {number} with reservation {offered[choice].id}")
        print(f"gave back {len(offered) - 1} reservations")
        owned = [n async for n in client.list_in_service_numbers(area_code="919")]
        print(f"in service: {' '.join(owned)}")
        done = await bot.goodbye(number)
        print(f"released {number}: disconnect {done.order_id} {done.status} via {done.source}")
        return number


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
