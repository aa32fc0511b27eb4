"""The access log (observability.md §3.3): one INFO line per request, when it ends.

``Request <clientIP> "<METHOD> <path> <proto>" <status> <bytes> "<UA>" <duration>``,
with the path as received and a Go-style duration (``1.523ms``). Frequently polled
paths are skipped. A client that hangs up before any response started is logged as
499 (nginx's "client closed request"); one that hangs up mid-stream keeps the status
it got and the bytes sent so far. Nothing here touches a body: byte counts come from
the response (``Content-Length``, a ``web.Response`` body, or ``BODY_BYTES`` kept by
the streaming copies).
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from llamaswap.server.keys import BODY_BYTES

log = logging.getLogger("llamaswap.access")

SKIP_PREFIXES = ("/wol-health", "/api/performance", "/metrics")
CLIENT_CLOSED = 499
_RESPONSE = web.RequestKey("access_log_response", web.StreamResponse)


def go_duration(ns: int) -> str:
    """Render nanoseconds as Go's ``time.Duration.String`` does (``1.5ms``, ``2m3.5s``)."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 1_000, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 1_000_000, 6)}ms"
    seconds = _fraction(ns % 60_000_000_000, 1_000_000_000, 9) + "s"
    minutes_total = ns // 60_000_000_000
    if minutes_total == 0:
        return sign + seconds
    hours, minutes = divmod(minutes_total, 60)
    if hours == 0:
        return f"{sign}{minutes}m{seconds}"
    return f"{sign}{hours}h{minutes}m{seconds}"


def _fraction(value: int, unit: int, digits: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def client_ip(request: web.BaseRequest) -> str:
    """First ``X-Forwarded-For`` entry, else ``X-Real-IP``, else the peer address."""
    headers = request.headers
    forwarded = headers.get("X-Forwarded-For")
    if forwarded:
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first
    real = headers.get("X-Real-IP")
    if real:
        return real.strip()
    return request.remote or ""


def body_bytes(resp: web.StreamResponse) -> int:
    counted = resp.get(BODY_BYTES)
    if counted is not None:
        return int(counted)
    if isinstance(resp, web.Response):
        body = resp.body
        if isinstance(body, bytes | bytearray):
            return len(body)
    return resp.content_length or 0


async def remember_response(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: keep the response, so a cancelled handler's line still
    shows the status and bytes the client got."""
    request[_RESPONSE] = response


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path.startswith(SKIP_PREFIXES) or not log.isEnabledFor(logging.INFO):
        return await handler(request)
    start = time.perf_counter_ns()
    status = 500
    resp: web.StreamResponse | None = None
    try:
        resp = await handler(request)
        status = resp.status
        return resp
    except web.HTTPException as exc:
        resp, status = exc, exc.status
        raise
    except (asyncio.CancelledError, ConnectionError):
        resp = request.get(_RESPONSE)
        status = resp.status if resp is not None else CLIENT_CLOSED
        raise
    finally:
        version = request.version
        log.info(
            'Request %s "%s %s HTTP/%d.%d" %d %d "%s" %s',
            client_ip(request),
            request.method,
            path,
            version.major,
            version.minor,
            status,
            body_bytes(resp) if resp is not None else 0,
            request.headers.get("User-Agent", ""),
            go_duration(time.perf_counter_ns() - start),
        )
