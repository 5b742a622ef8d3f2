"""A chat-bot style burst: many users ask for a number at once.

Shows: hundreds of concurrent ``order_and_wait`` calls sharing one client and one receiver,
while some callbacks are lost (on the emulator we drop 10 % on purpose); the poller makes up
for them and every user still gets exactly their own number.

Environment: as ``async_service.py``; without BW_* it runs on the local emulator.
"""

from __future__ import annotations

import asyncio
import collections
import logging

from _account import account

import bwnumbers

USERS = 200


async def main() -> collections.Counter[str]:
    async with account() as (client, site_id, emulator), bwnumbers.CallbackReceiver() as receiver:
        await client.ensure_subscription(receiver.url)
        if emulator is not None:
            emulator.add_numbers(f"646555{i:04d}" for i in range(USERS))
            emulator.faults.drop_callbacks = 0.1
        polling = bwnumbers.PollPolicy(first_poll=0.5, interval=0.5)

        async def serve(user: int) -> bwnumbers.OrderResult:
            return await bwnumbers.order_and_wait(
                client,
                receiver,
                site_id=site_id,
                search=bwnumbers.Search(area_code="646"),
                polling=polling,
                timeout=60,
            )

        results = await asyncio.gather(*(serve(user) for user in range(USERS)))
        numbers = [r.completed_numbers[0] for r in results]
        assert len(set(numbers)) == USERS, "every user got a different number"
        sources = collections.Counter(str(r.source) for r in results)
        print(f"{USERS} users served; outcome learned by {dict(sources)}")
        return sources


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
