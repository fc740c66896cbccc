"""A TCP relay that holds every chunk for a fixed time in each direction: the link's latency, where the
kernel lacks `tc netem`. Run inside the server's network namespace:

    python -m bench.delay_relay LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS

A TARGET_HOST that is a path names a folder holding a Unix socket (`.s.PGSQL.<TARGET_PORT>`, as PostgreSQL
names its socket): the relay then carries TCP from another namespace to a server that listens on no address there.
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    while True:
        data = await reader.read(4096)
        await queue.put((loop.time() + delay, data))
        if not data:
            break
    await sender


async def _serve(listen: tuple[str, int], target: tuple[str, int], delay: float) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if target[0].startswith("/"):
            server_reader, server_writer = await asyncio.open_unix_connection(f"{target[0]}/.s.PGSQL.{target[1]}")
        else:
            server_reader, server_writer = await asyncio.open_connection(*target)
        await asyncio.gather(_pipe(client_reader, server_writer, delay), _pipe(server_reader, client_writer, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, *listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    host, port, target_host, target_port, delay_ms = sys.argv[1:6]
    asyncio.run(_serve((host, int(port)), (target_host, int(target_port)), int(delay_ms) / 1000))
