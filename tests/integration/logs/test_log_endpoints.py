"""``/logs`` and ``/logs/stream*`` (observability.md §3.4) against real demo upstreams."""

from __future__ import annotations

import aiohttp

from tests.integration.logs.conftest import LogStack, StartLogStack, demo_cmd, read_until

TWO_MODELS = f"""
models:
  author/m1:
    cmd: {demo_cmd("m1")}
    aliases: [first]
  m2:
    cmd: {demo_cmd("m2")}
"""
ACCESS_HEALTH = b'"GET /health HTTP/1.1" 200'
M1_READY = b"demo m1: ready after"
M2_READY = b"demo m2: ready after"


async def chat(client: aiohttp.ClientSession, stack: LogStack, model: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    async with client.post(stack.url + "/v1/chat/completions", json=body) as resp:
        assert resp.status == 200, await resp.text()
        await resp.read()


async def history(
    client: aiohttp.ClientSession, stack: LogStack, logger: str, want: bytes
) -> bytes:
    """What ``/logs/stream/<logger>`` sends, read until ``want`` (the history is one
    write, so anything it lacks is not in it)."""
    async with client.get(f"{stack.url}/logs/stream/{logger}") as resp:
        assert resp.status == 200, await resp.text()
        return await read_until(resp, want)


async def test_logs_is_the_combined_history_as_plain_text(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    """By default (logToStdout: proxy) ``/logs`` shows our own lines, as printed."""
    stack = await log_stack(TWO_MODELS)
    async with client.get(stack.url + "/health") as resp:
        assert resp.status == 200
    async with client.get(stack.url + "/logs") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        body = await resp.read()
    assert ACCESS_HEALTH in body
    assert body == stack.stdout()[: len(body)], "/logs must hold exactly what was printed"


async def test_logs_redirects_a_browser_to_the_ui(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    stack = await log_stack(TWO_MODELS)
    headers = {"Accept": "text/html,application/xhtml+xml"}
    async with client.get(stack.url + "/logs", headers=headers, allow_redirects=False) as resp:
        assert resp.status == 302
        assert resp.headers["Location"] == "/ui/"


async def test_stream_sends_history_then_live_lines_with_no_buffering_headers(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    stack = await log_stack(TWO_MODELS)
    async with client.get(stack.url + "/health") as resp:
        await resp.read()
    async with client.get(stack.url + "/logs/stream/proxy") as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/plain")
        assert stream.headers["X-Content-Type-Options"] == "nosniff"
        assert stream.headers["X-Accel-Buffering"] == "no"
        assert stream.headers["Transfer-Encoding"] == "chunked"
        await read_until(stream, ACCESS_HEALTH)
        async with client.get(stack.url + "/running") as resp:
            await resp.read()
        await read_until(stream, b'"GET /running HTTP/1.1" 200')


async def test_no_history_streams_only_what_comes_after(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    """``?no-history`` (presence is enough) skips the history."""
    stack = await log_stack(TWO_MODELS)
    async with client.get(stack.url + "/health") as resp:
        await resp.read()
    async with client.get(stack.url + "/logs/stream?no-history") as stream:
        assert stream.status == 200
        async with client.get(stack.url + "/running") as resp:
            await resp.read()
        seen = await read_until(stream, b'"GET /running HTTP/1.1" 200')
    assert ACCESS_HEALTH not in seen, f"history was sent: {seen!r}"


async def test_model_stream_takes_ids_with_slashes_and_aliases(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    """``/logs/stream/<id>`` is that model's own output only; an alias names it too."""
    stack = await log_stack(TWO_MODELS)
    await chat(client, stack, "first")
    await chat(client, stack, "m2")
    for name in ("author/m1", "first"):
        seen = await history(client, stack, name, M1_READY)
        assert b"demo m2" not in seen, f"/logs/stream/{name} carries another model: {seen!r}"
    assert b"demo m1" not in await history(client, stack, "m2", M2_READY)


async def test_model_stream_matches_the_longest_leading_model_path(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    stack = await log_stack(TWO_MODELS)
    await chat(client, stack, "author/m1")
    await history(client, stack, "author/m1/anything/else", M1_READY)


async def test_upstream_stream_carries_every_models_output(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    stack = await log_stack(TWO_MODELS)
    await chat(client, stack, "first")
    await chat(client, stack, "m2")
    async with client.get(stack.url + "/logs/stream/upstream") as stream:
        seen = await read_until(stream, M2_READY)
    assert M1_READY in seen


async def test_upstream_output_stays_out_of_logs_unless_printed(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    """[QUIRK] kept: with logToStdout: proxy, ``/logs`` has no upstream output."""
    stack = await log_stack(TWO_MODELS)
    await chat(client, stack, "m2")
    await history(client, stack, "upstream", M2_READY)
    async with client.get(stack.url + "/logs") as resp:
        body = await resp.read()
    assert b"demo m2" not in body
    assert b"demo m2" not in stack.stdout()


async def test_unknown_logger_is_a_400_naming_the_choices(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    stack = await log_stack(TWO_MODELS)
    async with client.get(stack.url + "/logs/stream/nope") as resp:
        assert resp.status == 400
        body = await resp.json()
    assert body["src"] == "llama-swap"
    assert body["error"]["message"] == "invalid logger. Use 'proxy', 'upstream' or a model's ID"


async def test_log_endpoints_need_the_api_key_when_keys_are_set(
    log_stack: StartLogStack, client: aiohttp.ClientSession
) -> None:
    stack = await log_stack('apiKeys: ["sekrit"]\n' + TWO_MODELS)
    for path in ("/logs", "/logs/stream?no-history", "/logs/stream/proxy", "/logs/stream/m2"):
        async with client.get(stack.url + path) as resp:
            assert resp.status == 401, f"{path} answered {resp.status} without a key"
        key = {"Authorization": "Bearer sekrit"}
        async with client.get(stack.url + path, headers=key) as resp:
            assert resp.status == 200, f"{path} answered {resp.status} with the key"
