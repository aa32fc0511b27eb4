"""Routes end to end: real config loader, real router and processes (the demo
upstream), the real app on a loopback port."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp
import pytest

from llamaswap.process.state import ProcessState
from tests.integration.server.conftest import Stack, StartStack, demo_cmd

CONFIG = f"""
models:
  m1:
    cmd: {demo_cmd("--model-name", "m1")}
    aliases: [gpt-4]
    name: Model One
    description: the first
    ttl: 300
  m2:
    cmd: {demo_cmd("--model-name", "m2")}
    useModelName: Upstream/M2
    filters:
      stripParams: temperature
      setParams: {{top_k: 7}}
  hidden:
    cmd: {demo_cmd()}
    unlisted: true
"""


@pytest.fixture
async def stack(llamaswap: StartStack) -> Stack:
    return await llamaswap(CONFIG)


async def echo(client: aiohttp.ClientSession, url: str, body: bytes, **kw: Any) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    async with client.post(url, data=body, headers=headers, **kw) as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())


async def test_alias_request_reaches_its_model_with_body_unchanged(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    body = b'{ "model" : "gpt-4",  "x": [1, 2.50] }'
    seen = await echo(client, stack.url + "/v1/messages", body)
    assert seen["path"] == "/v1/messages"
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert stack.router.state("m1") is ProcessState.READY


async def test_use_model_name_and_filters_rewrite_json_body(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    body = json.dumps({"model": "m2", "temperature": 1, "messages": []}).encode()
    seen = await echo(client, stack.url + "/v1/responses", body)
    assert json.loads(seen["body_text"]) == {"model": "Upstream/M2", "messages": [], "top_k": 7}


async def test_versionless_and_audioapi_prefixes_are_stripped(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    seen = await echo(client, stack.url + "/v/messages/count_tokens?a=1", b'{"model":"m1"}')
    assert seen["raw_path"] == "/messages/count_tokens?a=1"
    seen = await echo(client, stack.url + "/audioapi/v1/tasks/run", b'{"model":"m1"}')
    assert seen["raw_path"] == "/v1/tasks/run"


async def test_get_route_takes_model_from_query(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/props?model=gpt-4") as resp:
        seen = await resp.json()
    assert seen["raw_path"] == "/props?model=gpt-4"


@pytest.mark.parametrize("body", [b"{not json", b'{"stream": true}', b'{"model": ""}'])
async def test_no_model_is_404_no_model_id(
    stack: Stack, client: aiohttp.ClientSession, body: bytes
) -> None:
    url = stack.url + "/v1/chat/completions"
    headers = {"Content-Type": "application/json", "Accept": "text/plain"}
    async with client.post(url, data=body, headers=headers) as resp:
        assert resp.status == 404
        assert await resp.text() == "llama-swap: no model id could be identified"


async def test_unknown_model_is_404_envelope(stack: Stack, client: aiohttp.ClientSession) -> None:
    async with client.post(stack.url + "/v1/chat/completions", json={"model": "nope"}) as resp:
        assert resp.status == 404
        body = await resp.json()
    assert body == {
        "src": "llama-swap",
        "error": {
            "message": "no router for requested model",
            "type": "invalid_request_error",
            "param": None,
            "code": "not_found",
        },
    }


async def test_unregistered_path_is_json_404_and_wrong_method_405(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/no/such/path") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"
    async with client.get(stack.url + "/v1/chat/completions") as resp:
        assert resp.status == 405
        assert "POST" in resp.headers["Allow"]
        assert (await resp.json())["src"] == "llama-swap"
    async with client.get(stack.url + "/nope", headers={"Accept": "text/html"}) as resp:
        assert resp.status == 404
        assert "<h1>llama-swap</h1>" in await resp.text()


async def test_health_is_ok(stack: Stack, client: aiohttp.ClientSession) -> None:
    async with client.get(stack.url + "/health") as resp:
        assert (resp.status, await resp.text()) == (200, "OK")


async def test_options_preflight_is_204_with_cors_headers(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    headers = {"Access-Control-Request-Headers": "X-Api-Key, bad header"}
    async with client.options(stack.url + "/v1/chat/completions", headers=headers) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        assert resp.headers["Access-Control-Allow-Headers"] == "X-Api-Key"
        assert resp.headers["Access-Control-Max-Age"] == "86400"


async def test_running_lists_ready_models_with_all_seven_keys(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/running") as resp:
        assert await resp.json() == {"running": []}
    await echo(client, stack.url + "/v1/completions", b'{"model":"m1"}')
    async with client.get(stack.url + "/running") as resp:
        running = (await resp.json())["running"]
    m1 = stack.config.models["m1"]
    assert running == [
        {
            "model": "m1",
            "state": "ready",
            "cmd": m1.cmd,
            "proxy": m1.proxy,
            "ttl": 300,
            "name": "Model One",
            "description": "the first",
        }
    ]


async def test_models_list_is_sorted_hides_unlisted_and_shows_status(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await echo(client, stack.url + "/v1/completions", b'{"model":"m1"}')
    async with client.get(stack.url + "/v1/models", headers={"Origin": "http://ui"}) as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == "http://ui"
        listing = await resp.json()
    assert listing["object"] == "list"
    data = listing["data"]
    assert [r["id"] for r in data] == ["m1", "m2"]
    m1 = data[0]
    assert m1["object"] == "model"
    assert m1["owned_by"] == "llama-swap"
    assert isinstance(m1["created"], int)
    assert (m1["name"], m1["description"]) == ("Model One", "the first")
    assert m1["status"] == {"value": "loaded"}
    assert m1["meta"]["llamaswap"] == {"type": "model", "aliases": ["gpt-4"]}
    assert data[1]["status"] == {"value": "unloaded"}
    assert "name" not in data[1]


async def test_unload_endpoints_stop_models(stack: Stack, client: aiohttp.ClientSession) -> None:
    await echo(client, stack.url + "/v1/completions", b'{"model":"m1"}')
    async with client.post(stack.url + "/api/models/unload/gpt-4") as resp:
        assert (resp.status, await resp.text()) == (200, "OK")
    assert stack.router.state("m1") is ProcessState.STOPPED
    async with client.post(stack.url + "/api/models/unload/nope") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["message"] == "model not found"
    await echo(client, stack.url + "/v1/completions", b'{"model":"m1"}')
    async with client.post(stack.url + "/api/models/unload") as resp:
        assert await resp.json() == {"msg": "ok"}
    assert stack.router.state("m1") is ProcessState.STOPPED
    await echo(client, stack.url + "/v1/completions", b'{"model":"m1"}')
    async with client.get(stack.url + "/unload") as resp:
        assert (resp.status, await resp.text()) == (200, "OK")
    assert stack.router.state("m1") is ProcessState.STOPPED


async def test_upstream_passthrough_redirects_and_forwards(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/upstream/m1?x=1", allow_redirects=False) as resp:
        assert resp.status == 301
        assert resp.headers["Location"] == "/upstream/m1/?x=1"
    async with client.post(stack.url + "/upstream/m1", allow_redirects=False) as resp:
        assert resp.status == 308
    async with client.post(stack.url + "/upstream/gpt-4/echo/a%2Fb?q=2", data=b"raw") as resp:
        seen = await resp.json()
    assert seen["raw_path"] == "/echo/a%2Fb?q=2"
    assert seen["body_text"] == "raw"
    async with client.get(stack.url + "/upstream/nope/x") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["message"] == "model not found"


async def test_upstream_ignore_paths_do_not_start_a_model(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/upstream/m2/favicon.ico") as resp:
        assert resp.status == 409
        message = (await resp.json())["error"]["message"]
    assert message == "model m2 is not loaded; path matches upstream.ignorePaths"
    assert stack.router.state("m2") is ProcessState.STOPPED


async def test_json_bodies_are_compact_and_html_escaped_like_go(
    llamaswap: StartStack, client: aiohttp.ClientSession
) -> None:
    """`/running`, `/v1/models`, `{"msg":"ok"}` and error envelopes have Go's bytes:
    no spaces after `:` or `,`, and `<`, `>`, `&` as `\\u003c`, `\\u003e`, `\\u0026`."""
    stack = await llamaswap(
        f"models:\n  m1:\n    cmd: {demo_cmd('--model-name', 'm1')}\n"
        f"    description: '<b>fast</b> & small'\n"
    )
    await echo(client, stack.url + "/v1/completions", b'{"model":"m1"}')
    async with client.get(stack.url + "/running") as resp:
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        running = await resp.read()
    assert running.startswith(b'{"running":[{"model":"m1","state":"ready","cmd":"'), running
    assert b'"description":"\\u003cb\\u003efast\\u003c/b\\u003e \\u0026 small"' in running
    async with client.get(stack.url + "/v1/models") as resp:
        models = await resp.read()
    assert models.startswith(b'{"object":"list","data":[{"id":"m1",'), models
    assert b'"status":{"value":"loaded"}' in models, models
    assert b"\\u003cb\\u003efast" in models, models
    for body in (running, models):
        assert b'": ' not in body, body
        assert b'", "' not in body, body
    async with client.post(stack.url + "/api/models/unload") as resp:
        assert await resp.read() == b'{"msg":"ok"}'
    async with client.post(stack.url + "/v1/completions", json={"model": "nope<>"}) as resp:
        assert resp.status == 404
        assert await resp.read() == (
            b'{"src":"llama-swap","error":{"message":"no router for requested model",'
            b'"type":"invalid_request_error","param":null,"code":"not_found"}}'
        )
