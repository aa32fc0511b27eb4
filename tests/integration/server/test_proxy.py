"""The proxy core on the wire: what reaches the upstream and what comes back.

A small app forwards every request with ``proxy.forward`` to a real upstream
subprocess (the echo upstream); routing is tested elsewhere.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from llamaswap.config.schema import Timeouts
from llamaswap.server.body import BufferedBody, RequestBody, StreamedBody
from llamaswap.server.clients import new_session
from llamaswap.server.errors import error_middleware
from llamaswap.server.proxy import forward
from tests.integration.server.conftest import Serve, Upstream, read_first_chunk
from tests.integration.server.echo_upstream import GZIP_BODY
from tests.support.wait import async_wait_until

SESSION = web.AppKey("session", aiohttp.ClientSession)
BASE = web.AppKey("base", str)


async def _forward_all(request: web.Request) -> web.StreamResponse:
    body: RequestBody
    if request.content_length is not None and request.content_length < 1 << 20:
        body = BufferedBody(await request.read())
    elif request.body_exists:
        body = StreamedBody(request.content, request.content_length)
    else:
        body = BufferedBody(b"")
    return await forward(request.app[SESSION], request, request.app[BASE], request.raw_path, body)


async def _session_ctx(app: web.Application) -> AsyncIterator[None]:
    app[SESSION] = new_session(Timeouts())
    yield
    await app[SESSION].close()


def proxy_app(base_url: str) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=0)
    app[BASE] = base_url
    app.cleanup_ctx.append(_session_ctx)
    app.router.add_route("*", "/{tail:.*}", _forward_all)
    return app


@pytest.fixture
async def proxy(echo_upstream: Upstream, serve_app: Serve) -> str:
    return await serve_app(proxy_app(echo_upstream.url))


async def test_percent_encoded_path_and_query_reach_upstream_unchanged(
    proxy: str, client: aiohttp.ClientSession
) -> None:
    url = proxy + "/echo/a%2Fb/c%20d?x=1%2B2&y=%E2%9C%93"
    async with client.get(URL(url, encoded=True)) as resp:
        seen = await resp.json()
    assert seen["raw_path"] == "/echo/a%2Fb/c%20d?x=1%2B2&y=%E2%9C%93"


async def test_host_kept_hop_by_hop_dropped_and_forwarded_for_added(
    proxy: str, client: aiohttp.ClientSession
) -> None:
    headers = {
        "Host": "client.example:1234",
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "secret",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Proxy-Authorization": "Basic abc",
        "Authorization": "Bearer key",
        "X-Forwarded-For": "10.0.0.1",
        "X-Custom": "kept",
    }
    async with client.post(proxy + "/echo", data=b"hi", headers=headers) as resp:
        seen = await resp.json()
    got = {k.lower(): v for k, v in seen["headers"]}
    assert got["host"] == "client.example:1234"
    assert got["authorization"] == "Bearer key"
    assert got["x-custom"] == "kept"
    assert got["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"
    for hop in ("x-hop", "keep-alive", "te", "proxy-authorization"):
        assert hop not in got, f"hop-by-hop header {hop} was forwarded"
    assert "user-agent" in got  # aiohttp client's own UA passes through
    assert seen["length"] == 2


async def test_no_headers_are_invented_for_the_upstream(proxy: str) -> None:
    reader, writer = await asyncio.open_connection(*proxy.removeprefix("http://").split(":"))
    try:
        writer.write(b"GET /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    seen = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    names = sorted(k.lower() for k, _ in seen["headers"])
    assert names == ["host", "x-forwarded-for"], names


async def test_gzip_body_passes_through_byte_identical(
    proxy: str, client: aiohttp.ClientSession
) -> None:
    async with client.get(proxy + "/gzip", headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        raw = await resp.read()
    assert raw == GZIP_BODY
    assert gzip.decompress(raw).startswith(b'{"hello"')


async def test_sse_first_chunk_arrives_while_upstream_still_streams(
    proxy: str, echo_upstream: Upstream, client: aiohttp.ClientSession
) -> None:
    async with client.get(proxy + "/sse?n=4&interval=0.5") as resp:
        assert resp.headers["X-Accel-Buffering"] == "no"
        first = await read_first_chunk(resp)
        assert first.startswith(b'data: {"i": 0}')
        async with client.get(echo_upstream.url + "/stats") as s:
            stats = await s.json()
        assert stats["active"] == 1, f"upstream finished before first chunk: {stats}"
        rest = await resp.read()
    assert rest.endswith(b"data: [DONE]\n\n")


async def test_client_disconnect_mid_stream_cancels_upstream(
    proxy: str, echo_upstream: Upstream, client: aiohttp.ClientSession
) -> None:
    resp = await client.get(proxy + "/sse?n=100000&interval=0.02")
    await read_first_chunk(resp)
    resp.close()  # drop the client connection mid-stream

    async def upstream_saw_hangup() -> bool:
        async with client.get(echo_upstream.url + "/stats") as s:
            stats = await s.json()
        return bool(stats["disconnects"] == 1 and stats["active"] == 0)

    await async_wait_until(upstream_saw_hangup, timeout=10, message="upstream kept streaming")


async def test_unreachable_upstream_is_502_envelope(
    serve_app: Serve, client: aiohttp.ClientSession
) -> None:
    from tests.support.ports import free_port

    url = await serve_app(proxy_app(f"http://127.0.0.1:{free_port()}"))
    async with client.post(url + "/v1/chat/completions", json={"model": "m"}) as resp:
        assert resp.status == 502
        body = await resp.json()
    assert body["src"] == "llama-swap"
    assert body["error"]["type"] == "server_error"
    assert body["error"]["code"] == "bad_gateway"


async def test_upstream_error_status_and_body_pass_through(
    proxy: str, client: aiohttp.ClientSession
) -> None:
    async with client.post(proxy + "/status/418", json={}) as resp:
        assert resp.status == 418
        assert await resp.json() == {"error": {"message": "upstream says 418"}}


async def test_150_concurrent_streams_all_complete(proxy: str) -> None:
    async def one() -> bytes:
        async with many.get(proxy + "/sse?n=5&interval=0.05") as resp:
            return await resp.read()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as many:
        async with asyncio.timeout(60):
            bodies = await asyncio.gather(*(one() for _ in range(150)))
    assert all(b.endswith(b"data: [DONE]\n\n") and b.count(b"data:") == 6 for b in bodies)
