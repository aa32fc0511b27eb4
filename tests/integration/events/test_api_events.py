"""``GET /api/events``: snapshot, live messages, and how a stream ends."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import aiohttp

from llamaswap.reload import Reloader
from llamaswap.server.keys import EVENT_STREAMS, LIVE
from tests.integration.events.conftest import (
    EventStack,
    SseReader,
    StartEventStack,
    demo_cmd,
    model_state,
)
from tests.support.wait import async_wait_until

TWO_MODELS = f"""
models:
  m1:
    cmd: {demo_cmd("m1", "--output-bytes", "120")}
    aliases: [first]
    name: Model One
  m0:
    cmd: {demo_cmd("m0")}
    unlisted: true
peers:
  remote:
    proxy: http://127.0.0.1:9
    models: [big]
"""
SNAPSHOT_TYPES = ["logData", "logData", "modelStatus", "uiConfig", "profileChanged", "inflight"]


async def _chat(client: aiohttp.ClientSession, stack: EventStack, model: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    async with client.post(stack.url + "/v1/chat/completions", json=body) as resp:
        assert resp.status == 200, await resp.text()
        await resp.read()


async def _wait_streams(stack: EventStack, n: int) -> None:
    streams = stack.app[EVENT_STREAMS]
    await async_wait_until(
        lambda: len(streams) == n, timeout=10, message=lambda: f"{len(streams)} streams, want {n}"
    )


async def test_snapshot_on_connect_comes_in_llama_swaps_order_and_shapes(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(TWO_MODELS)
    async with client.get(stack.url + "/api/events") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/event-stream"
        assert resp.headers["Cache-Control"] == "no-cache"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Accel-Buffering"] == "no"
        first = await resp.content.readuntil(b"\n\n")
        assert first.startswith(b'event:message\ndata:{"type":"logData","data":"{\\"source\\"')
        reader = SseReader(resp)
        messages = [await reader.next() for _ in range(5)]
    got = ["logData"] + [m.type if m else "<eof>" for m in messages]
    assert got == SNAPSHOT_TYPES, f"got {got}, want llama-swap's initial order"
    upstream, status, ui, profile, inflight = messages
    assert upstream is not None
    assert upstream.data["source"] == "upstream"
    assert status is not None
    assert status.data == [
        {
            "id": "m0",
            "name": "",
            "description": "",
            "state": "stopped",
            "unlisted": True,
            "peerID": "",
        },
        {
            "id": "m1",
            "name": "Model One",
            "description": "",
            "state": "stopped",
            "unlisted": False,
            "peerID": "",
            "aliases": ["first"],
        },
        {
            "id": "remote/big",
            "name": "",
            "description": "",
            "state": "",
            "unlisted": False,
            "peerID": "remote",
        },
    ]
    assert ui is not None
    assert ui.data == {"activity": {"session_id": ["X-Session-ID", "X-Litellm-Session-Id"]}}
    assert profile is not None
    assert profile.data == {"active": None}
    assert inflight is not None
    assert inflight.data == {"operation": "snapshot", "requests": []}


async def test_model_status_follows_a_model_loading_and_unloading(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(TWO_MODELS)
    async with client.get(stack.url + "/api/events") as resp:
        reader = SseReader(resp)
        await reader.wait_for(lambda m: m.type == "inflight")  # end of the snapshot
        await _chat(client, stack, "m1")
        await reader.wait_for(lambda m: model_state(m, "m1") == "starting")
        await reader.wait_for(lambda m: model_state(m, "m1") == "ready")
        async with client.post(stack.url + "/api/models/unload") as unload:
            assert unload.status == 200
        await reader.wait_for(lambda m: model_state(m, "m1") == "stopping")
        await reader.wait_for(lambda m: model_state(m, "m1") == "stopped")


async def test_upstream_output_arrives_as_log_data(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(TWO_MODELS)
    async with client.get(stack.url + "/api/events") as resp:
        reader = SseReader(resp)
        await reader.wait_for(lambda m: m.type == "inflight")
        await _chat(client, stack, "m1")
        await reader.wait_for(
            lambda m: (
                m.type == "logData"
                and m.data["source"] == "upstream"
                and "demo filler output" in m.data["data"]
            )
        )
        await reader.wait_for(
            lambda m: (
                m.type == "logData"
                and m.data["source"] == "proxy"
                and "/v1/chat/completions" in m.data["data"]
            )
        )


async def test_profile_change_is_announced_then_model_status(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(TWO_MODELS + "profiles:\n  fast:\n    pins: {chat: m1}\n")
    async with client.get(stack.url + "/api/events") as resp:
        reader = SseReader(resp)
        await reader.wait_for(lambda m: m.type == "inflight")
        async with client.put(stack.url + "/api/profiles/active", json={"name": "fast"}) as put:
            assert put.status == 200
        changed = await reader.wait_for(lambda m: m.type == "profileChanged")
        assert changed.data == {"active": "fast"}
        after = await reader.next()
        assert after is not None
        assert after.type == "modelStatus"


async def test_reload_keeps_the_stream_and_pushes_the_new_models(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(TWO_MODELS)
    text = stack.path.read_text().replace("  m0:", "  m2:")
    async with client.get(stack.url + "/api/events") as resp:
        reader = SseReader(resp)
        await reader.wait_for(lambda m: m.type == "inflight")
        stack.path.write_text(text)
        reloader = Reloader(
            stack.config,
            config_path=str(stack.path),
            config_dir=None,
            router=stack.router,
            live=stack.app[LIVE],
        )
        assert await reloader.reload()
        status = await reader.wait_for(lambda m: model_state(m, "m2") == "stopped")
        assert [e["id"] for e in status.data] == ["m1", "m2", "remote/big"]


async def test_event_stream_ends_cleanly_when_the_server_shuts_down(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    """``on_shutdown`` ends the stream; shutdown does not wait out its timeout."""
    stack = await event_stack(TWO_MODELS)
    async with client.get(stack.url + "/api/events") as stream:
        assert stream.status == 200
        await _wait_streams(stack, 1)
        async with asyncio.timeout(10):
            await stack.runner.cleanup()  # aiohttp would wait 60 s for a live handler
            await stream.content.read()
        assert stream.content.at_eof()
    assert len(stack.app[EVENT_STREAMS]) == 0
    assert len(stack.bus) == 0


async def test_a_stalled_events_reader_holds_up_nothing(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    """A client that stops reading loses messages (one warning) while logs are written
    at full speed, requests are served and other streams get their snapshot."""
    stack = await event_stack(TWO_MODELS)
    url = urlsplit(stack.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, (url.hostname or "127.0.0.1", url.port or 80))
        request = f"GET /api/events HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n"
        await loop.sock_sendall(sock, request.encode())
        await _wait_streams(stack, 1)
        chunk = b"y" * 60_000 + b"\n"
        for _ in range(2_000):  # 120 MB: far beyond every socket buffer
            stack.monitors.upstream.write(chunk)
            await asyncio.sleep(0)  # let the stream's log reader run
        await async_wait_until(
            lambda: b"sendBuffer full, dropped message" in stack.monitors.proxy.history(),
            timeout=15,
            message="no drop warning",
        )
        async with asyncio.timeout(20):
            await _chat(client, stack, "m1")
            async with client.get(stack.url + "/api/events") as other:
                reader = SseReader(other)
                await reader.wait_for(lambda m: m.type == "inflight")
        warnings = stack.monitors.proxy.history().count(b"sendBuffer full")
        assert warnings < 10, f"{warnings} drop warnings: want one per overflow episode"
    finally:
        sock.close()
    await _wait_streams(stack, 0)


async def test_event_stream_needs_an_api_key_when_keys_are_set(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(TWO_MODELS + "apiKeys: [sk-one]\n")
    for method, path in (
        ("GET", "/api/events"),
        ("GET", "/api/version"),
        ("POST", "/api/inflight/1/cancel"),
    ):
        async with client.request(method, stack.url + path) as resp:
            assert resp.status == 401, f"{method} {path}: got {resp.status}, want 401"
    headers = {"Authorization": "Bearer sk-one"}
    async with client.get(stack.url + "/api/version", headers=headers) as resp:
        assert resp.status == 200
