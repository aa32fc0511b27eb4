"""Every test gets a Harness; teardown shuts its Processes down and checks that no
child, grandchild or process group of ours is left, even when the test failed."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from llamaswap.process.groups import signal_group
from llamaswap.process.registry import live_groups
from tests.integration.process.support import Harness
from tests.support.wait import async_wait_until


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        for proc in h.processes:
            await proc.shutdown(5)
        try:
            await async_wait_until(
                lambda: not h.survivors(), timeout=5, message=lambda: f"alive: {h.survivors()}"
            )
            leftover = [g for g in live_groups() if signal_group(g, 0)]
            assert not leftover, f"process groups still alive after shutdown: {leftover}"
        finally:
            h.kill_survivors()
            for pgid in live_groups():
                signal_group(pgid, 9)


@pytest.fixture
def tmp_file(tmp_path: os.PathLike[str]) -> str:
    return os.path.join(tmp_path, "pids.txt")
