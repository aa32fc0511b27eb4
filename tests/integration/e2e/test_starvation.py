"""The starvation guard ``fifo.maxWait`` (design.md "Beyond llama-swap") through the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from .conftest import Llamaswap, StartLlamaswap, chat_body, demo_cmd

pytestmark = pytest.mark.timeout(60)


def config(max_wait: float) -> str:
    return f"""
routing:
  scheduler:
    settings:
      fifo:
        maxWait: {max_wait}
models:
  a:
    cmd: {demo_cmd("a", "--stream-chunks", "10", "--stream-interval", "0.1")}
    proxy: http://127.0.0.1:${{PORT}}
  b:
    cmd: {demo_cmd("b")}
    proxy: http://127.0.0.1:${{PORT}}
"""


HANDOVER_EVENTS = 5
"""A relay request sends the next one after this many of its 10 events (~0.5 s in)."""


class Relay:
    """Keeps ``a`` busy with overlapping ~1 s streams: each request sends the next one
    half-way through its own stream, so a's in-flight count never reaches zero while the
    fast path keeps granting them (at most two are in flight)."""

    def __init__(self, ls: Llamaswap) -> None:
        self._ls = ls
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.running = asyncio.Event()

    def start(self) -> None:
        task = asyncio.create_task(self._one())
        self._tasks.add(task)

    async def _one(self) -> None:
        url = self._ls.url + "/v1/chat/completions"
        async with self._ls.session.post(url, json=chat_body("a", stream=True)) as resp:
            assert resp.status == 200, await resp.text()
            seen = b""
            while seen.count(b"data: ") < HANDOVER_EVENTS and (
                chunk := await resp.content.readany()
            ):
                seen += chunk
            self.running.set()
            if not self._stopping:
                self.start()
            await resp.read()

    async def aclose(self) -> None:
        self._stopping = True
        while pending := [t for t in self._tasks if not t.done()]:
            await asyncio.gather(*pending)
        for task in self._tasks:
            task.result()  # surface a failed relay request


@contextlib.asynccontextmanager
async def relay(ls: Llamaswap) -> AsyncIterator[Relay]:
    r = Relay(ls)
    r.start()
    try:
        await asyncio.wait_for(r.running.wait(), 15)
        yield r
    finally:
        await r.aclose()


async def test_max_wait_forces_a_starving_swap_past_a_busy_model(
    llamaswap: StartLlamaswap,
) -> None:
    """With maxWait 1 s, b's request is served within maxWait plus a drain and a load,
    although overlapping requests keep a busy all along."""
    ls = await llamaswap(config(1))
    async with relay(ls):
        t0 = time.monotonic()
        reply = await asyncio.wait_for(ls.chat("b"), 15)
        waited = time.monotonic() - t0
    assert reply.status == 200, reply.text
    assert 0.9 <= waited <= 1 + 6, f"b waited {waited:.2f}s; want maxWait (1s) + margin"


async def test_max_wait_zero_never_forces_the_swap(llamaswap: StartLlamaswap) -> None:
    """maxWait 0 turns the guard off: b waits while a stays busy, then is served."""
    ls = await llamaswap(config(0))
    async with relay(ls):
        b = asyncio.create_task(ls.chat("b"))
        done, _ = await asyncio.wait({b}, timeout=2.5)
        assert not done, "b was served while a never went idle: the guard must be off"
    reply = await asyncio.wait_for(b, 15)
    assert reply.status == 200, reply.text
