"""``/api/events`` and ``/api/version`` through the real CLI: the runner feeds process
state changes to the stream, and ``/api/version`` says what ``-version`` prints."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.events.conftest import SseReader, model_state

from .conftest import SCRIPT, StartLlamaswap, demo_cmd

pytestmark = pytest.mark.timeout(60)


async def test_cli_streams_model_status_as_a_model_loads(llamaswap: StartLlamaswap) -> None:
    ls = await llamaswap(f"models:\n  m1:\n    cmd: {demo_cmd('m1')}\n")
    async with ls.session.get(ls.url + "/api/events") as resp:
        assert resp.status == 200
        reader = SseReader(resp)
        first = await reader.wait_for(lambda m: m.type == "modelStatus")
        assert model_state(first, "m1") == "stopped"
        await reader.wait_for(lambda m: m.type == "inflight")
        reply = await ls.chat("m1")
        assert reply.status == 200, reply.text
        await reader.wait_for(lambda m: model_state(m, "m1") == "ready")


async def test_api_version_matches_the_version_flag(llamaswap: StartLlamaswap) -> None:
    ls = await llamaswap(f"models:\n  m1:\n    cmd: {demo_cmd('m1')}\n")
    reply = await ls.get("/api/version")
    assert reply.status == 200
    body = reply.json()
    proc = await asyncio.create_subprocess_exec(
        str(SCRIPT), "-version", stdout=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(30):
            out, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    printed = out.decode().strip()
    want = f"version: {body['version']} ({body['commit']}), built at {body['build_date']}"
    assert printed == want, f"-version printed {printed!r}, /api/version says {body}"
