"""What a user sees at the edges of the real CLI: the non-loopback listen hint and
the 429 of ``concurrencyLimit``, which stays JSON whatever ``Accept`` says."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import StartLlamaswap, demo_cmd

pytestmark = pytest.mark.timeout(60)

HINT = "listening on all interfaces"


async def test_listening_on_all_interfaces_logs_the_exposure_hint(
    llamaswap: StartLlamaswap,
) -> None:
    """`-listen 0.0.0.0:<port>` says every host can reach llama-swap and how to stop it."""
    ls = await llamaswap(
        f"models:\n  m:\n    cmd: {demo_cmd('m')}\n    proxy: http://127.0.0.1:${{PORT}}\n",
        host="0.0.0.0",
    )
    await ls.wait_output(HINT)
    port = ls.url.rsplit(":", 1)[1]
    assert f"use -listen localhost:{port} to restrict it" in ls.output()


async def test_listening_on_loopback_logs_no_exposure_hint(llamaswap: StartLlamaswap) -> None:
    """`-listen 127.0.0.1:<port>` is private: no hint."""
    ls = await llamaswap(
        f"models:\n  m:\n    cmd: {demo_cmd('m')}\n    proxy: http://127.0.0.1:${{PORT}}\n"
    )
    await ls.wait_output("llama-swap listening on http://127.0.0.1:")
    assert HINT not in ls.output()


async def test_concurrency_429_is_json_even_when_text_is_asked_for(
    llamaswap: StartLlamaswap,
) -> None:
    """Deviation 8: the 429 is always the JSON envelope, `Accept: text/plain` or not."""
    ls = await llamaswap(f"""
healthCheckTimeout: 60
models:
  slow:
    cmd: {demo_cmd("slow", "--never-healthy")}
    proxy: http://127.0.0.1:${{PORT}}
    concurrencyLimit: 1
""")
    waiting = asyncio.create_task(ls.chat("slow"))
    try:
        await ls.wait_running({"slow": "starting"})
        reply = await ls.chat("slow", headers={"Accept": "text/plain"})
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
    assert reply.status == 429, reply.text
    assert reply.headers["Content-Type"].startswith("application/json"), reply.headers
    assert reply.headers["Retry-After"] == "1"
    error = reply.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "concurrency_limit"), error
    assert reply.json()["src"] == "llama-swap"
