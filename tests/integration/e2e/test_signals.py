"""Signals to the real CLI: graceful drain, double signal, SIGHUP, SIGKILL of llamaswap."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import aiohttp
import psutil
import pytest

from tests.support.wait import async_wait_until

from .conftest import StartLlamaswap, chat_body, demo_cmd

pytestmark = pytest.mark.timeout(60)


async def test_sigterm_drains_an_in_flight_stream_then_exits_0(
    llamaswap: StartLlamaswap,
) -> None:
    """Graceful shutdown: the running stream finishes, models stop, exit 0, no child."""
    ls = await llamaswap(f"""
models:
  m:
    cmd: {demo_cmd("m", "--stream-chunks", "15", "--stream-interval", "0.1")}
    proxy: http://127.0.0.1:${{PORT}}
""")
    async with ls.session.post(
        ls.url + "/v1/chat/completions", json=chat_body("m", stream=True)
    ) as resp:
        assert resp.status == 200
        first = await resp.content.readany()
        assert first.startswith(b"data: "), first
        ls.send_signal(signal.SIGTERM)
        await ls.wait_output("received SIGTERM, shutting down")

        async def refused() -> bool:
            try:
                await ls.get("/health")
            except aiohttp.ClientConnectionError:
                return True
            return False

        await async_wait_until(refused, timeout=5, message="still accepting after SIGTERM")
        rest = await resp.content.read()
    body = first + rest
    assert body.count(b'"content"') >= 15, body
    assert body.endswith(b"data: [DONE]\n\n"), body[-200:]
    assert await ls.wait_exit(within=20) == 0
    assert "shutdown complete" in ls.output()
    assert not ls.children()


async def test_second_signal_kills_every_group_and_exits_1(llamaswap: StartLlamaswap) -> None:
    """SIGINT twice while a model ignores SIGTERM: exit 1 at once, no child left."""
    ls = await llamaswap(f"""
models:
  stubborn:
    cmd: {demo_cmd("stubborn", "--ignore-sigterm", "--fork-grandchild")}
    proxy: http://127.0.0.1:${{PORT}}
    unloadTimeout: 30
""")
    reply = await ls.chat("stubborn")
    assert reply.status == 200, reply.text
    await async_wait_until(lambda: len(ls.children()) >= 2, timeout=10)
    ls.send_signal(signal.SIGINT)
    await ls.wait_output("received SIGINT, shutting down")
    assert ls.proc.returncode is None, "the first signal must start a graceful shutdown"
    ls.send_signal(signal.SIGINT)
    assert await ls.wait_exit(within=5) == 1
    await ls.wait_no_children(within=5)


async def test_sighup_reloads_and_keeps_serving(llamaswap: StartLlamaswap) -> None:
    """SIGHUP reloads the (unchanged) config and llamaswap keeps serving."""
    ls = await llamaswap(f"""
models:
  m:
    cmd: {demo_cmd("m")}
    proxy: http://127.0.0.1:${{PORT}}
""")
    ls.send_signal(signal.SIGHUP)
    await ls.wait_output("received SIGHUP, reloading config")
    await ls.wait_output("configuration reloaded")
    assert ls.proc.returncode is None
    reply = await ls.chat("m")
    assert reply.status == 200, reply.text


async def test_sigkilled_llamaswap_leaves_no_upstream_running(
    llamaswap: StartLlamaswap,
) -> None:
    """The parent-death signal takes the upstream down when llamaswap is SIGKILLed."""
    ls = await llamaswap(f"""
models:
  m:
    cmd: {demo_cmd("m")}
    proxy: http://127.0.0.1:${{PORT}}
""")
    reply = await ls.chat("m")
    assert reply.status == 200, reply.text
    pid = int(reply.headers["X-Demo-Pid"])
    assert psutil.pid_exists(pid)
    ls.send_signal(signal.SIGKILL)
    assert await ls.wait_exit(within=5) == -signal.SIGKILL

    def gone() -> bool:
        try:
            return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True

    await async_wait_until(gone, timeout=5, message=f"upstream pid {pid} outlived llamaswap")
    await ls.wait_no_children(within=5)


async def test_sigterm_lets_a_loading_stream_finish_when_its_model_becomes_ready(
    llamaswap: StartLlamaswap,
) -> None:
    """router.md §2.15: a streamed chat waiting for its model drains like any request;
    the model gets ready during the drain, the client gets the whole upstream answer."""
    ls = await llamaswap(f"""
sendLoadingState: true
models:
  m:
    cmd: {demo_cmd("m", "--healthy-after", "2", "--stream-chunks", "3")}
    proxy: http://127.0.0.1:${{PORT}}
""")
    async with ls.session.post(
        ls.url + "/v1/chat/completions", json=chat_body("m", stream=True)
    ) as resp:
        assert resp.status == 200
        first = await resp.content.readany()
        assert b"reasoning_content" in first, first
        ls.send_signal(signal.SIGTERM)
        await ls.wait_output("received SIGTERM, shutting down")
        body = first + await resp.read()
    assert b"Done! (" in body, body[-500:]
    assert body.count(b'"content"') >= 3, body[-500:]
    assert b'"error"' not in body, body[-500:]
    assert body.endswith(b"data: [DONE]\n\n"), body[-300:]
    assert await ls.wait_exit(within=15) == 0
    assert not ls.children()


async def test_sigterm_gives_a_never_ready_loading_stream_the_routers_error_event(
    llamaswap: StartLlamaswap,
) -> None:
    """The drain holds a loading stream for the shutdown budget (2 s here, through
    LLAMASWAP_SHUTDOWN_BUDGET); then the router's error is its final SSE event and
    llamaswap exits 0 with the starting upstream stopped."""
    ls = await llamaswap(
        f"""
sendLoadingState: true
healthCheckTimeout: 60
models:
  m:
    cmd: {demo_cmd("m", "--never-healthy")}
    proxy: http://127.0.0.1:${{PORT}}
""",
        env={"LLAMASWAP_SHUTDOWN_BUDGET": "2"},
    )
    async with ls.session.post(
        ls.url + "/v1/chat/completions", json=chat_body("m", stream=True)
    ) as resp:
        assert resp.status == 200
        await ls.wait_running({"m": "starting"})
        ls.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        async with asyncio.timeout(10):
            body = await resp.read()
        held = time.monotonic() - signalled
    assert held >= 1.5, f"the stream ended {held:.2f}s after SIGTERM, before the budget"
    assert body.endswith(b"data: [DONE]\n\n"), body[-300:]
    error = json.loads(body.rsplit(b"data: ", 2)[-2])["error"]
    assert error["message"] == "unspecific error: group is shutting down", error
    assert await ls.wait_exit(within=10) == 0
    assert not ls.children()


async def test_a_request_that_cannot_finish_does_not_outlast_the_budget(
    llamaswap: StartLlamaswap,
) -> None:
    """A request waiting on a model that never gets healthy holds the drain for the
    budget at most (30 s by default; 2 s here through LLAMASWAP_SHUTDOWN_BUDGET); then
    it gets the router's 500 and llamaswap exits 0 (not the forced exit 5 s later)."""
    ls = await llamaswap(
        f"""
healthCheckTimeout: 120
models:
  m:
    cmd: {demo_cmd("m", "--never-healthy")}
    proxy: http://127.0.0.1:${{PORT}}
""",
        env={"LLAMASWAP_SHUTDOWN_BUDGET": "2"},
    )
    waiting = asyncio.create_task(ls.chat("m"))
    await ls.wait_running({"m": "starting"})
    ls.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    reply = await asyncio.wait_for(waiting, 10)
    held = reply.finished_at - signalled
    assert 1.5 <= held < 6, f"answered {held:.2f}s after SIGTERM; want about 2 s"
    assert reply.status == 500, reply.text
    assert reply.json()["error"]["message"] == "unspecific error: group is shutting down"
    assert await ls.wait_exit(within=5) == 0
    assert "shutdown complete" in ls.output()
    assert not ls.children()
