"""Start the demo upstream as a real subprocess on a free port; always stop it."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from tests.support.ports import free_port
from tests.support.wait import async_wait_until

StartDemo = Callable[..., Awaitable[str]]


async def _listening(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as s, s.get(url + "/demo/stats") as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


@pytest.fixture
async def start_demo() -> AsyncIterator[StartDemo]:
    """``await start_demo(*switches)`` -> base URL once it listens."""
    procs: list[asyncio.subprocess.Process] = []

    async def start(*switches: str) -> str:
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "llamaswap.demo",
            "--port",
            str(port),
            *switches,
            stdout=asyncio.subprocess.DEVNULL,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        await async_wait_until(lambda: _listening(url), timeout=20)
        return url

    try:
        yield start
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
