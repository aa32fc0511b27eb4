"""The generated model works in a real llama-server on its own, before llamaswap is involved.

If these fail, the model file or the binary is the problem, not the proxy.
"""

from __future__ import annotations

import aiohttp
import pytest

pytestmark = pytest.mark.llama_server


async def test_llama_server_loads_the_tiny_model_and_is_healthy(
    http: aiohttp.ClientSession, llama_server: str
) -> None:
    """/health answers ok once the generated GGUF is loaded."""
    async with http.get(f"{llama_server}/health") as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "ok"


async def test_chat_completion_runs_to_max_tokens_for_any_utf8(
    http: aiohttp.ClientSession, llama_server: str
) -> None:
    """Non-ASCII input tokenizes (byte fallback) and generation never stops early."""
    body = {
        "messages": [{"role": "user", "content": "hello wörld, 日本語 🦙"}],
        "max_tokens": 7,
    }
    async with http.post(f"{llama_server}/v1/chat/completions", json=body) as resp:
        assert resp.status == 200, await resp.text()
        data = await resp.json()
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 7
    assert data["timings"]["predicted_n"] == 7
    assert data["choices"][0]["message"]["content"].isprintable()


async def test_mean_pooled_embeddings_have_the_model_width(
    http: aiohttp.ClientSession, llama_server: str
) -> None:
    """--embeddings --pooling mean yields one 64-float vector per input."""
    body = {"model": "tiny", "input": ["hello world", "a second input"]}
    async with http.post(f"{llama_server}/v1/embeddings", json=body) as resp:
        assert resp.status == 200, await resp.text()
        data = await resp.json()
    vectors = [item["embedding"] for item in data["data"]]
    assert [len(v) for v in vectors] == [64, 64]
    assert vectors[0] != vectors[1]
