"""Reading server-sent events the way an OpenAI client does: ``data:`` payloads in order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class Stream:
    """Everything one SSE response carried, decoded."""

    status: int
    headers: dict[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    """Whether ``data: [DONE]`` arrived."""

    def reasoning(self) -> str:
        """Concatenated ``delta.reasoning_content`` (llamaswap's loading text)."""
        return "".join(_delta(e).get("reasoning_content") or "" for e in self.events)

    def content(self) -> str:
        return "".join(_delta(e).get("content") or "" for e in self.events)

    def content_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events if _delta(e).get("content")]

    def kinds(self) -> list[str]:
        """Per event: ``reasoning``, ``content`` or ``other``, to check their order."""
        return [
            "reasoning"
            if _delta(e).get("reasoning_content")
            else "content"
            if _delta(e).get("content")
            else "other"
            for e in self.events
        ]

    def final(self) -> dict[str, Any]:
        """The last JSON event (llama-server puts ``usage`` and ``timings`` there)."""
        assert self.events, "stream carried no events"
        return self.events[-1]


def _delta(event: dict[str, Any]) -> dict[str, Any]:
    choices = event.get("choices") or [{}]
    delta: dict[str, Any] = choices[0].get("delta") or {}
    return delta


async def read_stream(resp: aiohttp.ClientResponse) -> Stream:
    """Read the whole response; fail on a ``data:`` line that is neither JSON nor [DONE]."""
    stream = Stream(status=resp.status, headers=dict(resp.headers))
    async for raw in resp.content:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line.startswith("data:"):
            continue
        payload = line[len("data:") :].strip()
        if payload == "[DONE]":
            stream.done = True
            continue
        assert not stream.done, f"event after [DONE]: {payload}"
        stream.events.append(json.loads(payload))
    return stream
