"""The sendLoadingState stream through the real CLI (router.md §2.10, deviation 6)."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import StartLlamaswap, chat_body, demo_cmd
from .streams import content_text, reasoning_text, sse_data

pytestmark = pytest.mark.timeout(60)

CONFIG = f"""
sendLoadingState: true
models:
  m:
    cmd: {demo_cmd("m", "--healthy-after", "1.6", "--stream-chunks", "5")}
    proxy: http://127.0.0.1:${{PORT}}
"""


async def test_streamed_chat_to_a_cold_model_shows_loading_then_upstream_sse(
    llamaswap: StartLlamaswap,
) -> None:
    """Header line, model line, progress, ``Done! (N.NNs)`` and the closing rule in
    reasoning deltas, then the upstream's own SSE ending with ``[DONE]``."""
    ls = await llamaswap(CONFIG)
    async with ls.session.post(
        ls.url + "/v1/chat/completions", json=chat_body("m", stream=True)
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert resp.headers["Cache-Control"] == "no-cache"
        assert resp.headers["X-Accel-Buffering"] == "no"
        body = await resp.read()

    loading = reasoning_text(body)
    assert loading.startswith("━━━━━\nllama-swap loading model: m\n"), loading
    done = re.search(r"\nDone! \((\d+\.\d\d)s\)\n━━━━━\n \n$", loading)
    assert done, f"no Done! trailer at the end of {loading!r}"
    assert 1.0 <= float(done.group(1)) <= 15, done.group(0)
    progress = loading[len("━━━━━\nllama-swap loading model: m\n") : done.start()]
    assert "." in progress, f"no progress dots while loading: {progress!r}"

    events = sse_data(body)
    first_content = next(i for i, d in enumerate(events) if '"content"' in d)
    assert all('"reasoning_content"' in d for d in events[:first_content])
    assert not any('"reasoning_content"' in d for d in events[first_content:])
    assert content_text(body) == "Hello from the llamaswap demo"
    assert body.endswith(b"data: [DONE]\n\n"), body[-100:]


async def test_no_loading_text_when_ready_or_not_a_chat_completion(
    llamaswap: StartLlamaswap,
) -> None:
    """Only streamed /v1/chat/completions to a model that is not ready get loading text."""
    ls = await llamaswap(CONFIG)
    cold_completion = await ls.post(
        "/v1/completions", {"model": "m", "stream": True, "prompt": "hi"}
    )
    assert cold_completion.status == 200, cold_completion.text
    assert "reasoning_content" not in cold_completion.text
    warm_chat = await ls.chat("m", stream=True)
    assert warm_chat.status == 200, warm_chat.text
    assert reasoning_text(warm_chat.body) == ""
    assert content_text(warm_chat.body) == "Hello from the llamaswap demo"


async def test_a_failed_load_ends_the_stream_with_one_sse_error_event(
    llamaswap: StartLlamaswap,
) -> None:
    """Deviation 6: after the loading text began, a start failure is one final SSE event
    ``data: {"error": {...}}`` then ``data: [DONE]`` (status stays 200)."""
    ls = await llamaswap(f"""
sendLoadingState: true
healthCheckTimeout: 60
models:
  broken:
    cmd: {demo_cmd("broken", "--startup-delay", "0.5", "--exit-at-start", "3")}
    proxy: http://127.0.0.1:${{PORT}}
""")
    reply = await ls.chat("broken", stream=True)
    assert reply.status == 200
    assert reasoning_text(reply.body).startswith("━━━━━\nllama-swap loading model: broken\n")
    events = sse_data(reply.body)
    assert events[-1] == "[DONE]"
    assert json.loads(events[-2]) == {
        "error": {
            "message": "unspecific error: upstream command exited prematurely",
            "type": "server_error",
            "code": "internal_error",
        }
    }
    assert reply.elapsed < 10, "the failure must not wait for healthCheckTimeout"
