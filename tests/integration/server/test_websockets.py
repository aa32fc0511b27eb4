"""WebSocket passthrough, ``compat.ignoreWebsockets`` and ``/comfyui`` end to end."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

from llamaswap.process.state import ProcessState
from tests.integration.server.conftest import Stack, StartStack, demo_cmd
from tests.integration.server.demo_servers import (  # noqa: F401 (fixture)
    StartDemo,
    start_demo_fixture,
)
from tests.support.wait import async_wait_until

CONFIG = f"""
models:
  ws:
    cmd: {demo_cmd("--model-name", "ws")}
  ignored:
    cmd: {demo_cmd("--model-name", "ignored")}
    compat: {{ignoreWebsockets: true}}
  comfyui_auto:
    cmd: {demo_cmd("--model-name", "comfy")}
groups:
  together:
    swap: false
    members: [ws, ignored, comfyui_auto]
"""
UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture
async def stack(llamaswap: StartStack) -> Stack:
    return await llamaswap(CONFIG)


async def refused_upgrade(client: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    """Send a websocket handshake as a plain GET, to read llamaswap's error body."""
    async with client.get(url, headers=UPGRADE) as resp:
        return resp.status, dict(await resp.json())


async def headers_seen(ws: aiohttp.ClientWebSocketResponse) -> dict[str, str]:
    await ws.send_str("headers")
    msg = await ws.receive(timeout=10)
    return {k.lower(): v for k, v in json.loads(msg.data)}


async def test_upstream_websocket_starts_the_model_and_relays_both_ways(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.ws_connect(stack.url + "/upstream/ws/ws", protocols=("chat",)) as ws:
        assert ws.protocol == "chat", "the upstream's chosen subprotocol reaches the client"
        await ws.send_str("hello")
        assert (await ws.receive(timeout=10)).data == "hello"
        await ws.send_bytes(b"\x00\xffbin")
        assert (await ws.receive(timeout=10)).data == b"\x00\xffbin"
        seen = await headers_seen(ws)
        assert seen["host"] == stack.url.removeprefix("http://"), "client Host kept for local"
        assert seen["x-forwarded-for"] == "127.0.0.1"
        assert stack.router.state("ws") is ProcessState.READY


async def test_upstream_close_code_reaches_the_client(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.ws_connect(stack.url + "/upstream/ws/ws") as ws:
        await ws.send_str("close:4001")
        msg = await ws.receive(timeout=10)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4001


async def test_client_close_closes_the_upstream_socket(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.ws_connect(stack.url + "/upstream/ws/ws") as ws:
        await ws.send_str("ping")
        await ws.receive(timeout=10)

    async def upstream_idle() -> bool:
        async with client.get(stack.url + "/upstream/ws/demo/stats") as resp:
            stats = await resp.json()
        return bool(stats["active"] == 0)

    await async_wait_until(upstream_idle, timeout=10, message="upstream socket still open")


async def test_ignored_websocket_cannot_start_its_model(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    status, body = await refused_upgrade(client, stack.url + "/upstream/ignored/ws")
    assert status == 409
    assert body["error"]["message"] == (
        "model ignored is not loaded; ignored websocket requests cannot start it"
    )
    assert not stack.router.state("ignored").is_running


async def test_ignored_websocket_is_relayed_once_the_model_is_ready(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/upstream/ignored/health") as resp:
        assert resp.status == 200
    async with client.ws_connect(stack.url + "/upstream/ignored/ws") as ws:
        await ws.send_str("x")
        assert (await ws.receive(timeout=10)).data == "x"


async def test_comfyui_prefix_redirects_keep_the_query(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/comfyui?a=1", allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (301, "/comfyui/?a=1")
    async with client.post(stack.url + "/comfyui", allow_redirects=False) as resp:
        assert (resp.status, resp.headers["Location"]) == (308, "/comfyui/")


async def test_only_comfyui_root_may_start_comfyui_auto(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/comfyui/api/queue") as resp:
        assert resp.status == 409
        body = await resp.json()
    assert body["error"]["message"] == (
        "model comfyui_auto is not loaded; only /comfyui/ can start it"
    )
    status, _ = await refused_upgrade(client, stack.url + "/comfyui/ws")
    assert status == 409
    assert not stack.router.state("comfyui_auto").is_running

    async with client.get(stack.url + "/comfyui/") as resp:
        assert (await resp.json())["raw_path"] == "/"
    async with client.get(stack.url + "/comfyui/api/a%20b?x=1") as resp:
        assert (await resp.json())["raw_path"] == "/api/a%20b?x=1"
    async with client.ws_connect(stack.url + "/comfyui/ws?clientId=1") as ws:
        await ws.send_str("comfy")
        assert (await ws.receive(timeout=10)).data == "comfy"


async def test_comfyui_without_comfyui_auto_is_404(
    llamaswap: StartStack, client: aiohttp.ClientSession
) -> None:
    stack = await llamaswap(f"models:\n  m:\n    cmd: {demo_cmd()}\n")
    async with client.get(stack.url + "/comfyui/") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["message"] == "local model comfyui_auto not found"


async def test_peer_websocket_gets_peer_host_and_no_forwarded_for(
    llamaswap: StartStack, start_demo: StartDemo, client: aiohttp.ClientSession
) -> None:
    peer = await start_demo("remote")
    stack = await llamaswap(f"peers:\n  p:\n    proxy: {peer.url}\n    models: [r1]\n")
    async with client.ws_connect(stack.url + "/upstream/p/r1/ws") as ws:
        seen = await headers_seen(ws)
    assert seen["host"] == f"127.0.0.1:{peer.port}"
    assert "x-forwarded-for" not in seen


async def test_shutdown_closes_live_websockets_promptly(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.ws_connect(stack.url + "/upstream/ws/ws") as ws:
        await ws.send_str("x")
        await ws.receive(timeout=10)
        started = time.monotonic()
        cleanup = asyncio.ensure_future(stack.runner.cleanup())
        msg = await ws.receive(timeout=10)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
    await asyncio.wait_for(cleanup, timeout=10)
    assert time.monotonic() - started < 5, "shutdown waited for the websocket"
