"""Start, ready, serve and crash paths of the process actor, with the real demo upstream."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from llamaswap.process.state import ProcessError, ProcessState, StartAborted
from tests.integration.process.support import Harness, is_dead, python_cmd
from tests.support.wait import async_wait_until

S = ProcessState


async def test_cold_start_serves_the_demo_and_reports_ready(harness: Harness) -> None:
    """ensure_ready spawns the upstream and returns once its /health answers 200."""
    proc = harness.make()
    await harness.ready(proc)
    assert proc.state is S.READY
    async with (
        aiohttp.ClientSession() as session,
        session.get(proc.base_url + "/v1/models") as resp,
    ):
        assert resp.status == 200
        assert (await resp.json())["data"][0]["id"] == "demo"


async def test_warm_ensure_ready_keeps_the_same_process(harness: Harness) -> None:
    """A second ensure_ready on a ready process neither restarts it nor emits events."""
    proc = harness.make()
    pid = await harness.ready(proc)
    events = len(harness.transitions)
    await proc.ensure_ready()
    assert proc.pid == pid
    assert len(harness.transitions) == events


async def test_concurrent_ensure_ready_calls_share_one_start(harness: Harness) -> None:
    """Callers arriving while starting wait for the same start: one spawn, one ready."""
    proc = harness.make(switches=["--healthy-after", "0.3"])
    await asyncio.gather(*(proc.ensure_ready() for _ in range(5)))
    harness.remember(proc)
    assert harness.states() == [("stopped", "starting"), ("starting", "ready")]


async def test_a_normal_cycle_emits_exactly_four_transitions(harness: Harness) -> None:
    """stopped→starting→ready→stopping→stopped, nothing else (router.md §1.1)."""
    proc = harness.make()
    await harness.ready(proc)
    await proc.stop()
    await proc.stop()  # idempotent: a no-op that emits nothing
    assert harness.states() == [
        ("stopped", "starting"),
        ("starting", "ready"),
        ("ready", "stopping"),
        ("stopping", "stopped"),
    ]
    assert proc.pid is None


async def test_crash_while_starting_fails_waiters_at_once(harness: Harness) -> None:
    """An exit before healthy fails ensure_ready at once, not after healthCheckTimeout."""
    proc = harness.make(switches=["--startup-delay", "0.2", "--exit-at-start", "3"])
    t0 = time.monotonic()
    with pytest.raises(ProcessError, match=r"^upstream command exited prematurely$"):
        await proc.ensure_ready()
    assert time.monotonic() - t0 < 5, "detected by the exit watch, well before 15 s"
    assert proc.state is S.STOPPED
    assert harness.states() == [("stopped", "starting"), ("starting", "stopped")]


async def test_crash_while_ready_goes_straight_to_stopped(harness: Harness) -> None:
    """An unexpected exit when ready skips `stopping`; the next request restarts it."""
    proc = harness.make(switches=["--crash-after", "0.3"])
    first = await harness.ready(proc)
    await async_wait_until(lambda: proc.state is S.STOPPED, timeout=10)
    assert harness.states()[-1] == ("ready", "stopped")
    assert await proc.acquire() is None
    assert await harness.ready(proc) != first


async def test_spawn_failure_names_the_command(harness: Harness) -> None:
    """A cmd that cannot be executed fails with llama-swap's wording; state back to stopped."""
    proc = harness.make("/nonexistent/llama-server --port 1", check_endpoint="none")
    with pytest.raises(ProcessError, match=r"^failed to start command '/nonexistent/llama-server"):
        await proc.ensure_ready()
    assert proc.state is S.STOPPED
    assert harness.states() == [("stopped", "starting"), ("starting", "stopped")]


async def test_empty_cmd_is_an_unsanitizable_command(harness: Harness) -> None:
    """An empty cmd fails before spawning (config load normally rejects it first)."""
    proc = harness.make("  # only a comment\n", check_endpoint="none")
    with pytest.raises(ProcessError, match=r"^unable to get sanitized command: empty command$"):
        await proc.ensure_ready()
    assert harness.states() == []


async def test_stop_while_starting_aborts_the_start(harness: Harness) -> None:
    """Stop during `starting` kills the child and fails start callers with "aborted"."""
    proc = harness.make(switches=["--healthy-after", "30"])
    waiter = asyncio.create_task(proc.ensure_ready())
    await async_wait_until(lambda: proc.state is S.STARTING and proc.pid is not None)
    pid = harness.remember(proc)
    await proc.stop()
    with pytest.raises(StartAborted, match=r"^aborted$"):
        await waiter
    assert proc.state is S.STOPPED
    await async_wait_until(lambda: is_dead(pid), timeout=5)


async def test_check_endpoint_none_is_ready_at_spawn(harness: Harness) -> None:
    """With checkEndpoint `none` the process is ready as soon as it is spawned."""
    proc = harness.make(python_cmd("import time; time.sleep(60)"), check_endpoint="none")
    await harness.ready(proc)
    assert proc.state is S.READY


async def test_model_env_overrides_inherited_environment(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child sees our environment plus the model's env entries, which win."""
    monkeypatch.setenv("LLAMASWAP_TEST_VAR", "inherited")
    monkeypatch.setenv("LLAMASWAP_TEST_KEEP", "kept")
    code = (
        'import os, time; print(os.environ["LLAMASWAP_TEST_VAR"], '
        'os.environ["LLAMASWAP_TEST_KEEP"], flush=True); time.sleep(60)'
    )
    proc = harness.make(
        python_cmd(code), check_endpoint="none", env=["LLAMASWAP_TEST_VAR=from-model"]
    )
    await harness.ready(proc)
    await async_wait_until(lambda: b"\n" in proc.logs.history(), timeout=10)
    assert proc.logs.history() == b"from-model kept\n"
