"""Reload fixtures: the real CLI with any flags (``-watch-config``, ``-config-dir``).

Builds on the e2e fixture's :class:`Llamaswap` client and teardown (every process this
test's CLI started must be gone afterwards); only the command line differs. Configs are
written by :func:`write_config`, which also moves the file's mtime forward so a stat
poller sees every edit.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from pathlib import Path

import aiohttp
import pytest

from tests.integration.e2e.conftest import (
    OUTPUT_KEY,
    SCRIPT,
    TAG_VAR,
    Llamaswap,
    _stop,
)
from tests.support.ports import free_port
from tests.support.wait import async_wait_until

StartCli = Callable[..., Awaitable[Llamaswap]]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the CLI's output to the report of a failing test."""
    report = yield
    path = item.stash.get(OUTPUT_KEY, None)
    if report.failed and path is not None and path.exists():
        report.sections.append(("llama-swap output", path.read_text(errors="replace")))
    return report


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
    if not SCRIPT.exists():  # pragma: no cover - the dev install always has it
        pytest.skip(f"{SCRIPT} is not installed")
    started: list[Llamaswap] = []
    session = aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=60))

    async def start(*args: str, env: Mapping[str, str] | None = None) -> Llamaswap:
        output = tmp_path / f"llama-swap{len(started)}.log"
        request.node.stash[OUTPUT_KEY] = output
        tag = uuid.uuid4().hex
        environ = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        environ.update(env or {})
        environ[TAG_VAR] = tag
        port = free_port()
        with output.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                str(SCRIPT),
                *args,
                "-listen",
                f"127.0.0.1:{port}",
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environ,
                cwd=tmp_path,
            )
        ls = Llamaswap(f"http://127.0.0.1:{port}", proc, tag, output, session)
        started.append(ls)

        async def healthy() -> bool:
            if proc.returncode is not None:
                raise AssertionError(f"llama-swap exited {proc.returncode}:\n{ls.output()}")
            try:
                async with session.get(ls.url + "/health") as resp:
                    return resp.status == 200
            except aiohttp.ClientError:
                return False

        await async_wait_until(
            healthy,
            timeout=20,
            interval=0.02,
            message=lambda: f"llama-swap never healthy; output:\n{ls.output()}",
        )
        return ls

    try:
        yield start
    finally:
        await session.close()
        problems = [p for ls in started for p in await _stop(ls)]
        if problems:
            outputs = "\n".join(ls.output() for ls in started)
            pytest.fail("; ".join(problems) + f"\noutput:\n{outputs}")
