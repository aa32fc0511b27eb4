"""llamaswap in front of real llama-server processes: the routes users hit every day.

One llamaswap (the real CLI) serves the whole module, with two chat models and one
embeddings model reached through an alias. Each test asks for the model it needs, so the
order of tests does not matter; swaps happen as a side effect, as they do for users.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.llama_server.servers import (
    ModelSpec,
    ServerProcess,
    llamaswap_config,
    processes_using,
    running_llamaswap,
)
from tests.integration.llama_server.sse import read_stream
from tests.support.gguf import write_tiny_gguf
from tests.support.ports import free_ports
from tests.support.wait import async_wait_until

pytestmark = pytest.mark.llama_server

CHAT_A, CHAT_B, EMBED, EMBED_ALIAS = "chat-a", "chat-b", "embed", "text-embedder"

VOLATILE_TIMINGS = {"prompt_ms", "prompt_per_token_ms", "prompt_per_second"} | {
    "predicted_ms",
    "predicted_per_token_ms",
    "predicted_per_second",
}


@dataclass(frozen=True)
class Swap:
    """The running llamaswap and what it fronts."""

    url: str
    proc: ServerProcess
    model_path: Path
    ports: dict[str, int]

    def upstream(self, model_id: str) -> str:
        return f"http://127.0.0.1:{self.ports[model_id]}"

    def server_pids(self, model_id: str) -> list[int]:
        """PIDs of the llama-server processes serving ``model_id`` right now."""
        port = str(self.ports[model_id])
        return [p.pid for p in processes_using(self.model_path) if port in p.cmdline]


@pytest.fixture(scope="module")
def swap(llama_server_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swap]:
    workdir = tmp_path_factory.mktemp("llamaswap")
    model_path = write_tiny_gguf(workdir / "tiny.gguf")
    listen, port_a, port_b, port_e = free_ports(4)
    specs = [
        ModelSpec(CHAT_A, port_a),
        ModelSpec(CHAT_B, port_b, send_loading_state=True),
        ModelSpec(EMBED, port_e, ("--embeddings", "--pooling", "mean"), aliases=(EMBED_ALIAS,)),
    ]
    config = llamaswap_config(llama_server_bin, model_path, specs)
    with running_llamaswap(config, workdir, listen, model_path) as proc:
        ports = {CHAT_A: port_a, CHAT_B: port_b, EMBED: port_e}
        yield Swap(f"http://127.0.0.1:{listen}", proc, model_path, ports)


def chat_body(model: str, max_tokens: int = 4, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "hello llama"}],
        "max_tokens": max_tokens,
        "ignore_eos": True,
        **extra,
    }


async def post_json(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], swap: Swap
) -> dict[str, Any]:
    async with http.post(url, json=body) as resp:
        text = await resp.text()
        assert resp.status == 200, f"{url}: {resp.status} {text}\n{swap.proc.output()}"
        data: dict[str, Any] = await resp.json()
        return data


async def running(http: aiohttp.ClientSession, swap: Swap) -> dict[str, str]:
    """``/running`` as model -> state."""
    async with http.get(f"{swap.url}/running") as resp:
        assert resp.status == 200
        data = await resp.json()
    return {item["model"]: item["state"] for item in data["running"]}


def without_volatile(data: dict[str, Any]) -> dict[str, Any]:
    """A response minus what differs between two identical requests (ids, clocks)."""
    stable = {k: v for k, v in data.items() if k not in {"id", "created"}}
    stable["timings"] = {k: v for k, v in data["timings"].items() if k not in VOLATILE_TIMINGS}
    return stable


async def test_chat_completion_reaches_client_unchanged_with_usage_and_timings(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """Proxied and direct answers to one greedy request match, timings and usage included."""
    body = chat_body(CHAT_A, max_tokens=5, temperature=0, cache_prompt=False)
    proxied = await post_json(http, f"{swap.url}/v1/chat/completions", body, swap)
    direct = await post_json(http, f"{swap.upstream(CHAT_A)}/v1/chat/completions", body, swap)
    assert proxied["usage"]["completion_tokens"] == 5
    assert proxied["timings"]["predicted_n"] == 5
    assert set(proxied["timings"]) == set(direct["timings"])
    assert without_volatile(proxied) == without_volatile(direct)


async def test_streamed_chat_forwards_every_token_then_usage_and_timings(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """SSE framing survives the proxy: one event per token, usage+timings last, then [DONE]."""
    body = chat_body(CHAT_A, max_tokens=6, stream=True, stream_options={"include_usage": True})
    async with http.post(f"{swap.url}/v1/chat/completions", json=body) as resp:
        stream = await read_stream(resp)
    assert stream.status == 200, swap.proc.output()
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.headers.get("X-Accel-Buffering") == "no"
    assert stream.done
    assert len(stream.content_events()) == 6
    final = stream.final()
    assert final["usage"]["completion_tokens"] == 6
    assert final["timings"]["predicted_n"] == 6


async def test_native_completion_route_reaches_llama_server(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """llama-server's own /completion is model-dispatched like the OpenAI routes."""
    body = {"model": CHAT_B, "prompt": "hello", "n_predict": 4, "ignore_eos": True}
    data = await post_json(http, f"{swap.url}/completion", body, swap)
    assert data["tokens_predicted"] == 4
    assert data["timings"]["predicted_n"] == 4
    assert data["stop_type"] == "limit"


async def test_legacy_completions_route_reaches_llama_server(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """/v1/completions answers with text_completion and exact token usage."""
    body = {"model": CHAT_A, "prompt": "hello", "max_tokens": 3, "ignore_eos": True}
    data = await post_json(http, f"{swap.url}/v1/completions", body, swap)
    assert data["object"] == "text_completion"
    assert data["usage"]["completion_tokens"] == 3


async def test_anthropic_messages_route_reaches_llama_server(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """/v1/messages (Anthropic) is routed by its JSON model and answered by llama-server."""
    body = chat_body(CHAT_B, max_tokens=4)
    data = await post_json(http, f"{swap.url}/v1/messages", body, swap)
    assert data["type"] == "message"
    assert data["content"][0]["type"] == "text"
    assert data["usage"]["output_tokens"] == 4
    assert data["stop_reason"] == "max_tokens"


async def test_embeddings_through_an_alias_start_the_aliased_model(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """An alias selects its model's process; the body's model field is forwarded as sent."""
    body = {"model": EMBED_ALIAS, "input": ["hello world", "llama"]}
    data = await post_json(http, f"{swap.url}/v1/embeddings", body, swap)
    assert [len(item["embedding"]) for item in data["data"]] == [64, 64]
    assert data["model"] == EMBED_ALIAS
    assert await running(http, swap) == {EMBED: "ready"}


async def test_swapping_chat_models_stops_the_previous_llama_server(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """One model at a time by default: asking for B stops A's process."""
    await post_json(http, f"{swap.url}/v1/chat/completions", chat_body(CHAT_A), swap)
    pids_a = swap.server_pids(CHAT_A)
    assert len(pids_a) == 1, f"want one llama-server for {CHAT_A}, got {pids_a}"
    await post_json(http, f"{swap.url}/v1/chat/completions", chat_body(CHAT_B), swap)
    assert await running(http, swap) == {CHAT_B: "ready"}
    await async_wait_until(
        lambda: not swap.server_pids(CHAT_A),
        timeout=15,
        message=lambda: f"{CHAT_A} still running: {swap.server_pids(CHAT_A)}",
    )


async def test_props_is_routed_by_the_model_query_parameter(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """GET /props?model= loads that model and returns llama-server's props."""
    async with http.get(f"{swap.url}/props", params={"model": CHAT_A}) as resp:
        assert resp.status == 200, await resp.text()
        props = await resp.json()
    assert props["default_generation_settings"]["n_ctx"] == 256
    assert props["model_path"] == str(swap.model_path)
    assert (await running(http, swap)).get(CHAT_A) == "ready"


async def test_upstream_passthrough_reaches_llama_server_health(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """/upstream/<model>/health loads the model and forwards to its /health."""
    async with http.get(f"{swap.url}/upstream/{CHAT_B}/health") as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["status"] == "ok"


async def test_back_to_back_streams_never_answer_502(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """llama-server closes its connection after each stream; the proxy never reuses a
    stream's connection (and would retry a dead pooled one once), so never a 502."""
    stream_body = chat_body(CHAT_A, max_tokens=2, stream=True)
    plain_body = chat_body(CHAT_A, max_tokens=2)
    statuses: list[int] = []
    for _ in range(15):
        for body in (stream_body, stream_body, plain_body):
            async with http.post(f"{swap.url}/v1/chat/completions", json=body) as resp:
                statuses.append(resp.status)
                await resp.read()
    failures = [s for s in statuses if s != 200]
    assert not failures, f"got {failures} among {len(statuses)} requests\n{swap.proc.output()}"


async def test_loading_state_streams_while_llama_server_loads(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """sendLoadingState: loading text first, Done!, then llama-server's own events."""
    async with http.get(f"{swap.url}/unload") as resp:
        assert resp.status == 200
    body = chat_body(CHAT_B, max_tokens=3, stream=True)
    async with http.post(f"{swap.url}/v1/chat/completions", json=body) as resp:
        stream = await read_stream(resp)
    assert stream.status == 200
    typed, done, trailer = stream.reasoning().partition("\nDone! (")
    assert done, f"no Done! trailer in {stream.reasoning()!r}"
    assert re.fullmatch(r"\d+\.\d\ds\)\n━+\n \n", trailer), trailer
    # llama-server loads in tens of ms, so the header may be cut short by Done!
    # (deviation 6): whatever was typed is the header or a prefix of it.
    header = f"━━━━━\nllama-swap loading model: {CHAT_B}\n"
    assert typed.startswith(header) or header.startswith(typed), typed
    kinds = [k for k in stream.kinds() if k != "other"]
    first_content = kinds.index("content")
    assert "reasoning" not in kinds[first_content:], f"loading text after content: {kinds}"
    assert len(stream.content_events()) == 3
    assert stream.final()["timings"]["predicted_n"] == 3
    assert stream.done


async def test_unload_leaves_no_llama_server_process(
    http: aiohttp.ClientSession, swap: Swap
) -> None:
    """GET /unload returns only once every llama-server is gone, process and all:
    checked right after the response, with no waiting."""
    await post_json(http, f"{swap.url}/v1/chat/completions", chat_body(CHAT_A), swap)
    assert swap.server_pids(CHAT_A)
    async with http.get(f"{swap.url}/unload") as resp:
        assert resp.status == 200
        left = processes_using(swap.model_path)
    assert not left, f"still running when /unload returned: {left}"
    assert await running(http, swap) == {}
