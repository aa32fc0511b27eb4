"""Fixtures for the log endpoints.

``log_stack`` runs llamaswap in-process, wired as the CLI wires it: our ``llamaswap``
loggers write into the proxy monitor, the router's processes into the upstream one,
the app serves all of them, and "stdout" is a list the test can read. ``llamaswap``
(from the end-to-end suite) runs the real CLI for the stdout checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.integration.e2e.conftest import demo_cmd as demo_cmd
from tests.integration.e2e.conftest import llamaswap  # noqa: F401 - the real CLI fixture
from tests.support.stack import StartStack, WiredStack, wired_stacks

LogStack = WiredStack
StartLogStack = StartStack


@pytest.fixture
async def log_stack(tmp_path: Path) -> AsyncIterator[StartLogStack]:
    """Start llamaswap in-process from YAML text (tests/support/stack.py)."""
    async with wired_stacks(tmp_path) as start:
        yield start


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


async def read_until(
    resp: aiohttp.ClientResponse,
    want: bytes,
    *,
    within: float = 10.0,
) -> bytes:
    """Read a streamed body until ``want`` appears; fail with what came after ``within``."""
    seen = b""
    try:
        async with asyncio.timeout(within):
            while want not in seen:
                chunk = await resp.content.readany()
                if not chunk:
                    break
                seen += chunk
    except TimeoutError:
        pass
    assert want in seen, f"{want!r} not streamed within {within}s; got {seen[-2000:]!r}"
    return seen
