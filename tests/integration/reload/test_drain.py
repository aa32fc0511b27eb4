"""``Process.drain``: how a reload retires a process without cutting its requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from llamaswap.process.state import ProcessError, ProcessState
from tests.integration.process.support import Harness, running_harness

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def processes() -> AsyncIterator[Harness]:
    async with running_harness() as h:
        yield h


async def test_drain_stops_only_after_the_last_lease_is_released(processes: Harness) -> None:
    """In-flight requests finish first; no new lease is handed out meanwhile."""
    proc = processes.make()
    await proc.ensure_ready()
    processes.remember(proc)
    lease = await proc.acquire()
    assert lease is not None
    drain = asyncio.create_task(proc.drain())
    done, _ = await asyncio.wait({drain}, timeout=0.3)
    assert not done, "the drain must wait for the lease"
    assert await proc.acquire() is None, "a draining process must refuse new leases"
    assert proc.state.value == "ready"
    lease.release()
    async with asyncio.timeout(10):
        await drain
    assert proc.state is ProcessState.STOPPED


async def test_drain_of_an_idle_process_stops_it_at_once(processes: Harness) -> None:
    """Nothing in flight: the stop begins immediately."""
    proc = processes.make()
    await proc.ensure_ready()
    processes.remember(proc)
    async with asyncio.timeout(10):
        await proc.drain()
    assert proc.state is ProcessState.STOPPED


async def test_a_drained_process_never_starts_again(processes: Harness) -> None:
    """A retired process refuses to start; the router uses its replacement."""
    proc = processes.make()
    await proc.drain()
    with pytest.raises(ProcessError, match=r"\[m\] stopped"):
        await proc.ensure_ready()
    assert proc.state is ProcessState.STOPPED
