"""Peers end to end: two demo upstreams started by the test act as remote servers;
llamaswap routes local first, then peers (FQN or unique bare name), else 404."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import aiohttp
import pytest

from tests.integration.server.conftest import Stack, StartStack, demo_cmd
from tests.integration.server.demo_servers import (  # noqa: F401 (fixture)
    Demo,
    StartDemo,
    start_demo_fixture,
)
from tests.support.ports import free_port

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def peers(start_demo: StartDemo) -> tuple[Demo, Demo]:
    return await start_demo("alpha"), await start_demo("beta")


@pytest.fixture
async def stack(llamaswap: StartStack, peers: tuple[Demo, Demo]) -> Stack:
    alpha, beta = peers
    dead = free_port()
    return await llamaswap(
        f"""
models:
  local:
    cmd: {demo_cmd("--model-name", "local")}
peers:
  alpha:
    proxy: {alpha.url}/base
    apiKey: sk-alpha
    models: [m1, shared]
    filters:
      stripParams: temperature
      setParams: {{top_k: 3}}
      setParamsByID: {{"alpha/m1": {{mode: fqn}}}}
  beta:
    proxy: {beta.url}
    models: [shared, local, b1]
    timeouts: {{responseHeader: 1}}
  dead:
    proxy: http://127.0.0.1:{dead}
    models: [x]
"""
    )


def header(seen: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in seen["headers"] if k.lower() == name.lower()]


async def post(
    client: aiohttp.ClientSession, url: str, body: dict[str, Any] | bytes, **headers: str
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with client.post(url, data=data, headers={**JSON, **headers}) as resp:
        return resp.status, dict(await resp.json())


async def test_fqn_request_reaches_peer_as_its_own_model_with_filters_and_key(
    stack: Stack, peers: tuple[Demo, Demo], client: aiohttp.ClientSession
) -> None:
    alpha, _ = peers
    body = {"model": "alpha/m1", "temperature": 1, "messages": []}
    status, seen = await post(
        client,
        stack.url + "/v1/messages?x=1",
        body,
        Authorization="Bearer client-key",
        **{"x-api-key": "client-key", "X-Forwarded-For": "10.0.0.9"},
    )
    assert status == 200, seen
    assert seen["raw_path"] == "/base/v1/messages?x=1", "the peer's base path is kept"
    sent = json.loads(seen["body_text"])
    assert sent == {"model": "m1", "messages": [], "top_k": 3, "mode": "fqn"}
    assert header(seen, "Authorization") == ["Bearer sk-alpha"]
    assert header(seen, "x-api-key") == ["sk-alpha"]
    assert header(seen, "Host") == [f"127.0.0.1:{alpha.port}"]
    assert header(seen, "X-Forwarded-For") == [], "peers get no X-Forwarded-* headers"


async def test_unique_bare_peer_name_is_forwarded_byte_for_byte_with_client_key(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    body = b'{ "model": "b1",  "keep": [1, 2.50] }'
    status, seen = await post(client, stack.url + "/v1/messages", body, Authorization="Bearer c")
    assert status == 200, seen
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert header(seen, "Authorization") == ["Bearer c"], "no peer apiKey: client's key kept"


async def test_name_listed_by_two_peers_needs_its_fqn(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    status, body = await post(client, stack.url + "/v1/messages", {"model": "shared"})
    assert status == 404
    assert body["error"]["message"] == "no router for requested model"
    status, seen = await post(client, stack.url + "/v1/messages", {"model": "beta/shared"})
    assert status == 200
    assert json.loads(seen["body_text"])["model"] == "shared"


async def test_local_model_wins_over_a_bare_peer_name(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.post(
        stack.url + "/v1/messages", data=b'{"model":"local"}', headers=JSON
    ) as resp:
        assert resp.status == 200
        assert resp.headers["X-Demo-Model-Name"] == "local"
    async with client.post(
        stack.url + "/v1/messages", data=b'{"model":"beta/local"}', headers=JSON
    ) as resp:
        assert resp.headers["X-Demo-Model-Name"] == "beta"


async def test_get_route_rewrites_query_model_for_fqn(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/props?model=alpha/m1&a=b") as resp:
        seen = await resp.json()
    assert seen["raw_path"] == "/base/props?model=m1&a=b"


async def test_streamed_peer_answer_arrives_as_sse_without_proxy_buffering(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    body = {"model": "b1", "stream": True, "max_tokens": 3, "messages": []}
    async with client.post(
        stack.url + "/v1/chat/completions", data=json.dumps(body), headers=JSON
    ) as resp:
        text = await resp.text()
        assert resp.headers["X-Accel-Buffering"] == "no"
        assert resp.headers["X-Demo-Model-Name"] == "beta"
    assert text.rstrip().endswith("data: [DONE]")


async def test_v1_models_lists_every_peer_model_under_its_fqn(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/v1/models") as resp:
        data = (await resp.json())["data"]
    ids = [r["id"] for r in data]
    assert ids == sorted(ids)
    peer_ids = {"alpha/m1", "alpha/shared", "beta/shared", "beta/local", "beta/b1", "dead/x"}
    assert peer_ids <= set(ids)
    record = next(r for r in data if r["id"] == "alpha/m1")
    assert record["name"] == "alpha: m1"
    assert record["status"] == {"value": "unloaded"}
    assert record["meta"] == {"llamaswap": {"type": "peer", "peerID": "alpha"}}
    assert record["owned_by"] == "llama-swap"


async def test_upstream_passthrough_reaches_a_peer_path_untouched(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    body = b'{"model": "whatever", "temperature": 1}'
    async with client.post(
        stack.url + "/upstream/alpha/m1/some/p%20th?q=1", data=body, headers=JSON
    ) as resp:
        seen = await resp.json()
    assert seen["raw_path"] == "/base/some/p%20th?q=1"
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest(), "no filters on /upstream"
    async with client.get(stack.url + "/upstream/beta/b1", allow_redirects=False) as resp:
        assert resp.status == 301
        assert resp.headers["Location"] == "/upstream/beta/b1/"


async def test_unreachable_peer_is_a_502_peer_proxy_error(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    status, body = await post(client, stack.url + "/v1/messages", {"model": "dead/x"})
    assert status == 502
    assert body["src"] == "llama-swap"
    assert body["error"]["message"].startswith("peer proxy error: ")


async def test_peer_response_header_timeout_is_a_502(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    started = time.monotonic()
    status, body = await post(
        client, stack.url + "/v1/messages", {"model": "b1"}, **{"X-Demo-Delay": "5"}
    )
    elapsed = time.monotonic() - started
    assert status == 502
    assert body["error"]["message"] == "peer proxy error: timeout awaiting response headers"
    assert elapsed < 4, f"responseHeader: 1 should cut the wait; took {elapsed:.1f}s"
