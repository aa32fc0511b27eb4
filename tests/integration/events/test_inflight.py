"""In-flight rows on ``/api/events`` and ``POST /api/inflight/{id}/cancel``."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from llamaswap.server.keys import INFLIGHT
from tests.integration.events.conftest import EventStack, SseReader, StartEventStack, demo_cmd
from tests.support.wait import async_wait_until

ONE_MODEL = f"""
models:
  m1:
    cmd: {demo_cmd("m1")}
"""
CHAT = {"model": "m1", "messages": [{"role": "user", "content": "hi"}]}


async def _slow_chat(
    client: aiohttp.ClientSession, stack: EventStack, delay: float, **headers: str
) -> int:
    hdrs = {"X-Demo-Delay": str(delay), **headers}
    async with client.post(stack.url + "/v1/chat/completions", json=CHAT, headers=hdrs) as r:
        await r.read()
        return r.status


async def _demo_stats(client: aiohttp.ClientSession, stack: EventStack) -> dict[str, Any]:
    async with client.get(stack.config.models["m1"].proxy + "/demo/stats") as resp:
        stats: dict[str, Any] = await resp.json()
        return stats


async def test_in_flight_row_appears_during_a_slow_request_and_goes_after(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(ONE_MODEL)
    async with client.get(stack.url + "/api/events") as resp:
        reader = SseReader(resp)
        await reader.wait_for(lambda m: m.type == "inflight")
        request = asyncio.create_task(
            _slow_chat(
                client,
                stack,
                0.5,
                **{"X-Session-ID": "lspg-abc", "Authorization": "Bearer secret"},
            )
        )
        try:
            up = await reader.wait_for(
                lambda m: m.type == "inflight" and m.data["operation"] == "upsert"
            )
            row = up.data["request"]
            assert row["id"] == "1"
            assert row["model"] == "m1"
            assert row["req_path"] == "/v1/chat/completions"
            assert row["method"] == "POST"
            assert row["req_headers"]["X-Session-ID"] == "lspg-abc"
            assert row["req_headers"]["Authorization"] == "[REDACTED]"
            assert row["remote_ip"] == "127.0.0.1"
            assert row["resp_headers"] == {}
            assert row["resp_bytes"] == 0
            assert row["elapsed_ms"] >= 0
            assert "T" in row["timestamp"]
            headers = await reader.wait_for(
                lambda m: (
                    m.type == "inflight"
                    and m.data["operation"] == "upsert"
                    and m.data["request"]["resp_headers"] != {}
                )
            )
            assert headers.data["request"]["id"] == "1"
            gone = await reader.wait_for(
                lambda m: m.type == "inflight" and m.data["operation"] == "remove"
            )
            assert gone.data == {"operation": "remove", "id": "1"}
            async with asyncio.timeout(10):
                assert await request == 200
        finally:
            request.cancel()
    assert len(stack.app[INFLIGHT]) == 0


async def test_cancel_via_the_api_ends_the_request_and_its_upstream_call(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(ONE_MODEL)
    tracker = stack.app[INFLIGHT]
    request = asyncio.create_task(_slow_chat(client, stack, 60))
    try:
        await async_wait_until(lambda: tracker.get("1") is not None, timeout=15)
        stats: dict[str, Any] = {}

        async def upstream_busy() -> bool:
            nonlocal stats
            try:
                stats = await _demo_stats(client, stack)
            except aiohttp.ClientConnectionError:
                return False  # still starting
            return bool(stats["active"] == 1)

        await async_wait_until(upstream_busy, timeout=15, message=lambda: f"stats {stats}")
        async with client.post(stack.url + "/api/inflight/1/cancel") as resp:
            assert resp.status == 200
            assert await resp.read() == b'{"msg":"ok"}'
        async with asyncio.timeout(10):
            try:
                status = await request
            except aiohttp.ClientError:
                status = 0  # the connection was dropped: what a cancelled request gets
        assert status != 200

        async def upstream_cancelled() -> bool:
            nonlocal stats
            stats = await _demo_stats(client, stack)
            return bool(stats["cancelled"] == 1 and stats["active"] == 0)

        await async_wait_until(upstream_cancelled, timeout=10, message=lambda: f"stats {stats}")
        assert len(tracker) == 0
    finally:
        request.cancel()


async def test_cancel_of_an_unknown_request_is_404(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(ONE_MODEL)
    async with client.post(stack.url + "/api/inflight/42/cancel") as resp:
        assert resp.status == 404
        body = await resp.json()
    assert body["error"]["message"] == "inflight request not found"


async def test_api_version_has_version_commit_and_build_date(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    stack = await event_stack(ONE_MODEL)
    async with client.get(stack.url + "/api/version") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/json")
        body = await resp.json()
    assert set(body) == {"version", "commit", "build_date"}
    assert all(isinstance(v, str) and v for v in body.values())


async def test_a_streaming_row_shows_its_growing_byte_count_before_it_is_removed(
    event_stack: StartEventStack, client: aiohttp.ClientSession
) -> None:
    """While a response streams, ``upsert`` updates carry ``resp_bytes`` so far (at most
    one per request per 250 ms), ending below the final total, then the row is removed."""
    stack = await event_stack(ONE_MODEL)
    body = {**CHAT, "stream": True}
    headers = {"X-Demo-Chunks": "12", "X-Demo-Interval": "0.1"}
    async with client.get(stack.url + "/api/events") as resp:
        reader = SseReader(resp)
        await reader.wait_for(lambda m: m.type == "inflight")

        async def stream() -> int:
            async with client.post(
                stack.url + "/v1/chat/completions", json=body, headers=headers
            ) as r:
                return len(await r.read())

        request = asyncio.create_task(stream())
        try:
            growing = await reader.wait_for(
                lambda m: (
                    m.type == "inflight"
                    and m.data["operation"] == "upsert"
                    and m.data["request"]["resp_bytes"] > 0
                )
            )
            seen = growing.data["request"]["resp_bytes"]
            gone = await reader.wait_for(
                lambda m: m.type == "inflight" and m.data["operation"] == "remove"
            )
            assert gone.data["id"] == growing.data["request"]["id"]
            async with asyncio.timeout(10):
                total = await request
        finally:
            request.cancel()
    assert 0 < seen < total, f"progress {seen} of {total} bytes"
