"""Time to the first streamed content event, as a client sees it, over many runs.

One request at a time on a raw connection per run (llama-server closes after every
stream anyway), timing from the request's first byte to the first ``data:`` line
that carries content, so loading text or role-only deltas do not count.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

from benchmarks.stats import Summary, summarize


async def first_event_seconds(url: str, body: dict[str, Any]) -> float:
    """One streamed request: seconds until the first content delta arrived."""
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        started = time.perf_counter()
        writer.write(head + payload)
        while True:
            line = await reader.readline()
            if not line:
                raise RuntimeError("stream ended before any content event")
            if line.startswith(b"data:") and _has_content(line[5:]):
                return time.perf_counter() - started
    finally:
        writer.close()
        await writer.wait_closed()


def _has_content(data: bytes) -> bool:
    text = data.strip()
    if not text.startswith(b"{"):
        return False
    event = json.loads(text)
    choices = event.get("choices") or [{}]
    return bool((choices[0].get("delta") or {}).get("content"))


async def measure(url: str, body: dict[str, Any], runs: int, warmup: int = 10) -> Summary:
    """Sequential runs after a warm-up; milliseconds summarised."""
    for _ in range(warmup):
        await first_event_seconds(url, body)
    samples = [await first_event_seconds(url, body) * 1000 for _ in range(runs)]
    return summarize(samples)
