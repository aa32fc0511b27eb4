"""The access log line (observability.md §3.3) for real requests through a real app."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import aiohttp
import pytest

from tests.integration.server.conftest import Stack, StartStack, demo_cmd
from tests.support.wait import async_wait_until

CONFIG = f"""
models:
  m1:
    cmd: {demo_cmd("--model-name", "m1")}
"""
LINE = re.compile(
    r'^Request (?P<ip>\S+) "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.1" (?P<status>\d{3}) '
    r'(?P<bytes>\d+) "(?P<ua>[^"]*)" (?P<duration>[0-9.]+(ns|µs|ms|s)|[0-9hm.]+s)$'
)
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def stack(llamaswap: StartStack, caplog: pytest.LogCaptureFixture) -> Stack:
    caplog.set_level(logging.INFO, logger="llamaswap.access")
    return await llamaswap(CONFIG)


def lines(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    out = []
    for record in caplog.records:
        if record.name == "llamaswap.access":
            match = LINE.match(record.getMessage())
            assert match, f"malformed access line: {record.getMessage()!r}"
            out.append(match)
    return out


def line_for(caplog: pytest.LogCaptureFixture, path: str) -> re.Match[str]:
    found = [m for m in lines(caplog) if m["path"] == path]
    assert len(found) == 1, f"want one line for {path}, got {[m.string for m in lines(caplog)]}"
    return found[0]


async def test_proxied_request_logs_status_body_bytes_and_user_agent(
    stack: Stack, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {**JSON, "User-Agent": "tester/1.0"}
    async with client.post(
        stack.url + "/v1/messages", data=b'{"model":"m1"}', headers=headers
    ) as r:
        body = await r.read()
    m = line_for(caplog, "/v1/messages")
    assert (m["ip"], m["method"], m["status"], m["ua"]) == (
        "127.0.0.1",
        "POST",
        "200",
        "tester/1.0",
    )
    assert int(m["bytes"]) == len(body)


async def test_streamed_response_counts_every_body_byte(
    stack: Stack, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    req = {"model": "m1", "stream": True, "max_tokens": 5, "messages": []}
    async with client.post(
        stack.url + "/v1/chat/completions", data=json.dumps(req), headers=JSON
    ) as resp:
        body = await resp.read()
    assert int(line_for(caplog, "/v1/chat/completions")["bytes"]) == len(body)


async def test_client_ip_prefers_forwarded_for_then_real_ip(
    stack: Stack, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async with client.get(
        stack.url + "/health", headers={"X-Forwarded-For": " 10.1.2.3 , 10.9.9.9"}
    ):
        pass
    async with client.get(stack.url + "/running", headers={"X-Real-IP": "10.4.5.6"}):
        pass
    assert line_for(caplog, "/health")["ip"] == "10.1.2.3"
    assert line_for(caplog, "/running")["ip"] == "10.4.5.6"


async def test_polled_paths_are_not_logged_and_others_are(
    stack: Stack, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    for path in ("/wol-health", "/metrics", "/api/performance", "/health", "/"):
        async with client.get(stack.url + path, allow_redirects=False) as resp:
            await resp.read()
    logged = {m["path"]: m["status"] for m in lines(caplog)}
    assert logged == {"/health": "200", "/": "302"}


async def test_errors_and_prefix_routes_log_the_path_as_received(
    stack: Stack, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async with client.post(stack.url + "/v/messages", data=b'{"model":"nope"}', headers=JSON) as r:
        body = await r.read()
    m = line_for(caplog, "/v/messages")
    assert m["status"] == "404"
    assert int(m["bytes"]) == len(body)


async def test_client_that_hangs_up_before_an_answer_is_logged_as_499(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {**JSON, "X-Demo-Delay": "30"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        task = asyncio.ensure_future(
            session.post(stack.url + "/v1/messages", data=b'{"model":"m1"}', headers=headers)
        )
        await async_wait_until(
            lambda: stack.router.state("m1").is_running, timeout=20, message="m1 never started"
        )
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await async_wait_until(
        lambda: any(m["path"] == "/v1/messages" for m in lines(caplog)),
        timeout=10,
        message="no access line after the client hung up",
    )
    assert line_for(caplog, "/v1/messages")["status"] == "499"


async def test_loading_stream_counts_loading_text_and_upstream_bytes(
    llamaswap: StartStack, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="llamaswap.access")
    stack = await llamaswap(
        f"sendLoadingState: true\nmodels:\n  cold:\n    cmd: {demo_cmd('--healthy-after', '0.3')}\n"
    )
    req = {"model": "cold", "stream": True, "max_tokens": 3, "messages": []}
    async with client.post(
        stack.url + "/v1/chat/completions", data=json.dumps(req), headers=JSON
    ) as resp:
        body = await resp.read()
    assert b"reasoning_content" in body, "the loading stream ran"
    assert int(line_for(caplog, "/v1/chat/completions")["bytes"]) == len(body)
