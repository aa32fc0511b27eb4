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

from tests.integration.server.conftest import REPO, Stack, StartStack, demo_cmd

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


async def test_shutdown_ends_a_loading_stream_with_an_error_event(
    llamaswap: StartStack, client: aiohttp.ClientSession
) -> None:
    stack = await llamaswap(
        f"sendLoadingState: true\nmodels:\n  glacial:\n"
        f"    cmd: {demo_cmd('--healthy-after', '60')}\n"
    )
    body = {"model": "glacial", "stream": True, "messages": []}
    async with client.post(stack.url + "/v1/chat/completions", json=body) as resp:
        async with asyncio.timeout(10):
            assert await resp.content.readany()  # the stream has begun
        started = time.monotonic()
        async with asyncio.timeout(15):
            cleanup = asyncio.create_task(stack.runner.cleanup())
            raw = await resp.read()
            await cleanup
    assert time.monotonic() - started < 10, "shutdown waited for the model instead"
    evs = events(raw)
    assert evs[-1] == "[DONE]"
    assert evs[-2]["error"]["message"] == "llama-swap is shutting down"
