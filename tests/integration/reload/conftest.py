"""Reload fixtures: the real CLI with any flags (``-watch-config``, ``-config-dir``).

Builds on the e2e fixture's :class:`Llamaswap` client and teardown (every process this
test's CLI started must be gone afterwards); only the command line differs. Configs are
written by :func:`write_config`, which also moves the file's mtime forward so a stat
poller sees every edit.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.integration.e2e.conftest import (
    Llamaswap,
    cli_launcher,
    pytest_runtest_makereport,  # the CLI's output in failing reports, here too
)

StartCli = Callable[..., Awaitable[Llamaswap]]
__all__ = ["pytest_runtest_makereport"]


def write_config(path: Path, text: str) -> None:
    """Write ``text`` and push the mtime 1 s past the previous one (stat pollers)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    after = max(path.stat().st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(after, after))


def pid_of(ls: Llamaswap, model: str) -> int:
    """The PID of the one live demo upstream started for ``model``."""
    found: list[int] = []
    for proc in ls.children():
        argv = proc.cmdline()
        if "--model-name" in argv and argv[argv.index("--model-name") + 1] == model:
            found.append(proc.pid)
    assert len(found) == 1, f"want one upstream for {model}, got {found}"
    return found[0]


@pytest.fixture
async def start_cli(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StartCli]:
    """``await start_cli("-config", path, ..., env={...})``: the CLI on a free port,
    healthy; stopped (and proven child-free) at teardown."""
    async with cli_launcher(request, tmp_path) as launch:
        yield launch
