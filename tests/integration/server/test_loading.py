"""The sendLoadingState stream (router.md §2.10, design.md deviation 6) end to end."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from typing import Any

import aiohttp
import pytest

from llamaswap.process.state import ProcessState
from tests.integration.server.conftest import (
    REPO,
    Stack,
    StartStack,
    demo_cmd,
    read_first_chunk,
)
from tests.support.wait import async_wait_until

ECHO_CMD = f"{sys.executable} -m tests.integration.server.echo_upstream --port ${{PORT}}"


@pytest.fixture
async def stack(llamaswap: StartStack) -> Stack:
    return await llamaswap(
        f"""
sendLoadingState: true
models:
  slow:
    cmd: {demo_cmd("--healthy-after", "1.2", "--stream-chunks", "3")}
  quiet:
    cmd: {demo_cmd()}
    sendLoadingState: false
  broken:
    cmd: {demo_cmd("--exit-at-start", "3")}
  echo:
    cmd: {ECHO_CMD}
    env: ["PYTHONPATH={REPO}"]
routing:
  router:
    settings:
      groups:
        all:
          swap: false
          exclusive: true
          members: [slow, quiet, broken, echo]
"""
    )


def events(raw: bytes) -> list[Any]:
    out: list[Any] = []
    for block in raw.decode().split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def reasoning_text(evs: list[Any]) -> str:
    text = ""
    for ev in evs:
        if isinstance(ev, dict) and "choices" in ev:
            text += ev["choices"][0]["delta"].get("reasoning_content") or ""
    return text


async def chat(
    stack: Stack, client: aiohttp.ClientSession, model: str, *, stream: bool = True, **kw: Any
) -> tuple[aiohttp.ClientResponse, bytes]:
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    async with client.post(stack.url + "/v1/chat/completions", json=body, **kw) as resp:
        return resp, await resp.read()


async def test_loading_stream_shows_progress_then_done_then_upstream_body(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    sent = time.monotonic()
    resp, raw = await chat(stack, client, "slow")
    elapsed = time.monotonic() - sent
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert resp.headers["X-Accel-Buffering"] == "no"
    evs = events(raw)
    text = reasoning_text(evs)
    assert text.startswith("━━━━━\nllama-swap loading model: slow\n"), text
    match = re.search(r"\nDone! \((\d+\.\d\d)s\)\n━━━━━\n \n", text)
    assert match, text
    done = float(match.group(1))
    assert 1.0 <= done <= elapsed + 0.05, (done, elapsed)
    assert "." in text[: match.start()], "no progress dots while loading"
    assert evs[-1] == "[DONE]"
    contents = [
        ev["choices"][0]["delta"].get("content")
        for ev in evs
        if isinstance(ev, dict) and "choices" in ev
    ]
    assert any(contents), "upstream's own chunks missing after the trailer"


async def test_no_loading_stream_when_ready_or_not_streaming_or_disabled(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    resp, raw = await chat(stack, client, "slow", stream=False)
    assert resp.headers["Content-Type"].startswith("application/json")
    resp, raw = await chat(stack, client, "slow")  # now ready at admission
    assert "loading model" not in reasoning_text(events(raw))
    resp, raw = await chat(stack, client, "quiet")  # sendLoadingState: false
    assert "loading model" not in reasoning_text(events(raw))


async def test_failed_start_after_stream_began_is_final_error_event(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    resp, raw = await chat(stack, client, "broken")
    assert resp.status == 200
    evs = events(raw)
    assert evs[-1] == "[DONE]"
    error = evs[-2]["error"]
    assert set(error) == {"message", "type", "code"}
    assert error["message"].startswith("unspecific error:")
    assert (error["type"], error["code"]) == ("server_error", "internal_error")


async def test_upstream_non_200_after_stream_began_is_final_error_event(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    resp, raw = await chat(stack, client, "echo", headers={"X-Echo-Status": "503"})
    assert resp.status == 200
    evs = events(raw)
    assert "Done! (" in reasoning_text(evs)
    assert evs[-2] == {
        "error": {
            "message": "forced failure",
            "type": "server_error",
            "code": "service_unavailable",
        }
    }
    assert evs[-1] == "[DONE]"


async def test_shutdown_lets_a_loading_stream_finish_when_the_model_becomes_ready(
    llamaswap: StartStack, client: aiohttp.ClientSession
) -> None:
    """router.md §2.15: a loading stream drains like any request; the model becoming
    ready during the drain gives the client the upstream's whole answer."""
    stack = await llamaswap(
        f"sendLoadingState: true\nmodels:\n  warming:\n"
        f"    cmd: {demo_cmd('--healthy-after', '1.5', '--stream-chunks', '3')}\n"
    )
    body = {"model": "warming", "stream": True, "messages": []}
    async with client.post(stack.url + "/v1/chat/completions", json=body) as resp:
        first = await read_first_chunk(resp)
        assert b"reasoning_content" in first, first
        async with asyncio.timeout(20):
            cleanup = asyncio.create_task(stack.runner.cleanup())
            raw = first + await resp.read()
            await cleanup
    evs = events(raw)
    assert "Done! (" in reasoning_text(evs), reasoning_text(evs)
    contents = [
        ev["choices"][0]["delta"].get("content")
        for ev in evs
        if isinstance(ev, dict) and "choices" in ev
    ]
    assert len([c for c in contents if c]) >= 3, raw[-300:]
    assert not any(isinstance(ev, dict) and "error" in ev for ev in evs), raw[-300:]
    assert evs[-1] == "[DONE]"


async def test_shutdown_gives_a_stream_still_loading_the_routers_error_event(
    llamaswap: StartStack, client: aiohttp.ClientSession
) -> None:
    """A model that never gets healthy: the drain holds the stream until the router
    shuts down, then its error is the final SSE event (deviation 6)."""
    stack = await llamaswap(
        f"sendLoadingState: true\nmodels:\n  glacial:\n    cmd: {demo_cmd('--never-healthy')}\n"
    )
    body = {"model": "glacial", "stream": True, "messages": []}
    async with client.post(stack.url + "/v1/chat/completions", json=body) as resp:
        assert await read_first_chunk(resp)  # the stream has begun
        async with asyncio.timeout(15):
            cleanup = asyncio.create_task(stack.runner.cleanup())
            await stack.router.shutdown(5)
            raw = await resp.read()
            await cleanup
    evs = events(raw)
    assert evs[-1] == "[DONE]"
    assert evs[-2]["error"]["message"] == "unspecific error: group is shutting down"


async def test_a_queued_loading_stream_shows_its_queue_position(
    llamaswap: StartStack, client: aiohttp.ClientSession
) -> None:
    """router.md §2.10: a request queued behind another model's swap sees
    "\\nQueue position: #1 " in its loading text, then Done! and its answer."""
    stack = await llamaswap(
        f"""
sendLoadingState: true
models:
  first:
    cmd: {demo_cmd("--healthy-after", "3")}
  second:
    cmd: {demo_cmd("--stream-chunks", "2")}
"""
    )
    body = {"model": "first", "messages": [{"role": "user", "content": "hi"}]}
    blocking = asyncio.create_task(client.post(stack.url + "/v1/chat/completions", json=body))
    try:
        await async_wait_until(
            lambda: stack.router.state("first") is ProcessState.STARTING, timeout=10
        )
        resp, raw = await chat(stack, client, "second")
        first = await blocking
        assert first.status == 200, await first.text()
        first.release()
    finally:
        blocking.cancel()
        await asyncio.gather(blocking, return_exceptions=True)
    assert resp.status == 200
    evs = events(raw)
    text = reasoning_text(evs)
    assert "\nQueue position: #1 " in text, text
    assert text.index("Queue position") < text.index("Done! ("), text
    assert evs[-1] == "[DONE]"


@pytest.mark.parametrize("path", ["/v/chat/completions", "/upstream/slow/v1/chat/completions"])
async def test_no_loading_stream_outside_v1_chat_completions(
    stack: Stack, client: aiohttp.ClientSession, path: str
) -> None:
    """Only `/v1/chat/completions` gets loading text (router.md §2.10): a streamed
    chat through `/v/...` or `/upstream/<model>/...` waits for the model silently."""
    assert stack.router.state("slow") is not ProcessState.READY
    body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    async with client.post(stack.url + path + "?stream=true", json=body) as resp:
        raw = await resp.read()
    assert resp.status == 200, raw
    assert stack.router.state("slow") is ProcessState.READY
    assert b"loading model" not in raw, raw[:300]
    assert b"reasoning_content" not in raw, raw[:300]
