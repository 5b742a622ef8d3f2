"""An async service that gives each new customer a phone number with ``order_and_wait``.

Shows: a long-lived client and receiver, one subscription for the process, and a service
method that searches, orders and handles a number taken by someone else.

Environment: BW_ACCOUNT_ID, BW_CLIENT_ID, BW_CLIENT_SECRET (OAuth 2.0 client credentials),
BW_SITE_ID, CALLBACK_PUBLIC_URL (the public URL that reaches this process); without them it runs
on the local emulator. The callback credentials stay HTTP Basic: Bandwidth has no OAuth for
callbacks.
"""

from __future__ import annotations

import asyncio
import logging
import os

from _account import account

import bwnumbers

CALLBACK_USER = os.environ.get("CALLBACK_USER", "bandwidth")
CALLBACK_PASSWORD = os.environ.get("CALLBACK_PASSWORD", "change-me-callback-password")
PUBLIC_URL = os.environ.get("CALLBACK_PUBLIC_URL")


class NumberService:
    """Assigns phone numbers to customers."""

    def __init__(
        self, client: bwnumbers.NumbersClient, receiver: bwnumbers.CallbackReceiver, site_id: str
    ) -> None:
        self.client = client
        self.receiver = receiver
        self.site_id = site_id

    async def assign_number(self, customer: str, area_code: str) -> str:
        """Order a number in *area_code* for *customer*; try another if one is taken."""
        for _attempt in range(3):
            found = await self.client.search_available_numbers(area_code=area_code, quantity=1)
            if not found.numbers:
                raise LookupError(f"No numbers available in area code {area_code}")
            try:
                result = await bwnumbers.order_and_wait(
                    self.client,
                    self.receiver,
                    site_id=self.site_id,
                    numbers=found.numbers,
                    name=f"number for {customer}"[:50],
                    timeout=120,
                )
            except bwnumbers.OrderFailedError as failure:
                if 5005 in failure.codes:  # taken between search and order: search again
                    continue
                raise
            return result.completed_numbers[0]
        raise LookupError(f"Could not get a number in area code {area_code} after 3 tries")


async def main() -> list[str]:
    async with (
        account() as (client, site_id, _emulator),
        bwnumbers.CallbackReceiver(
            host="127.0.0.1",
            username=CALLBACK_USER,
            password=CALLBACK_PASSWORD,
            public_url=PUBLIC_URL,
        ) as receiver,
    ):
        await client.ensure_subscription(
            receiver.url, username=CALLBACK_USER, password=CALLBACK_PASSWORD
        )
        service = NumberService(client, receiver, site_id)
        numbers = [
            await service.assign_number("alice", "919"),
            await service.assign_number("bob", "540"),
        ]
        print("assigned", ", ".join(numbers))
        return numbers


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main())
