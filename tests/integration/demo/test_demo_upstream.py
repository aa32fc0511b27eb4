"""The demo upstream that every integration test relies on."""

from __future__ import annotations

import asyncio
import hashlib
import json

import aiohttp
from yarl import URL

from tests.integration.demo.conftest import StartDemo
from tests.support.wait import async_wait_until

CHAT = {"model": "x", "messages": [{"role": "user", "content": "hi"}]}


async def test_health_is_503_until_ready_and_reports_time_to_ready(
    start_demo: StartDemo,
) -> None:
    """/health answers 503 "Loading model" while loading, then 200 with ready_after_s."""
    url = await start_demo("--healthy-after", "0.5")
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/health") as resp:
            assert resp.status == 503
            assert (await resp.json())["error"]["message"] == "Loading model"

        async def healthy() -> bool:
            async with s.get(url + "/health") as r:
                return r.status == 200

        await async_wait_until(healthy, timeout=10)
        async with s.get(url + "/health") as resp:
            body = await resp.json()
    assert body["status"] == "ok"
    assert 0.5 <= body["ready_after_s"] < 10


async def test_streamed_chat_has_chunks_usage_timings_and_done(start_demo: StartDemo) -> None:
    """SSE: N content chunks, a last chunk with usage and timings, then [DONE]."""
    url = await start_demo("--stream-chunks", "3", "--close-after-stream")
    async with (
        aiohttp.ClientSession() as s,
        s.post(url + "/v1/chat/completions", json={**CHAT, "stream": True}) as resp,
    ):
        assert resp.headers["Content-Type"] == "text/event-stream"
        assert resp.headers["Connection"] == "close"
        text = (await resp.read()).decode()
    events = [line[len("data: ") :] for line in text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert [c["choices"][0]["delta"].get("content") for c in chunks[:3]] == [
        "Hello",
        " from",
        " the",
    ]
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    assert chunks[-1]["timings"]["predicted_n"] == 3


async def test_echo_reports_the_raw_request(start_demo: StartDemo) -> None:
    """Echo keeps percent-encoding, the query, headers and the body digest."""
    url = await start_demo()
    body = b"\x00\x01binary" * 1000
    async with (
        aiohttp.ClientSession() as s,
        s.put(
            URL(url + "/echo/a%2Fb?x=1&y=%20", encoded=True),
            data=body,
            headers={"X-Test": "1"},
        ) as resp,
    ):
        echo = await resp.json()
    assert echo["method"] == "PUT"
    assert echo["path"] == "/echo/a%2Fb"
    assert echo["query"] == "x=1&y=%20"
    assert ["X-Test", "1"] in echo["headers"]
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert echo["body_length"] == len(body)


async def test_gzip_route_sends_compressed_bytes_as_is(start_demo: StartDemo) -> None:
    """/gzip carries Content-Encoding: gzip and the digest of the compressed bytes."""
    url = await start_demo()
    async with (
        aiohttp.ClientSession(auto_decompress=False) as s,
        s.get(url + "/gzip?size=1000") as resp,
    ):
        raw = await resp.read()
        assert resp.headers["Content-Encoding"] == "gzip"
        assert hashlib.sha256(raw).hexdigest() == resp.headers["X-Demo-Body-Sha256"]


async def test_client_disconnect_is_counted_as_cancelled(start_demo: StartDemo) -> None:
    """A client that hangs up mid-stream shows up in /demo/stats as cancelled."""
    url = await start_demo("--stream-chunks", "100", "--stream-interval", "0.05")
    async with aiohttp.ClientSession() as s:
        resp = await s.post(url + "/v1/chat/completions", json={**CHAT, "stream": True})
        await resp.content.readline()
        resp.close()

        async def cancelled() -> bool:
            async with s.get(url + "/demo/stats") as r:
                return bool((await r.json())["cancelled"] == 1)

        await async_wait_until(cancelled, timeout=10)


async def test_request_delay_header_delays_the_answer(start_demo: StartDemo) -> None:
    """X-Demo-Delay holds a response back (for queueing and disconnect tests)."""
    url = await start_demo()
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as s:
        t0 = loop.time()
        async with s.post(
            url + "/v1/chat/completions", json=CHAT, headers={"X-Demo-Delay": "0.3"}
        ) as resp:
            assert resp.status == 200
        assert loop.time() - t0 >= 0.3
