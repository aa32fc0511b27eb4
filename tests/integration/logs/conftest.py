"""Fixtures for the log endpoints.

``log_stack`` runs llamaswap in-process, wired as the CLI wires it: our ``llamaswap``
loggers write into the proxy monitor, the router's processes into the upstream one,
the app serves all of them, and "stdout" is a list the test can read. ``llamaswap``
(from the end-to-end suite) runs the real CLI for the stdout checks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from llamaswap.config.loader import load_config
from llamaswap.config.schema import Config
from llamaswap.logformat import GoStyleFormatter
from llamaswap.observe.loghandler import MonitorHandler
from llamaswap.observe.logmon import LogMonitors
from llamaswap.router.factory import build_router
from llamaswap.router.local import LocalRouter
from llamaswap.server.app import build_app
from tests.integration.e2e.conftest import demo_cmd as demo_cmd
from tests.integration.e2e.conftest import llamaswap  # noqa: F401 - the real CLI fixture
from tests.support.ports import free_port, free_port_block


@dataclass
class LogStack:
    url: str
    config: Config
    router: LocalRouter
    runner: web.AppRunner
    app: web.Application
    monitors: LogMonitors
    printed: list[bytes] = field(default_factory=list)

    def stdout(self) -> bytes:
        return b"".join(self.printed)


StartLogStack = Callable[[str], Awaitable[LogStack]]


@pytest.fixture
async def log_stack(tmp_path: Path) -> AsyncIterator[StartLogStack]:
    """Start llamaswap from YAML text (``startPort`` is filled in with a free block)."""
    stacks: list[LogStack] = []
    ours = logging.getLogger("llamaswap")
    handlers: list[MonitorHandler] = []
    level = ours.level
    ours.setLevel(logging.INFO)

    async def start(yaml_text: str) -> LogStack:
        path = tmp_path / f"config{len(stacks)}.yaml"
        path.write_text(f"startPort: {free_port_block(16)}\n" + yaml_text)
        config = load_config(str(path)).config
        printed: list[bytes] = []
        monitors = LogMonitors(config.log_to_stdout, stdout=printed.append)
        handler = MonitorHandler(monitors.proxy)
        handler.setFormatter(GoStyleFormatter(""))
        ours.addHandler(handler)
        handlers.append(handler)
        router = build_router(config, upstream_log=monitors.upstream)
        app = build_app(config, router, monitors=monitors)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        stack = LogStack("", config, router, runner, app, monitors, printed)
        stacks.append(stack)
        await router.start()
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        stack.url = f"http://127.0.0.1:{port}"
        return stack

    try:
        yield start
    finally:
        for stack in reversed(stacks):
            if stack.runner.server is not None:  # a test may have shut it down already
                await stack.runner.cleanup()
            await stack.router.shutdown(10)
        for handler in handlers:
            ours.removeHandler(handler)
        ours.setLevel(level)


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
