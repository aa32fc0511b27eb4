"""TTL unloads (deviation 2: the idle clock starts at ready, then at each release)."""

from __future__ import annotations

import asyncio

from llamaswap.process.state import ProcessState
from tests.integration.process.support import Harness
from tests.support.wait import async_wait_until

S = ProcessState


async def test_ttl_unload_is_timed_from_ready(harness: Harness) -> None:
    """A model that is never used unloads about `ttl` after it became ready."""
    proc = harness.make(ttl=1)
    await harness.ready(proc)
    await async_wait_until(lambda: proc.state is S.STOPPED, timeout=10)
    idle = harness.when(S.STOPPING) - harness.when(S.READY)
    assert 0.9 <= idle < 2.5, f"unloaded {idle:.2f}s after ready, want about ttl=1s"
    assert harness.states()[-2:] == [("ready", "stopping"), ("stopping", "stopped")]


async def test_lease_in_flight_holds_off_ttl_and_release_restarts_the_clock(
    harness: Harness,
) -> None:
    """A long request is never cut by TTL; the idle clock restarts when it ends."""
    proc = harness.make(ttl=1)
    await harness.ready(proc)
    lease = await proc.acquire()
    assert lease is not None
    await asyncio.sleep(1.5)  # an observation window longer than the TTL, not a sync
    assert ("ready", "stopping") not in harness.states(), "in flight: the model must stay"
    lease.release()
    released = asyncio.get_running_loop().time()
    await async_wait_until(lambda: proc.state is S.STOPPED, timeout=10)
    idle = asyncio.get_running_loop().time() - released
    assert idle >= 0.9, f"unloaded {idle:.2f}s after the release, want >= ttl=1s"


async def test_ttl_zero_never_unloads(harness: Harness) -> None:
    """ttl 0 means never: no timer, the model stays ready."""
    proc = harness.make(ttl=0)
    await harness.ready(proc)
    await asyncio.sleep(1.2)  # an observation window, not a sync
    assert proc.state is S.READY
