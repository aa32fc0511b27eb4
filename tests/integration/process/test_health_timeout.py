"""The health-check deadline: deliberately slow (healthCheckTimeout's minimum is 15 s)."""

from __future__ import annotations

import time

import pytest

from llamaswap.process.state import ProcessError, ProcessState
from tests.integration.process.support import Harness, is_dead
from tests.support.wait import async_wait_until


@pytest.mark.slow
async def test_never_healthy_upstream_times_out_and_is_killed(harness: Harness) -> None:
    """A never-healthy upstream fails with Go-style wording at the deadline, then dies."""
    proc = harness.make(switches=["--never-healthy"], health_check_timeout=15)
    t0 = time.monotonic()
    with pytest.raises(ProcessError, match=r"^health check timed out after 15s$"):
        await proc.ensure_ready()
    elapsed = time.monotonic() - t0
    assert 14.5 <= elapsed < 20, f"failed after {elapsed:.1f}s, want 15s"
    pid = harness.remember(proc) if proc.pid is not None else None
    await async_wait_until(lambda: proc.state is ProcessState.STOPPED, timeout=10)
    if pid is not None:
        assert is_dead(pid)
    assert harness.states() == [
        ("stopped", "starting"),
        ("starting", "stopping"),
        ("stopping", "stopped"),
    ]
