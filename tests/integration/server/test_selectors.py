"""Selectors end to end: virtual model IDs resolved per request, over the real loader,
router, demo upstreams (local and a peer) and app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from llamaswap.process.state import ProcessState
from llamaswap.server.keys import LIVE
from llamaswap.server.selectors import Selectors
from tests.integration.server.conftest import Stack, StartStack, demo_cmd
from tests.integration.server.demo_servers import (  # noqa: F401 (fixture)
    Demo,
    StartDemo,
    start_demo_fixture,
)
from tests.support.wait import async_wait_until


@pytest.fixture
async def peer(start_demo: StartDemo) -> Demo:
    return await start_demo("remote")


@pytest.fixture
async def stack(llamaswap: StartStack, peer: Demo) -> Stack:
    return await llamaswap(
        f"""
models:
  a:
    cmd: {demo_cmd("--model-name", "a")}
    filters:
      setParamsByID: {{a-hot: {{temperature: 9}}}}
  b:
    cmd: {demo_cmd("--model-name", "b")}
routing:
  router:
    settings:
      groups:
        pair: {{swap: false, members: [a, b]}}
peers:
  far:
    proxy: {peer.url}
    models: [r1]
selectors:
  pinned:
    strategy: pin
    targets: [b, a]
    name: " Pinned "
    description: always b
    metadata: {{tier: gold}}
  warm:
    strategy: warm
    targets: [a, b]
  spill:
    strategy: spillover
    targets: [a, b]
  hot:
    strategy: pin
    targets: [a-hot]
  remote:
    strategy: pin
    targets: [far/r1]
  hidden:
    strategy: pin
    targets: [a]
    unlisted: true
"""
    )


def selectors(stack: Stack) -> Selectors:
    app = stack.runner.app
    assert app is not None
    return app[LIVE].selectors


async def echo_json(
    client: aiohttp.ClientSession, stack: Stack, model: str, **headers: str
) -> tuple[str, dict[str, Any]]:
    """POST ``{"model": model}`` to an echoed path: who answered and the body it got."""
    async with client.post(
        stack.url + "/v1/rerank", json={"model": model}, headers=headers
    ) as resp:
        assert resp.status == 200, await resp.text()
        seen = await resp.json()
        return resp.headers["X-Demo-Model-Name"], json.loads(seen["body_text"])


async def test_pin_selector_sends_every_request_to_its_first_target(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    assert await echo_json(client, stack, "pinned") == ("b", {"model": "b"})
    assert await echo_json(client, stack, "pinned") == ("b", {"model": "b"})
    assert stack.router.state("a") is ProcessState.STOPPED


async def test_warm_selector_takes_the_first_target_when_none_is_ready(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    assert (await echo_json(client, stack, "warm"))[0] == "a"


async def test_warm_selector_prefers_a_ready_target_over_a_cold_first_one(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await echo_json(client, stack, "b")
    assert await echo_json(client, stack, "warm") == ("b", {"model": "b"})
    assert stack.router.state("a") is ProcessState.STOPPED, "a cold target was not woken"


async def test_selector_target_alias_gets_the_filters_of_that_name(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    assert await echo_json(client, stack, "hot") == ("a", {"model": "a-hot", "temperature": 9})


async def test_selector_can_target_a_peer_model(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    assert await echo_json(client, stack, "remote") == ("remote", {"model": "r1"})


async def test_spillover_wakes_the_next_target_once_the_first_is_full(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    """spillover 1: a busy active target sends the next request to a cold one, and
    every reservation is given back when its request ends."""
    spill = selectors(stack)
    slow = asyncio.create_task(echo_json(client, stack, "spill", **{"X-Demo-Delay": "30"}))
    try:
        await async_wait_until(
            lambda: spill.reserved("spill") == {"a": 1},
            timeout=30,
            message=lambda: f"reservations: {spill.reserved('spill')}",
        )
        assert await echo_json(client, stack, "spill") == ("b", {"model": "b"})
        assert spill.reserved("spill") == {"a": 1}
    finally:
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)
    await async_wait_until(
        lambda: spill.reserved("spill") == {},
        timeout=10,
        message=lambda: f"a disconnected client kept {spill.reserved('spill')}",
    )


async def test_spillover_shares_idle_active_targets_in_turn(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await echo_json(client, stack, "a")
    await echo_json(client, stack, "b")
    got = [(await echo_json(client, stack, "spill"))[0] for _ in range(4)]
    assert sorted(got) == ["a", "a", "b", "b"], got
    assert selectors(stack).reserved("spill") == {}


async def test_selector_is_not_a_model_on_the_upstream_path(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    async with client.get(stack.url + "/upstream/pinned/health") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["message"] == "model not found"


async def test_models_list_has_a_record_per_listed_selector(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    await echo_json(client, stack, "b")
    async with client.get(stack.url + "/v1/models") as resp:
        records = {r["id"]: r for r in (await resp.json())["data"]}
    assert "hidden" not in records, "unlisted selectors are not listed"
    pinned = records["pinned"]
    assert pinned["name"] == "Pinned"
    assert pinned["description"] == "always b"
    assert pinned["status"] == {"value": "loaded"}, "its first target b is ready"
    assert pinned["meta"] == {
        "llamaswap": {"tier": "gold", "type": "selector", "strategy": "pin", "targets": ["b", "a"]}
    }
    assert records["spill"]["meta"]["llamaswap"]["spillover"] == 1
    assert "spillover" not in records["warm"]["meta"]["llamaswap"]
    assert records["warm"]["status"] == {"value": "loaded"}, "one of its targets is ready"
    assert records["hot"]["status"] == {"value": "unloaded"}, "its only target a is stopped"
