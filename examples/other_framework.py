"""Receive callbacks in another web framework: ``parse_notification`` + ``deliver``.

Shows: a callback endpoint that is not aiohttp (here a bare ``asyncio`` HTTP server, standing
in for Starlette, FastAPI or Django) hands each body to ``bwnumbers.parse_notification`` and
the result to ``receiver.deliver``; ``order_and_wait`` works the same. The receiver is never
started: only its waiters are used.

Environment: as ``async_service.py``; without BW_* it runs on the local emulator.
"""

from __future__ import annotations

import asyncio
import logging

from _account import account

import bwnumbers

receiver = bwnumbers.CallbackReceiver()  # not started: another framework receives


async def handle_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal HTTP/1.1 endpoint: read one POST, answer 200 or 400, close."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await reader.readexactly(min(length, 64 * 1024))
        try:
            receiver.deliver(bwnumbers.parse_notification(body))
            status = b"200 OK"
        except bwnumbers.DecodeError:
            status = b"400 Bad Request"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


async def main() -> str:
    server = await asyncio.start_server(handle_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with account() as (client, site_id, _emulator):
            await client.ensure_subscription(f"http://127.0.0.1:{port}/callbacks")
            found = await client.search_available_numbers(zip="63101", quantity=1)
            result = await bwnumbers.order_and_wait(
                client, receiver, site_id=site_id, numbers=found.numbers, timeout=60
            )
            print(f"{result.completed_numbers[0]} ordered; learned by {result.source}")
            return str(result.source)
    finally:
        server.close()
        await server.wait_closed()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main())
