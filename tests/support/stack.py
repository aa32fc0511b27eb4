"""llamaswap run in-process, wired as the CLI wires it (server/runner.py).

One event bus fed by the router's process state changes, our ``llamaswap`` loggers
writing into the proxy log monitor, the processes into the upstream one, and "stdout" a
list the test can read. Used by the log and event tests, which need the app's objects
as well as its HTTP port.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from llamaswap.config.loader import load_config
from llamaswap.config.schema import Config
from llamaswap.logformat import GoStyleFormatter
from llamaswap.observe.events import EventBus
from llamaswap.observe.loghandler import MonitorHandler
from llamaswap.observe.logmon import LogMonitors
from llamaswap.router.factory import build_router
from llamaswap.router.local import LocalRouter
from llamaswap.server.app import build_app
from tests.support.ports import free_port, free_port_block


@dataclass
class WiredStack:
    url: str
    path: Path
    config: Config
    router: LocalRouter
    runner: web.AppRunner
    app: web.Application
    monitors: LogMonitors
    bus: EventBus
    printed: list[bytes] = field(default_factory=list)

    def stdout(self) -> bytes:
        """What llamaswap would have printed on its stdout."""
        return b"".join(self.printed)


StartStack = Callable[[str], Awaitable[WiredStack]]


@contextlib.asynccontextmanager
async def wired_stacks(tmp_path: Path) -> AsyncIterator[StartStack]:
    """``await start(yaml_text)`` (``startPort`` filled in with a free block); every
    stack started is shut down, and our log handlers removed, on exit."""
    stacks: list[WiredStack] = []
    ours = logging.getLogger("llamaswap")
    handlers: list[MonitorHandler] = []
    level = ours.level
    ours.setLevel(logging.INFO)

    async def start(yaml_text: str) -> WiredStack:
        path = tmp_path / f"config{len(stacks)}.yaml"
        path.write_text(f"startPort: {free_port_block(16)}\n" + yaml_text)
        config = load_config(str(path)).config
        printed: list[bytes] = []
        monitors = LogMonitors(config.log_to_stdout, stdout=printed.append)
        handler = MonitorHandler(monitors.proxy)
        handler.setFormatter(GoStyleFormatter(""))
        ours.addHandler(handler)
        handlers.append(handler)
        bus = EventBus()
        router = build_router(
            config, on_process_state=bus.process_state_callback(), upstream_log=monitors.upstream
        )
        app = build_app(config, router, monitors=monitors, bus=bus)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        stack = WiredStack("", path, config, router, runner, app, monitors, bus, printed)
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
