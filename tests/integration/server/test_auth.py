"""API keys end to end (features.md §4.8): a real app with ``apiKeys``, real requests."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import pytest

from tests.integration.server.conftest import Stack, StartStack, demo_cmd

CONFIG = f"""
apiKeys: [sk-one, sk-two]
models:
  m1:
    cmd: {demo_cmd("--model-name", "m1")}
"""
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def stack(llamaswap: StartStack) -> Stack:
    return await llamaswap(CONFIG)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def get(client: aiohttp.ClientSession, url: str, **headers: str) -> aiohttp.ClientResponse:
    async with client.get(url, headers=headers, allow_redirects=False) as resp:
        await resp.read()
        return resp


async def test_missing_key_is_401_with_basic_challenge_and_envelope(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/running") as resp:
        body: dict[str, Any] = await resp.json()
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="llama-swap"'
    assert body == {
        "src": "llama-swap",
        "error": {
            "message": "unauthorized: invalid or missing API key",
            "type": "authentication_error",
            "param": None,
            "code": "unauthorized",
        },
    }


async def test_401_honours_accept_text_plain(stack: Stack, client: aiohttp.ClientSession) -> None:
    async with client.get(stack.url + "/v1/models", headers={"Accept": "text/plain"}) as resp:
        assert resp.status == 401
        assert await resp.text() == "llama-swap: unauthorized: invalid or missing API key"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer sk-one"},
        {"Authorization": "bearer sk-two"},
        {"x-api-key": "sk-one"},
        {"Authorization": basic("anyone", "sk-two")},
        {"Authorization": basic("", "sk-one"), "x-api-key": "wrong"},
    ],
    ids=["bearer", "bearer-lowercase", "x-api-key", "basic", "basic-beats-x-api-key"],
)
async def test_each_accepted_key_form_opens_protected_routes(
    stack: Stack, client: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    resp = await get(client, stack.url + "/v1/models", **headers)
    assert resp.status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer nope", "x-api-key": "sk-one"},
        {"Authorization": basic("sk-one", "")},
        {"Authorization": "Token sk-one"},
    ],
    ids=["wrong-bearer", "bearer-beats-x-api-key", "key-in-basic-username", "unknown-scheme"],
)
async def test_wrong_or_misplaced_key_is_refused(
    stack: Stack, client: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    resp = await get(client, stack.url + "/running", **headers)
    assert resp.status == 401


@pytest.mark.parametrize(
    ("path", "status"),
    [("/health", 200), ("/wol-health", 200), ("/", 302), ("/upstream", 302)],
)
async def test_open_paths_need_no_key(
    stack: Stack, client: aiohttp.ClientSession, path: str, status: int
) -> None:
    resp = await get(client, stack.url + path)
    assert resp.status == status


async def test_preflight_and_unknown_paths_are_not_gated(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.options(stack.url + "/v1/chat/completions") as resp:
        assert resp.status == 204
    resp = await get(client, stack.url + "/no/such/path")
    assert resp.status == 404
    async with client.delete(stack.url + "/running") as resp:
        assert resp.status == 405


async def test_protected_model_route_refuses_without_key_and_never_starts_a_model(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.post(
        stack.url + "/v1/messages", data=b'{"model":"m1"}', headers=JSON
    ) as resp:
        assert resp.status == 401
    async with client.get(stack.url + "/upstream/m1/", allow_redirects=False) as resp:
        assert resp.status == 401
    assert stack.router.states().get("m1") is None or not stack.router.state("m1").is_running


async def test_valid_key_is_forwarded_to_local_upstream_unchanged(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    headers = {**JSON, "Authorization": "Bearer sk-one", "x-api-key": "sk-two"}
    async with client.post(
        stack.url + "/v1/messages", data=b'{"model":"m1"}', headers=headers
    ) as r:
        assert r.status == 200
        seen = await r.json()
    sent = {k.lower(): v for k, v in seen["headers"]}
    assert sent["authorization"] == "Bearer sk-one"
    assert sent["x-api-key"] == "sk-two"
