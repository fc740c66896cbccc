"""A TCP relay that holds every chunk for a fixed time in each direction: the link's latency, where the
kernel lacks `tc netem`. Run inside the server's network namespace:

    python -m bench.delay_relay LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS

A TARGET_HOST that is a path names a folder holding a Unix socket (`.s.PGSQL.<TARGET_PORT>`, as PostgreSQL
names its socket): the relay then carries TCP from another namespace to a server that listens on no address there.

    python -m bench.delay_relay LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS udp

carries UDP datagrams instead (mosh): one client at a time, each datagram held DELAY_MS each way; a datagram the
network refuses (a link that is down) is dropped, as the link would drop it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, cast


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


class _Upstream(asyncio.DatagramProtocol):
    """The relay's socket towards the target: what comes back goes to the client after the delay."""

    def __init__(self, relay: _Downstream) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.relay.to_client(data)

    def error_received(self, exc: Exception) -> None:  # the link is down: the datagram is lost
        pass


class _Downstream(asyncio.DatagramProtocol):
    """The relay's listening socket: datagrams from the client go to the target after the delay."""

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target, self.delay = target, delay
        self.client: tuple[str | Any, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.upstream: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.client = addr
        if self.upstream is not None:
            asyncio.get_running_loop().call_later(self.delay, self._send, self.upstream, data, None)

    def to_client(self, data: bytes) -> None:
        if self.transport is not None and self.client is not None:
            asyncio.get_running_loop().call_later(self.delay, self._send, self.transport, data, self.client)

    @staticmethod
    def _send(transport: asyncio.DatagramTransport, data: bytes, addr: tuple[str | Any, int] | None) -> None:
        if not transport.is_closing():
            transport.sendto(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass


async def _serve_udp(listen: tuple[str, int], target: tuple[str, int], delay: float) -> None:
    loop = asyncio.get_running_loop()
    _, relay = await loop.create_datagram_endpoint(lambda: _Downstream(target, delay), local_addr=listen)
    upstream, _ = await loop.create_datagram_endpoint(lambda: _Upstream(relay), remote_addr=target)
    relay.upstream = upstream
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    host, port, target_host, target_port, delay_ms = sys.argv[1:6]
    serve = _serve_udp if sys.argv[6:7] == ["udp"] else _serve
    asyncio.run(serve((host, int(port)), (target_host, int(target_port)), int(delay_ms) / 1000))
