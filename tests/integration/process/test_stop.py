"""The stop procedure: cmdStop, SIGTERM then SIGKILL, and nothing left behind."""

from __future__ import annotations

import asyncio
import time

from llamaswap.process.registry import kill_all_process_groups
from llamaswap.process.state import ProcessState
from llamaswap.router.api import ServeLease
from tests.integration.process.support import Harness, is_dead, python_cmd, read_pids
from tests.support.wait import async_wait_until

S = ProcessState


async def test_cmd_stop_gets_the_pid_and_replaces_sigterm(harness: Harness, tmp_file: str) -> None:
    """cmdStop runs with ${PID} substituted; no SIGTERM is sent (the demo ignores it)."""
    stopper = python_cmd(
        'import os, sys; open(sys.argv[1], "w").write(sys.argv[2]); os.kill(int(sys.argv[2]), 9)',
        tmp_file,
        "${PID}",
    )
    proc = harness.make(switches=["--ignore-sigterm"], cmd_stop=stopper, unload_timeout=30)
    pid = await harness.ready(proc)
    t0 = time.monotonic()
    await proc.stop()
    assert time.monotonic() - t0 < 10, "cmdStop killed it; the 30 s grace was not needed"
    assert read_pids(tmp_file) == [pid]
    assert is_dead(pid)
    assert proc.state is S.STOPPED


async def test_hanging_cmd_stop_is_killed_at_the_deadline(harness: Harness, tmp_file: str) -> None:
    """A cmdStop that never returns is SIGKILLed with the upstream at unloadTimeout."""
    stopper = python_cmd(
        'import os, sys, time; open(sys.argv[1], "w").write(str(os.getpid())); time.sleep(60)',
        tmp_file,
    )
    proc = harness.make(cmd_stop=stopper, unload_timeout=1)
    pid = await harness.ready(proc)
    t0 = time.monotonic()
    await proc.stop()
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 6, f"stop took {elapsed:.2f}s, want about the 1 s unloadTimeout"
    stopper_pids = read_pids(tmp_file)
    harness.pids.update(stopper_pids)
    assert is_dead(pid)
    await async_wait_until(lambda: all(is_dead(p) for p in stopper_pids), timeout=5)


async def test_ignored_sigterm_gets_sigkill_after_unload_timeout(harness: Harness) -> None:
    """SIGTERM to the group first; SIGKILL once the model's unloadTimeout has passed."""
    proc = harness.make(switches=["--ignore-sigterm"], unload_timeout=1)
    pid = await harness.ready(proc)
    t0 = time.monotonic()
    await proc.stop()
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 6, f"stop took {elapsed:.2f}s, want about the 1 s unloadTimeout"
    assert is_dead(pid)


async def test_slow_sigterm_handler_is_allowed_to_finish(harness: Harness) -> None:
    """A SIGTERM handler needing 0.6 s finishes inside a 3 s grace (no early SIGKILL)."""
    proc = harness.make(switches=["--sigterm-delay", "0.6"], unload_timeout=3)
    await harness.ready(proc)
    t0 = time.monotonic()
    await proc.stop()
    elapsed = time.monotonic() - t0
    assert 0.5 <= elapsed < 2.9, f"stop took {elapsed:.2f}s, want the handler's 0.6 s"


async def test_forked_and_setsid_grandchildren_are_gone_after_stop(
    harness: Harness, tmp_file: str
) -> None:
    """A grandchild in the group dies with it; one that called setsid is killed too."""
    proc = harness.make(
        switches=["--fork-grandchild", "--setsid-grandchild", "--grandchild-pid-file", tmp_file]
    )
    await harness.ready(proc)
    grandchildren = read_pids(tmp_file)
    harness.pids.update(grandchildren)
    assert len(grandchildren) == 2
    assert not any(is_dead(p) for p in grandchildren)
    t0 = time.monotonic()
    await proc.stop()
    assert time.monotonic() - t0 < 4, "the pipe a grandchild holds must not delay the stop"
    await async_wait_until(lambda: all(is_dead(p) for p in grandchildren), timeout=5)


async def test_acquire_is_refused_while_stopping(harness: Harness) -> None:
    """A lease is refused once a stop began, so the router requeues instead of proxying."""
    proc = harness.make(switches=["--sigterm-delay", "1"], unload_timeout=5)
    await harness.ready(proc)
    stopping = asyncio.create_task(proc.stop())
    await async_wait_until(lambda: proc.state is S.STOPPING)
    assert await proc.acquire() is None
    await stopping


async def test_ensure_ready_during_a_stop_restarts_after_it(harness: Harness) -> None:
    """A request arriving mid-stop is held until the stop ends, then starts the model
    (llama-swap issue #946: it must never wait forever)."""
    proc = harness.make(switches=["--sigterm-delay", "0.5"], unload_timeout=5)
    first = await harness.ready(proc)
    stopping = asyncio.create_task(proc.stop())
    await async_wait_until(lambda: proc.state is S.STOPPING)
    await asyncio.wait_for(proc.ensure_ready(), timeout=20)
    await stopping
    assert proc.state is S.READY
    assert harness.remember(proc) != first
    assert harness.states()[2:] == [
        ("ready", "stopping"),
        ("stopping", "stopped"),
        ("stopped", "starting"),
        ("starting", "ready"),
    ]


async def test_releasing_a_lease_after_its_process_stopped_is_harmless(harness: Harness) -> None:
    """A stale lease's release (twice) does not touch the next child's in-flight count."""
    proc = harness.make()
    await harness.ready(proc)
    lease = await proc.acquire()
    assert lease is not None
    served: ServeLease = lease  # the router's seam accepts it as is
    assert (served.model_id, served.base_url) == ("m", proc.base_url)
    assert proc.in_flight == 1
    await proc.stop()
    lease.release()
    lease.release()
    await harness.ready(proc)
    assert proc.in_flight == 0


async def test_shutdown_is_terminal_and_kills_within_its_timeout(harness: Harness) -> None:
    """shutdown(t) SIGKILLs at t even when SIGTERM is ignored; later commands fail."""
    proc = harness.make(switches=["--ignore-sigterm"], unload_timeout=60)
    pid = await harness.ready(proc)
    t0 = time.monotonic()
    await proc.shutdown(1)
    assert time.monotonic() - t0 < 6
    assert proc.state is S.SHUTDOWN
    assert is_dead(pid)
    assert harness.states()[-1] == ("stopping", "shutdown")
    assert await proc.acquire() is None
    await proc.stop()


async def test_shutdown_during_a_long_stop_cuts_the_grace(harness: Harness) -> None:
    """A stop with a 60 s grace in progress is SIGKILLed at the shutdown deadline."""
    proc = harness.make(switches=["--ignore-sigterm"], unload_timeout=60)
    pid = await harness.ready(proc)
    stopping = asyncio.create_task(proc.stop())
    await async_wait_until(lambda: proc.state is S.STOPPING)
    t0 = time.monotonic()
    await proc.shutdown(0.5)
    await stopping
    assert time.monotonic() - t0 < 6
    assert is_dead(pid)
    assert proc.state is S.SHUTDOWN


async def test_kill_all_process_groups_kills_every_child_at_once(harness: Harness) -> None:
    """The double-signal fast exit: every live group is SIGKILLed synchronously."""
    procs = [harness.make(model_id=f"m{i}", switches=["--ignore-sigterm"]) for i in range(2)]
    await asyncio.gather(*(p.ensure_ready() for p in procs))
    pids = [harness.remember(p) for p in procs]
    kill_all_process_groups()
    await async_wait_until(lambda: all(is_dead(p) for p in pids), timeout=5)
    await async_wait_until(lambda: all(p.state is S.STOPPED for p in procs), timeout=5)
