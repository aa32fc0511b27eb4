"""Fixtures for ``/api/events`` and in-flight tests.

``event_stack`` runs llamaswap in-process wired as the CLI wires it (server/runner.py):
one event bus fed by the router's process state changes, our loggers writing into the
proxy monitor, the processes into the upstream one. :class:`SseReader` parses the
stream and waits for a message with a deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.e2e.conftest import demo_cmd as demo_cmd
from tests.support.stack import StartStack, WiredStack, wired_stacks

EventStack = WiredStack
StartEventStack = StartStack


@pytest.fixture
async def event_stack(tmp_path: Path) -> AsyncIterator[StartEventStack]:
    """Start llamaswap in-process from YAML text (tests/support/stack.py)."""
    async with wired_stacks(tmp_path) as start:
        yield start


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
