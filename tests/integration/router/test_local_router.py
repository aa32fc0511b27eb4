"""Scheduling through LocalRouter with real upstream processes (router.md §2)."""

from __future__ import annotations

import asyncio

import pytest

from llamaswap.errors import TooManyRequests, UnspecificError
from llamaswap.process.state import ProcessState
from llamaswap.router.api import RequestInfo
from llamaswap.router.local import LocalRouter
from tests.support.wait import async_wait_until

from .conftest import Call, MakeRouter, demo_models

READY = ProcessState.READY
STOPPED = ProcessState.STOPPED

pytestmark = pytest.mark.timeout(60)


def _starts(transitions: list[tuple[str, str]]) -> list[str]:
    return [model for model, state in transitions if state == "starting"]


async def _queue_b_behind_busy_a(
    router: LocalRouter, call: Call, hold: asyncio.Event
) -> tuple[asyncio.Task[str], asyncio.Task[str]]:
    """A request to `a` held open until ``hold`` is set, and one to `b` queued behind it
    (evicting `a` must wait for its in-flight request)."""
    busy = asyncio.create_task(call(router, "a", hold=hold))
    await async_wait_until(lambda: router.scheduler.in_flight("a") == 1)
    queued = asyncio.create_task(call(router, "b"))
    await async_wait_until(lambda: len(router.scheduler.queued_ids()) == 1)
    return busy, queued


async def test_collation_serves_abcabc_as_aabbcc(make_router: MakeRouter, call: Call) -> None:
    """Six concurrent requests A B C A B C complete as A A B B C C with three starts."""
    transitions: list[tuple[str, str]] = []
    router = await make_router(demo_models("a,b,c"), transitions=transitions)
    done: list[str] = []
    async with asyncio.timeout(40):
        await asyncio.gather(
            *(call(router, m, done=done, delay=0.2) for m in ("a", "b", "c", "a", "b", "c"))
        )
    assert done == ["a", "a", "b", "b", "c", "c"], f"got completion order {done}"
    assert _starts(transitions) == ["a", "b", "c"], "3 swaps, not 5"
    assert router.states() == {"a": STOPPED, "b": STOPPED, "c": READY}


async def test_eleventh_request_to_a_loading_model_gets_429(
    make_router: MakeRouter, call: Call
) -> None:
    """concurrencyLimit (10) counts loading waiters: the 11th is refused before any wait."""
    router = await make_router(demo_models("slow", {"slow": "--startup-delay 1.5"}))
    async with asyncio.timeout(30):
        tasks = [asyncio.create_task(call(router, "slow")) for _ in range(10)]
        await async_wait_until(lambda: router.scheduler.reserved("slow") == 10)
        with pytest.raises(TooManyRequests):
            await router.admit(RequestInfo("slow"))
        assert router.state("slow") is not READY, "the model must still be loading"
        await asyncio.gather(*tasks)
    assert router.scheduler.reserved("slow") == 0


async def test_request_arriving_during_a_ttl_unload_is_served(
    make_router: MakeRouter, call: Call
) -> None:
    """llama-swap #946: a request that lands while the TTL stop runs reloads the model."""
    router = await make_router(
        demo_models("m", {"m": "--sigterm-delay 1.0"}, ttl="1", unloadTimeout="5")
    )
    async with asyncio.timeout(30):
        await call(router, "m")
        await async_wait_until(lambda: router.state("m") is ProcessState.STOPPING, timeout=10)
        assert await call(router, "m") == "m"
    assert router.state("m") is READY
    await async_wait_until(lambda: router.scheduler.in_flight("m") == 0)


async def test_disconnect_while_queued_releases_everything(
    make_router: MakeRouter, call: Call
) -> None:
    """A queued request whose client leaves frees its reservation and never loads."""
    transitions: list[tuple[str, str]] = []
    router = await make_router(demo_models("a,b"), transitions=transitions)
    hold = asyncio.Event()
    async with asyncio.timeout(30):
        busy, queued = await _queue_b_behind_busy_a(router, call, hold)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        await async_wait_until(lambda: router.scheduler.reserved("b") == 0)
        assert router.scheduler.queued_ids() == []
        hold.set()
        await busy
        assert "b" not in _starts(transitions), "a cancelled queued request never loads"
        assert await call(router, "b") == "b", "the router is not wedged"


async def test_only_waiter_leaving_lets_the_load_finish_and_stays_evictable(
    make_router: MakeRouter, call: Call
) -> None:
    """router.md §2.12: the swap completes; no in-flight count is stranded."""
    router = await make_router(demo_models("a,b", {"a": "--startup-delay 0.5"}))
    async with asyncio.timeout(30):
        waiter = asyncio.create_task(call(router, "a"))
        await async_wait_until(lambda: router.state("a") is ProcessState.STARTING)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await async_wait_until(lambda: router.state("a") is READY)
        assert router.scheduler.in_flight("a") == 0
        assert await call(router, "b") == "b"
    assert router.state("a") is STOPPED


async def test_unload_fails_waiters_and_stops_the_model(
    make_router: MakeRouter, call: Call
) -> None:
    """router.md §2.11: waiters get `group: model unloaded`; unload returns once stopped."""
    router = await make_router(demo_models("a,b", {"a": "--startup-delay 2"}))
    async with asyncio.timeout(30):
        await call(router, "b")
        waiter = asyncio.create_task(call(router, "a"))
        await async_wait_until(lambda: router.state("a") is ProcessState.STARTING)
        await router.unload(["a"])
        with pytest.raises(UnspecificError, match="group: model unloaded"):
            await waiter
        assert router.state("a") is STOPPED
        assert router.scheduler.reserved("a") == 0
        await router.unload()
    assert router.states() == {"a": STOPPED, "b": STOPPED}


async def test_shutdown_fails_queued_requests_and_stops_every_process(
    make_router: MakeRouter, call: Call
) -> None:
    """router.md §2.15: `group is shutting down` for waiters and for later requests."""
    router = await make_router(demo_models("a,b"))
    hold = asyncio.Event()
    async with asyncio.timeout(30):
        busy, queued = await _queue_b_behind_busy_a(router, call, hold)
        await router.shutdown(5)
        with pytest.raises(UnspecificError, match="group is shutting down"):
            await queued
        with pytest.raises(UnspecificError, match="group is shutting down"):
            await router.admit(RequestInfo("a"))
        hold.set()
        await busy
    assert set(router.states().values()) == {ProcessState.SHUTDOWN}
    with pytest.raises(RuntimeError, match="shutdown already in progress"):
        await router.shutdown(5)


async def test_preload_loads_the_listed_models_after_start(make_router: MakeRouter) -> None:
    """hooks.on_startup.preload runs as normal scheduled requests, one after another."""
    yaml_text = demo_models("a,b") + "hooks:\n  on_startup:\n    preload: [a]\n"
    router = await make_router(yaml_text)
    await async_wait_until(lambda: router.state("a") is READY, timeout=20)
    assert router.state("b") is STOPPED
    await async_wait_until(lambda: router.scheduler.reserved("a") == 0)


async def test_refused_lease_goes_back_to_the_scheduler_and_is_served(
    make_router: MakeRouter, call: Call
) -> None:
    """A grant whose process stopped before the lease was taken restarts it, no error."""
    transitions: list[tuple[str, str]] = []
    router = await make_router(demo_models("m"), transitions=transitions)
    async with asyncio.timeout(30):
        await call(router, "m")
        ticket = await router.admit(RequestInfo("m"))  # fast path: granted at admission
        try:
            await router.process("m").stop()
            lease = await ticket.wait_lease()
            assert lease.model_id == "m"
            assert router.state("m") is READY
        finally:
            await ticket.close()
    assert _starts(transitions) == ["m", "m"]
    await async_wait_until(lambda: router.scheduler.in_flight("m") == 0)


async def test_legacy_profile_members_run_together(make_router: MakeRouter, call: Call) -> None:
    """coding:a then coding:b keep both; a plain c is routed by the default group."""
    yaml_text = demo_models("a,b,c") + "profiles:\n  coding: [a, b]\n"
    router = await make_router(yaml_text)
    async with asyncio.timeout(40):
        for model in ("a", "b"):
            ticket = await router.admit(RequestInfo(model, profile="coding"))
            try:
                await ticket.wait_lease()
            finally:
                await ticket.close()
        ready = {m for m, s in router.states().items() if s is READY}
        assert ready == {"a", "b"}
        await call(router, "c")
    assert router.states() == {"a": STOPPED, "b": STOPPED, "c": READY}
