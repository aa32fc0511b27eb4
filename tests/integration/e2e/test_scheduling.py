"""Issue 4's scheduler behaviours through the real CLI (router.md §2)."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack

import aiohttp
import pytest

from tests.support.wait import async_wait_until

from .conftest import Llamaswap, StartLlamaswap, demo_cmd
from .streams import OpenStreams, sse_data

pytestmark = pytest.mark.timeout(60)

TOO_MANY = {
    "src": "llama-swap",
    "error": {
        "message": "Too many requests",
        "type": "rate_limit_error",
        "param": None,
        "code": "concurrency_limit",
    },
}


UNLOADED = {
    "message": "unspecific error: group: model unloaded",
    "type": "server_error",
    "code": "internal_error",
}


def three_models(first_switches: str = "--healthy-after 1") -> str:
    """a, b, c in the default group (one at a time); a is slow to become healthy."""
    return f"""
sendLoadingState: true
models:
  a:
    cmd: {demo_cmd("a", first_switches)}
    proxy: http://127.0.0.1:${{PORT}}
  b:
    cmd: {demo_cmd("b")}
    proxy: http://127.0.0.1:${{PORT}}
    aliases: [bee]
  c:
    cmd: {demo_cmd("c")}
    proxy: http://127.0.0.1:${{PORT}}
    aliases: [see]
"""


async def _upstream_busy(ls: Llamaswap, session: aiohttp.ClientSession, model: str) -> bool:
    """Whether ``model``'s upstream is serving a request (asked directly: ``/demo/stats``)."""
    rows = (await ls.get("/running")).json()["running"]
    proxy = next(r["proxy"] for r in rows if r["model"] == model)
    async with session.get(proxy + "/demo/stats") as resp:
        return int((await resp.json())["active"]) > 0


async def test_collation_serves_abcabc_as_aabbcc(llamaswap: StartLlamaswap) -> None:
    """Six requests arriving A B C A B C while A loads complete A A B B C C, 3 starts."""
    ls = await llamaswap(three_models())
    async with AsyncExitStack() as stack:
        streams = OpenStreams(ls, stack)
        for model in ("a", "b", "c", "a", "b", "c"):
            await streams.open(model)  # admitted (and placed) before the next is sent
        finished = await streams.finish_all()
    order = [f.model for f in finished]
    assert order == ["a", "a", "b", "b", "c", "c"], f"completion order {order}"
    assert all(f.body.endswith(b"data: [DONE]\n\n") for f in finished)
    assert [ls.starts(m) for m in "abc"] == [1, 1, 1], "3 swaps, not 5"
    assert await ls.running() == {"c": "ready"}


async def test_priority_orders_the_queue(llamaswap: StartLlamaswap) -> None:
    """fifo.priority (keyed by an alias) lets a later request for c overtake b."""
    ls = await llamaswap(
        three_models()
        + """
routing:
  scheduler:
    settings:
      fifo:
        priority: {see: 10}
"""
    )
    async with AsyncExitStack() as stack:
        streams = OpenStreams(ls, stack)
        for model in ("a", "b", "c"):
            await streams.open(model)
        finished = await streams.finish_all()
    assert [f.model for f in finished] == ["a", "c", "b"]


async def test_eleventh_request_to_a_loading_model_gets_429(llamaswap: StartLlamaswap) -> None:
    """concurrencyLimit (10) counts loading waiters: the 11th gets the exact JSON 429 with
    Retry-After: 1, streamed or not (never a loading stream). Unloading the model answers
    the ten waiters and frees their reservations."""
    ls = await llamaswap(f"""
sendLoadingState: true
healthCheckTimeout: 60
models:
  slow:
    cmd: {demo_cmd("slow", "--never-healthy")}
    proxy: http://127.0.0.1:${{PORT}}
""")
    async with AsyncExitStack() as stack:
        streams = OpenStreams(ls, stack)
        for _ in range(10):
            await streams.open("slow")
        for stream in (False, True):
            reply = await ls.chat("slow", stream=stream)
            assert reply.status == 429, reply.text
            assert reply.json() == TOO_MANY
            assert reply.headers["Retry-After"] == "1"
            assert reply.headers["Content-Type"].startswith("application/json")
        assert (await ls.running())["slow"] == "starting", "the 429 came while loading"
        unload = await ls.post("/api/models/unload/slow")
        assert (unload.status, unload.text) == (200, "OK")
        finished = await streams.finish_all()
        for f in finished:
            *_, error, done = sse_data(f.body)
            assert done == "[DONE]", f.body[-300:]
            assert json.loads(error) == {"error": UNLOADED}, f.body[-300:]
        eleventh = await streams.open("slow")  # admitted now: the ten were released
        eleventh.close()


async def test_request_arriving_during_a_ttl_unload_is_served(
    llamaswap: StartLlamaswap,
) -> None:
    """llama-swap #946: a request that lands while the TTL stop runs reloads the model."""
    ls = await llamaswap(f"""
models:
  m:
    cmd: {demo_cmd("m", "--sigterm-delay", "1.5")}
    proxy: http://127.0.0.1:${{PORT}}
    ttl: 1
    unloadTimeout: 10
""")
    first = await ls.chat("m")
    assert first.status == 200, first.text
    await ls.wait_running({"m": "stopping"}, within=10)
    second = await ls.chat("m")
    assert second.status == 200, second.text
    assert second.headers["X-Demo-Pid"] != first.headers["X-Demo-Pid"], "a fresh process"
    assert await ls.running() == {"m": "ready"}
    assert ls.starts("m") == 2


async def test_client_disconnect_while_queued_never_loads_its_model(
    llamaswap: StartLlamaswap,
) -> None:
    """A queued request whose client hangs up is forgotten: its model never loads when the
    busy model drains, and the router keeps serving both models afterwards."""
    ls = await llamaswap(three_models(first_switches=""))
    async with aiohttp.ClientSession() as direct:
        warm = await ls.chat("a")
        busy = asyncio.create_task(ls.chat("a", headers={"X-Demo-Delay": "2"}))
        await async_wait_until(lambda: _upstream_busy(ls, direct, "a"), timeout=10)
        async with AsyncExitStack() as stack:
            queued = await OpenStreams(ls, stack).open("b")  # queued behind busy a
            queued.close()  # the client hangs up while queued
        assert (await busy).status == 200
        again = await ls.chat("a")
    assert again.status == 200, again.text
    assert again.headers["X-Demo-Pid"] == warm.headers["X-Demo-Pid"], "a was never evicted"
    assert ls.starts("b") == 0, "the abandoned request loaded its model"
    served = await ls.chat("b")
    assert served.status == 200, served.text
    assert await ls.running() == {"b": "ready"}
