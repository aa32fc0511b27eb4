"""How a ``/logs/stream`` ends, and why a reader can never hold anything up."""

from __future__ import annotations

import asyncio
import re
import socket
from urllib.parse import urlsplit

import aiohttp

from llamaswap.server.keys import LOG_STREAMS
from tests.integration.logs.conftest import LogStack, StartLogStack, demo_cmd
from tests.support.wait import async_wait_until

ONE_MODEL = f"""
models:
  m1:
    cmd: {demo_cmd("m1")}
"""
FILLER = 24 * 1024 * 1024
"""Far more than the kernel's socket buffers (4 MiB) can hold for a reader that stalls."""
DROPPED = "bytes dropped —".encode()


async def wait_streams(stack: LogStack, n: int) -> None:
    streams = stack.app[LOG_STREAMS]
    await async_wait_until(
        lambda: len(streams) == n, timeout=10, message=lambda: f"{len(streams)} streams, want {n}"
    )


async def test_log_stream_ends_cleanly_when_the_server_shuts_down(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    """``on_shutdown`` ends the stream; shutdown does not wait out its timeout."""
    stack = await log_stack(ONE_MODEL)
    async with client.get(stack.url + "/logs/stream") as stream:
        assert stream.status == 200
        await wait_streams(stack, 1)
        async with asyncio.timeout(10):
            await stack.runner.cleanup()  # aiohttp would wait 60 s for a live handler
            await stream.content.read()  # the chunked body ends properly: no error
        assert stream.content.at_eof()
    assert len(stack.app[LOG_STREAMS]) == 0


async def test_client_hanging_up_ends_its_subscription(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    stack = await log_stack(ONE_MODEL)
    async with client.get(stack.url + "/logs/stream/m1") as stream:
        assert stream.status == 200
        await wait_streams(stack, 1)
    await wait_streams(stack, 0)


async def _chat(client: aiohttp.ClientSession, stack: LogStack, model: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    async with client.post(stack.url + "/v1/chat/completions", json=body) as resp:
        assert resp.status == 200, await resp.text()
        await resp.read()


async def test_a_stalled_log_reader_never_holds_up_a_models_output(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    """A reader that stops reading loses chunks (and is told how many bytes) while the
    model's output is drained at full speed and requests are served."""
    stack = await log_stack(
        f"""
models:
  chatty:
    cmd: {demo_cmd("chatty", "--output-bytes", str(FILLER))}
"""
    )
    loop = asyncio.get_running_loop()
    url = urlsplit(stack.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    received = bytearray()
    reader: asyncio.Task[None] | None = None
    try:
        await loop.sock_connect(sock, (url.hostname, url.port))
        request = f"GET /logs/stream/upstream HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n"
        await loop.sock_sendall(sock, request.encode())
        await wait_streams(stack, 1)

        # Nobody reads the stream while the model prints 24 MiB before it is ready.
        async with asyncio.timeout(60):
            await _chat(client, stack, "chatty")
        assert b"demo chatty: ready after" in stack.router.logs("chatty").history(), (
            "the model's pipe was not drained past its filler"
        )

        async def read_all() -> None:
            while chunk := await loop.sock_recv(sock, 1 << 16):
                received.extend(chunk)

        reader = asyncio.create_task(read_all())
        # More output once the reader catches up brings the marker (each restart of the
        # model prints a few lines).
        async with asyncio.timeout(60):
            while DROPPED not in received:
                async with client.post(stack.url + "/api/models/unload") as resp:
                    assert resp.status == 200
                await _chat(client, stack, "chatty")
                await async_wait_until(
                    lambda: DROPPED in received or b"ready after" in received[-4096:],
                    timeout=10,
                    message="the stream never caught up",
                )
    finally:
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        sock.close()
    marker = re.search("\n— ([0-9]+) bytes dropped —\n".encode(), received)
    assert marker is not None, "no drop marker"
    assert int(marker[1]) > 0, "the marker names the bytes lost"
