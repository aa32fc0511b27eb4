"""Fixtures for ``/api/events`` and in-flight tests.

``event_stack`` runs llamaswap in-process wired as the CLI wires it (server/runner.py):
one event bus fed by the router's process state changes, our loggers writing into the
proxy monitor, the processes into the upstream one. :class:`SseReader` parses the
stream and waits for a message with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
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
from tests.integration.e2e.conftest import demo_cmd as demo_cmd
from tests.support.ports import free_port, free_port_block


@dataclass
class EventStack:
    url: str
    path: Path
    config: Config
    router: LocalRouter
    runner: web.AppRunner
    app: web.Application
    monitors: LogMonitors
    bus: EventBus


StartEventStack = Callable[[str], Awaitable[EventStack]]


@pytest.fixture
async def event_stack(tmp_path: Path) -> AsyncIterator[StartEventStack]:
    """Start llamaswap from YAML text (``startPort`` is filled in with a free block)."""
    stacks: list[EventStack] = []
    ours = logging.getLogger("llamaswap")
    handlers: list[MonitorHandler] = []
    level = ours.level
    ours.setLevel(logging.INFO)

    async def start(yaml_text: str) -> EventStack:
        path = tmp_path / f"config{len(stacks)}.yaml"
        path.write_text(f"startPort: {free_port_block(16)}\n" + yaml_text)
        config = load_config(str(path)).config
        monitors = LogMonitors(config.log_to_stdout, stdout=None)
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
        stack = EventStack("", path, config, router, runner, app, monitors, bus)
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


@dataclass(frozen=True, slots=True)
class Message:
    type: str
    data: Any
    """The payload, decoded from the envelope's JSON string."""


class SseReader:
    """Parses llama-swap's ``event:message`` / ``data:`` framing from a response."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.seen: list[Message] = []

    async def next(self) -> Message | None:
        """The next message; None at the end of the stream."""
        event, data = "", ""
        while True:
            raw = await self._resp.content.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line[len("event:") :]
            elif line.startswith("data:"):
                data = line[len("data:") :]
            elif line == "" and data:
                assert event == "message", f"SSE event name {event!r}, want 'message'"
                envelope = json.loads(data)
                assert isinstance(envelope["data"], str), "payload must be a JSON string"
                msg = Message(envelope["type"], json.loads(envelope["data"]))
                self.seen.append(msg)
                return msg

    async def wait_for(
        self, predicate: Callable[[Message], bool], *, within: float = 15.0
    ) -> Message:
        """Read until a message matches; fail with the types seen after ``within``."""
        try:
            async with asyncio.timeout(within):
                while (msg := await self.next()) is not None:
                    if predicate(msg):
                        return msg
        except TimeoutError:
            pass
        types = [m.type for m in self.seen[-30:]]
        raise AssertionError(f"no matching message within {within}s; last types seen: {types}")


def model_state(msg: Message, model_id: str) -> str | None:
    """The state a ``modelStatus`` message gives ``model_id`` (None: other message)."""
    if msg.type != "modelStatus":
        return None
    for entry in msg.data:
        if entry["id"] == model_id:
            return str(entry["state"])
    return None
