"""Every test gets a Harness; teardown shuts its Processes down and checks that no
child, grandchild or process group of ours is left, even when the test failed."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.integration.process.support import Harness, running_harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with running_harness() as h:
        yield h


@pytest.fixture
def tmp_file(tmp_path: os.PathLike[str]) -> str:
    return os.path.join(tmp_path, "pids.txt")
