"""Runtime profile pins end to end: the real loader, router, demo upstreams and app.

The demo upstream echoes any path it does not serve itself (``/v1/rerank``, ``/props``,
``/v1/audio/transcriptions``, ``/upstream`` tails), so each test reads what the
upstream received and which upstream received it (``X-Demo-Model-Name``).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.integration.server.conftest import Stack, StartStack, demo_cmd

CONFIG = f"""
models:
  m1:
    cmd: {demo_cmd("--model-name", "m1")}
    aliases: [one]
  m2:
    cmd: {demo_cmd("--model-name", "m2")}
  m3:
    cmd: {demo_cmd("--model-name", "m3")}
    useModelName: Upstream/M3
selectors:
  sel:
    strategy: pin
    targets: [m3]
profiles:
  fast:
    description: quick ones
    pins:
      m1: m2
      chat: one
      org/x: m3
      org: m1
      off: null
      off2: ""
      pick: sel
      renamed: m3
  slow:
    pins: {{m2: m1}}
"""


@pytest.fixture
async def stack(llamaswap: StartStack) -> Stack:
    return await llamaswap(CONFIG)


async def activate(
    client: aiohttp.ClientSession, stack: Stack, body: Any
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with client.put(stack.url + "/api/profiles/active", data=data) as resp:
        return resp.status, dict(await resp.json())


async def echo_json(
    client: aiohttp.ClientSession, stack: Stack, model: str, path: str = "/v1/rerank"
) -> tuple[str, dict[str, Any]]:
    """POST ``{"model": model}``; the upstream that answered and the body it got."""
    async with client.post(stack.url + path, json={"model": model, "q": 1}) as resp:
        assert resp.status == 200, await resp.text()
        seen = await resp.json()
        return resp.headers["X-Demo-Model-Name"], json.loads(seen["body_text"])


async def error_of(resp: aiohttp.ClientResponse) -> tuple[int, str]:
    return resp.status, str((await resp.json())["error"]["message"])


async def test_no_profile_is_active_at_start_and_profiles_are_listed_by_id(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/api/profiles") as resp:
        listing = await resp.json()
    assert listing["active"] is None
    assert [p["id"] for p in listing["profiles"]] == ["fast", "slow"]
    fast = listing["profiles"][0]
    assert fast["description"] == "quick ones"
    assert fast["pins"]["m1"] == "m2"
    assert fast["pins"]["off"] == ""
    assert fast["pins"]["off2"] == ""


async def test_put_active_selects_a_profile_and_null_or_empty_clears_it(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    assert await activate(client, stack, {"name": "fast"}) == (200, {"active": "fast"})
    async with client.get(stack.url + "/api/profiles") as resp:
        assert (await resp.json())["active"] == "fast"
    assert await activate(client, stack, {"name": None}) == (200, {"active": None})
    assert await activate(client, stack, {"name": "slow"}) == (200, {"active": "slow"})
    assert await activate(client, stack, {"name": ""}) == (200, {"active": None})


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "invalid profile request"),
        (b"[1]", 400, "invalid profile request"),
        (b"{}", 400, "profile name is required"),
        (b'{"name": 3}', 400, "profile name must be a string or null"),
        (b'{"name": "nope"}', 404, 'profile "nope" not found'),
    ],
)
async def test_put_active_rejects_bad_requests_with_llama_swap_wording(
    stack: Stack, client: aiohttp.ClientSession, body: bytes, status: int, message: str
) -> None:
    async with client.put(stack.url + "/api/profiles/active", data=body) as resp:
        assert await error_of(resp) == (status, message)
    async with client.get(stack.url + "/api/profiles") as resp:
        assert (await resp.json())["active"] is None


async def test_pin_rewrites_a_json_request_to_its_target_before_routing(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await activate(client, stack, {"name": "fast"})
    assert await echo_json(client, stack, "m1") == ("m2", {"model": "m2", "q": 1})
    assert await echo_json(client, stack, "chat") == ("m1", {"model": "one", "q": 1})


async def test_pin_target_is_forwarded_under_its_use_model_name(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await activate(client, stack, {"name": "fast"})
    assert await echo_json(client, stack, "renamed") == ("m3", {"model": "Upstream/M3", "q": 1})


async def test_pins_apply_only_while_their_profile_is_active(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await activate(client, stack, {"name": "slow"})
    assert await echo_json(client, stack, "m1") == ("m1", {"model": "m1", "q": 1})
    await activate(client, stack, {"name": None})
    async with client.post(stack.url + "/v1/rerank", json={"model": "chat"}) as resp:
        assert await error_of(resp) == (404, "no router for requested model")


@pytest.mark.parametrize("pin", ["off", "off2"])
async def test_disabled_pin_is_404_no_model_id(
    stack: Stack, client: aiohttp.ClientSession, pin: str
) -> None:
    await activate(client, stack, {"name": "fast"})
    async with client.post(stack.url + "/v1/chat/completions", json={"model": pin}) as resp:
        assert await error_of(resp) == (404, "no model id could be identified")
    async with client.get(stack.url + f"/upstream/{pin}/health") as resp:
        assert await error_of(resp) == (404, "no model id could be identified")


async def test_pin_rewrites_the_query_of_a_get_request(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await activate(client, stack, {"name": "fast"})
    async with client.get(stack.url + "/props?model=m1&x=1") as resp:
        assert resp.headers["X-Demo-Model-Name"] == "m2"
        assert (await resp.json())["raw_path"] == "/props?model=m2&x=1"


async def test_pin_rewrites_a_url_encoded_form(stack: Stack, client: aiohttp.ClientSession) -> None:
    await activate(client, stack, {"name": "fast"})
    form = {"model": "m1", "text": "a b"}
    async with client.post(stack.url + "/v1/rerank", data=form) as resp:
        assert resp.headers["X-Demo-Model-Name"] == "m2"
        assert (await resp.json())["body_text"] == "model=m2&text=a+b"


async def test_pin_rewrites_the_multipart_model_field(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await activate(client, stack, {"name": "fast"})
    form = aiohttp.FormData()
    form.add_field("model", "m1")
    form.add_field("file", b"RIFF....", filename="a.wav", content_type="audio/wav")
    async with client.post(stack.url + "/v1/audio/transcriptions", data=form) as resp:
        assert resp.headers["X-Demo-Model-Name"] == "m2"
        text = (await resp.json())["body_text"]
    assert 'name="model"\r\n\r\nm2\r\n' in text
    assert "RIFF...." in text


async def test_upstream_path_pin_uses_the_longest_matching_pin(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await activate(client, stack, {"name": "fast"})
    async with client.get(stack.url + "/upstream/org/x/echo/a?q=1") as resp:
        assert resp.headers["X-Demo-Model-Name"] == "m3"
        assert (await resp.json())["raw_path"] == "/echo/a?q=1"
    async with client.get(stack.url + "/upstream/org%2Fx/echo/b") as resp:
        assert resp.headers["X-Demo-Model-Name"] == "m3"
    async with client.get(stack.url + "/upstream/org/echo/c") as resp:
        assert resp.headers["X-Demo-Model-Name"] == "m1"
        assert (await resp.json())["raw_path"] == "/echo/c"


async def test_upstream_pin_without_trailing_slash_redirects_to_the_client_path(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await activate(client, stack, {"name": "fast"})
    async with client.get(stack.url + "/upstream/chat?a=1", allow_redirects=False) as resp:
        assert resp.status == 301
        assert resp.headers["Location"] == "/upstream/chat/?a=1"


async def test_pin_to_a_selector_is_resolved_by_the_selector(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await activate(client, stack, {"name": "fast"})
    assert await echo_json(client, stack, "pick") == ("m3", {"model": "Upstream/M3", "q": 1})


async def test_models_list_shows_active_pins_that_shadow_nothing_as_profile_records(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async def records() -> dict[str, dict[str, Any]]:
        async with client.get(stack.url + "/v1/models") as resp:
            data = (await resp.json())["data"]
        ids = [r["id"] for r in data]
        assert ids == sorted(ids), "records stay sorted by id"
        return {r["id"]: r for r in data}

    before = await records()
    assert "chat" not in before
    await activate(client, stack, {"name": "fast"})
    after = await records()
    assert {"chat", "org", "org/x", "pick", "renamed"} <= after.keys()
    assert "off" not in after, "disabled pins are not listed"
    assert "off2" not in after, "disabled pins are not listed"
    assert after["chat"]["meta"]["llamaswap"] == {
        "type": "profile",
        "profile": "fast",
        "target": "one",
    }
    assert after["chat"]["object"] == "model"
    assert after["chat"]["owned_by"] == "llama-swap"
    assert after["m1"]["meta"]["llamaswap"]["type"] == "model", "a pin never hides a model"
    assert after.keys() - before.keys() == {"chat", "org", "org/x", "pick", "renamed"}
