"""Streamed requests held open across a test: admission is observable as headers.

With ``sendLoadingState`` a streamed chat to a model that is not ready is answered
``200`` the moment the router has admitted and placed it (queued, joined or swapping),
so awaiting the headers orders requests deterministically without sleeping.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp

from .conftest import Llamaswap, chat_body


@dataclass(slots=True)
class Finished:
    model: str
    body: bytes
    finished_at: float


class OpenStreams:
    """Streams opened one after another; :meth:`finish_all` reads them concurrently."""

    def __init__(self, ls: Llamaswap, stack: AsyncExitStack) -> None:
        self._ls = ls
        self._stack = stack
        self.opened: list[tuple[str, aiohttp.ClientResponse]] = []

    async def open(self, model: str, **extra: Any) -> aiohttp.ClientResponse:
        """Send a streamed chat for ``model`` and return once its headers arrived."""
        resp = await self._stack.enter_async_context(
            self._ls.session.post(
                self._ls.url + "/v1/chat/completions", json=chat_body(model, stream=True, **extra)
            )
        )
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        self.opened.append((model, resp))
        return resp

    async def finish_all(self) -> list[Finished]:
        """Read every opened stream to its end; the list is in completion order."""

        async def finish(model: str, resp: aiohttp.ClientResponse) -> Finished:
            body = await resp.read()
            return Finished(model, body, time.monotonic())

        done = await asyncio.gather(*(finish(m, r) for m, r in self.opened))
        return sorted(done, key=lambda f: f.finished_at)


def sse_data(body: bytes) -> list[str]:
    """The ``data:`` payloads of an SSE body, in order."""
    return [
        line[len("data: ") :] for line in body.decode().split("\n") if line.startswith("data: ")
    ]


def reasoning_text(body: bytes) -> str:
    """Everything the loading stream wrote into ``reasoning_content``, joined."""
    text = []
    for data in sse_data(body):
        if data == "[DONE]":
            continue
        for choice in json.loads(data).get("choices", []):
            piece = choice.get("delta", {}).get("reasoning_content")
            if piece is not None:
                text.append(piece)
    return "".join(text)


def content_text(body: bytes) -> str:
    """The upstream's streamed ``content`` deltas, joined."""
    text = []
    for data in sse_data(body):
        if data == "[DONE]":
            continue
        for choice in json.loads(data).get("choices", []):
            piece = choice.get("delta", {}).get("content")
            if piece is not None:
                text.append(piece)
    return "".join(text)
