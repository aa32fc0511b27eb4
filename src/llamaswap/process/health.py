"""Health polling of a starting upstream, on design.md's cold-start schedule.

llama-swap waits 250 ms and then polls once a second; we probe at once, then every
10 ms growing to 50 ms, so a cold start costs at most ~50 ms beyond the upstream's own
time to healthy. Each probe is bounded by min(1 s, time left), so a hanging health
endpoint cannot overshoot the deadline.
"""

from __future__ import annotations

import asyncio

import aiohttp

from llamaswap.process.state import ProcessError

FIRST_INTERVAL = 0.01
MAX_INTERVAL = 0.05
PROBE_TIMEOUT = 1.0


def go_duration(seconds: float) -> str:
    """Format like Go's ``time.Duration.String()``: ``15s``, ``2m0s``, ``1h0m0s``, ``1.5s``."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    total = abs(seconds)
    if total < 1:
        for unit, scale in (("ms", 1e3), ("µs", 1e6), ("ns", 1e9)):
            if total * scale >= 1 or unit == "ns":
                return sign + _trim(total * scale) + unit
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = _trim(secs) + "s"
    if hours:
        return f"{sign}{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{sign}{int(minutes)}m{text}"
    return sign + text


def _trim(value: float) -> str:
    return f"{value:.9f}".rstrip("0").rstrip(".")


def health_url(proxy: str, check_endpoint: str) -> str:
    return proxy.rstrip("/") + "/" + check_endpoint.strip().lstrip("/")


async def wait_healthy(url: str, limit: float) -> None:
    """Return when ``GET url`` answers exactly 200; raise ``ProcessError`` at the deadline.

    Cancel it to abort (the caller watches the child's exit concurrently).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    interval = FIRST_INTERVAL
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise ProcessError(f"health check timed out after {go_duration(limit)}")
            if await _probe(session, url, min(PROBE_TIMEOUT, left)):
                return
            left = deadline - loop.time()
            await asyncio.sleep(max(0.0, min(interval, left)))
            interval = min(MAX_INTERVAL, interval * 1.5)


async def _probe(session: aiohttp.ClientSession, url: str, limit: float) -> bool:
    try:
        async with session.get(
            url, timeout=aiohttp.ClientTimeout(total=limit), allow_redirects=False
        ) as resp:
            return resp.status == 200
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False
