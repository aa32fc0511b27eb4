"""The one retry: a request that fails on a reused pooled connection before any
response byte is resent once on a fresh connection (llama-server closes its
connection after streamed responses). A scripted raw-socket upstream makes the
race deterministic: it reads the second request on the kept-alive connection and
hangs up without answering."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp.base_protocol import BaseProtocol
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request
from yarl import URL

from llamaswap.config.schema import Timeouts
from llamaswap.server.body import BufferedBody, StreamedBody
from llamaswap.server.clients import new_session
from llamaswap.server.proxy import send
from tests.integration.server.conftest import StartStack, demo_cmd

SSE = b"data: {}\n\ndata: [DONE]\n\n"
OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Content-Length: " + str(len(SSE)).encode() + b"\r\n\r\n" + SSE
)

JSON_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


@dataclass
class ScriptedUpstream:
    """Connection n answers its first ``answers[n]`` requests, then hangs up on the next."""

    answers: list[int]
    response: bytes = OK
    connections: int = 0
    requests: int = 0
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.connections
        self.connections += 1
        budget = self.answers[index] if index < len(self.answers) else 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                self.requests += 1
                if budget == 0:
                    return  # hang up without a response byte
                budget -= 1
                writer.write(self.response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[ScriptedUpstream, str]]:
    upstream = ScriptedUpstream(answers=[1, 1, 1])
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield upstream, f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def _request() -> aiohttp.web.Request:
    return make_mocked_request("POST", "/v1/chat/completions", headers={"Host": "h"})


async def test_failure_on_reused_connection_is_retried_on_a_fresh_one(
    scripted: tuple[ScriptedUpstream, str],
) -> None:
    upstream, base = scripted
    async with new_session(Timeouts()) as session:
        url = URL(base + "/v1/chat/completions")
        body = BufferedBody(b'{"model":"m","stream":true}')
        first = await send(session, _request(), url, body)
        assert await first.read() == SSE
        second = await send(session, _request(), url, body)
        assert second.status == 200
        assert await second.read() == SSE
    assert upstream.connections == 2, "retry must use a fresh connection"
    assert upstream.requests == 3, "the failed request is sent exactly twice"


async def test_failure_on_a_fresh_connection_is_not_retried(
    scripted: tuple[ScriptedUpstream, str],
) -> None:
    from llamaswap.errors import BadGateway

    upstream, base = scripted
    upstream.answers = [0, 1]
    async with new_session(Timeouts()) as session:
        with pytest.raises(BadGateway):
            await send(session, _request(), URL(base + "/x"), BufferedBody(b"{}"))
    assert (upstream.connections, upstream.requests) == (1, 1)


async def test_back_to_back_streams_to_an_upstream_closing_after_each_all_succeed(
    llamaswap: StartStack, client: aiohttp.ClientSession
) -> None:
    stack = await llamaswap(
        f"models:\n  m:\n    cmd: {demo_cmd('--close-after-stream', '--stream-chunks', '2')}\n"
    )
    body = {"model": "m", "stream": True, "messages": []}
    for _ in range(20):
        async with client.post(stack.url + "/v1/chat/completions", json=body) as resp:
            assert resp.status == 200
            assert (await resp.read()).endswith(b"data: [DONE]\n\n")


def _streamed_body(data: bytes) -> StreamedBody:
    """A live client body as ``/upstream`` forwards it: aiohttp's own stream reader."""
    protocol = BaseProtocol(asyncio.get_running_loop())
    reader = StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())
    reader.feed_data(data)
    reader.feed_eof()
    return StreamedBody(reader, len(data))


async def test_a_streamed_body_is_not_retried_on_a_reused_connection(
    scripted: tuple[ScriptedUpstream, str],
) -> None:
    """A live body cannot be replayed: the failure on a reused connection is a 502,
    not a second attempt."""
    from llamaswap.errors import BadGateway

    upstream, base = scripted
    async with new_session(Timeouts()) as session:
        url = URL(base + "/v1/chat/completions")
        first = await send(session, _request(), url, BufferedBody(b"{}"))
        assert await first.read() == SSE
        with pytest.raises(BadGateway):
            await send(session, _request(), url, _streamed_body(b'{"model":"m"}'))
    assert (upstream.connections, upstream.requests) == (1, 2), "no retry for a live body"


async def test_a_streamed_request_never_reuses_its_connection(
    scripted: tuple[ScriptedUpstream, str],
) -> None:
    """A client that asked for a stream gets a connection that is not pooled afterwards:
    the next request opens a fresh one instead of failing on one llama-server is closing
    (it closes after every streamed response) and needing the retry."""
    upstream, base = scripted
    upstream.answers = [5, 5, 5]  # every connection would answer more than once
    url = URL(base + "/v1/chat/completions")
    body = BufferedBody(b'{"model":"m","stream":true}')
    async with new_session(Timeouts()) as session:
        for _ in range(3):
            resp = await send(session, _request(), url, body, streaming=True)
            assert await resp.read() == SSE
    assert (upstream.connections, upstream.requests) == (3, 3), "one connection per stream"


async def test_plain_requests_keep_reusing_a_pooled_connection(
    scripted: tuple[ScriptedUpstream, str],
) -> None:
    """Keep-alive stays on for everything else: three plain requests, one connection."""
    upstream, base = scripted
    upstream.answers = [5, 5, 5]
    upstream.response = JSON_OK
    url = URL(base + "/v1/embeddings")
    async with new_session(Timeouts()) as session:
        for _ in range(3):
            resp = await send(session, _request(), url, BufferedBody(b'{"model":"m"}'))
            assert await resp.read() == b"{}"
    assert (upstream.connections, upstream.requests) == (1, 3)
