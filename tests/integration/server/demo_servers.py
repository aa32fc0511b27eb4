"""Demo upstreams started by the test itself (peers are not llamaswap's processes).

``start_demo(name)`` runs ``python -m llamaswap.demo`` on a free loopback port and
returns once ``/health`` answers 200; every server is killed (its whole process group)
in teardown, also when the test fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest

from tests.integration.server.conftest import REPO
from tests.support.ports import free_port
from tests.support.wait import async_wait_until


@dataclass(frozen=True, slots=True)
class Demo:
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


StartDemo = Callable[..., Awaitable[Demo]]


@pytest.fixture(name="start_demo")
async def start_demo_fixture() -> AsyncIterator[StartDemo]:
    """Import ``start_demo_fixture`` into a test module to use ``start_demo``."""
    procs: list[asyncio.subprocess.Process] = []
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1))

    async def healthy(proc: asyncio.subprocess.Process, port: int) -> bool:
        if proc.returncode is not None:
            return False
        try:
            async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def start(name: str, *switches: str) -> Demo:
        port = free_port()
        cmd = [sys.executable, "-m", "llamaswap.demo", "--port", str(port), "--model-name", name]
        proc = await asyncio.create_subprocess_exec(
            *cmd, *switches, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL
        )
        procs.append(proc)
        await async_wait_until(
            lambda: healthy(proc, port),
            timeout=20,
            message=lambda: f"demo {name} not healthy on {port} (exit={proc.returncode})",
        )
        return Demo(name, port)

    try:
        yield start
    finally:
        await session.close()
        for proc in procs:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
            async with asyncio.timeout(10):
                await proc.wait()
