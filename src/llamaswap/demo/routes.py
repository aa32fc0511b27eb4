"""HTTP routes of the demo upstream.

Besides the OpenAI surface there are routes that only proxy tests need:
``/echo/...`` (and every unmatched path) describes the request exactly as it arrived,
``/gzip`` sends a pre-compressed body, ``/demo/bytes`` a large one, and
``/demo/stats`` counts requests that finished or were cut by a client disconnect,
and ``/ws`` is a websocket echo (``demo/websocket.py``).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from llamaswap.demo import websocket
from llamaswap.demo.completions import DONE, Completion, embeddings
from llamaswap.demo.options import DemoOptions

_ECHO_BODY_LIMIT = 64 * 1024


@dataclass(slots=True)
class Stats:
    requests: int = 0
    active: int = 0
    completed: int = 0
    cancelled: int = 0


class DemoState:
    """What the handlers share: options, readiness and counters."""

    def __init__(self, opts: DemoOptions) -> None:
        self.opts = opts
        self.ready_after: float | None = None
        self.stats = Stats()


STATE: web.AppKey[DemoState] = web.AppKey("demo_state", DemoState)


def _state(request: web.Request) -> DemoState:
    return request.app[STATE]


def _float_header(request: web.Request, name: str, default: float) -> float:
    value = request.headers.get(name)
    return float(value) if value is not None else default


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError as e:
        raise web.HTTPBadRequest(text=f"invalid JSON body: {e}") from e
    return body if isinstance(body, dict) else {}


async def health(request: web.Request) -> web.Response:
    st = _state(request)
    if st.ready_after is None:
        err = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
        return web.json_response(err, status=503)
    payload = {"status": "ok", "model": st.opts.model_name, "ready_after_s": st.ready_after}
    return web.json_response(payload)


async def models(request: web.Request) -> web.Response:
    name = _state(request).opts.model_name
    entry = {"id": name, "object": "model", "created": 0, "owned_by": "llamaswap-demo"}
    return web.json_response({"object": "list", "data": [entry]})


async def _complete(request: web.Request, *, chat: bool) -> web.StreamResponse:
    st = _state(request)
    body = await _json_body(request)
    delay = _float_header(request, "X-Demo-Delay", st.opts.request_delay)
    interval = _float_header(request, "X-Demo-Interval", st.opts.stream_interval)
    n_default = body.get("max_tokens") if isinstance(body.get("max_tokens"), int) else None
    n = int(_float_header(request, "X-Demo-Chunks", n_default or st.opts.stream_chunks))
    model = body.get("model") if isinstance(body.get("model"), str) else st.opts.model_name
    comp = Completion(chat=chat, model=model or st.opts.model_name, body=body, n_tokens=n)
    t0 = time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    if not body.get("stream"):
        elapsed = (time.monotonic() - t0) * 1000
        return web.json_response(comp.full(elapsed))
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    resp.headers["Cache-Control"] = "no-cache"
    if st.opts.close_after_stream:
        resp.force_close()
    await resp.prepare(request)
    for i, token in enumerate(comp.tokens):
        if i and interval > 0:
            await asyncio.sleep(interval)
        await resp.write(comp.chunk(token))
    await resp.write(comp.last_chunk((time.monotonic() - t0) * 1000))
    await resp.write(DONE)
    await resp.write_eof()
    return resp


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _complete(request, chat=True)


async def completions(request: web.Request) -> web.StreamResponse:
    return await _complete(request, chat=False)


async def embeddings_route(request: web.Request) -> web.Response:
    st = _state(request)
    body = await _json_body(request)
    delay = _float_header(request, "X-Demo-Delay", st.opts.request_delay)
    if delay > 0:
        await asyncio.sleep(delay)
    model = body.get("model") if isinstance(body.get("model"), str) else None
    return web.json_response(embeddings(model or st.opts.model_name, body))


async def echo(request: web.Request) -> web.Response:
    """Describe the request as received: raw path, query, headers, body digest."""
    digest = hashlib.sha256()
    length = 0
    head = bytearray()
    async for chunk in request.content.iter_any():
        digest.update(chunk)
        length += len(chunk)
        if len(head) <= _ECHO_BODY_LIMIT:
            head += chunk
    delay = _float_header(request, "X-Demo-Delay", 0.0)
    if delay > 0:
        await asyncio.sleep(delay)
    raw_path, _, query = request.raw_path.partition("?")
    text: str | None = None
    if length <= _ECHO_BODY_LIMIT:
        try:
            text = bytes(head).decode()
        except UnicodeDecodeError:
            text = None
    return web.json_response(
        {
            "method": request.method,
            "raw_path": request.raw_path,
            "path": raw_path,
            "query": query,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body_sha256": digest.hexdigest(),
            "body_length": length,
            "body_text": text,
        }
    )


async def gzip_body(request: web.Request) -> web.Response:
    """A body sent gzip-encoded as-is; ``X-Demo-Body-Sha256`` is the compressed bytes'."""
    size = int(request.query.get("size", "4096"))
    payload = json.dumps({"model": _state(request).opts.model_name, "data": "x" * size})
    raw = gzip.compress(payload.encode(), mtime=0)
    headers = {
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
        "X-Demo-Body-Sha256": hashlib.sha256(raw).hexdigest(),
    }
    return web.Response(body=raw, headers=headers)


async def many_bytes(request: web.Request) -> web.StreamResponse:
    """``n`` bytes of a repeating pattern, streamed in 64 KiB chunks."""
    n = int(request.query.get("n", "1048576"))
    resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    resp.content_length = n
    await resp.prepare(request)
    block = bytes(range(256)) * 256
    sent = 0
    while sent < n:
        piece = block[: min(len(block), n - sent)]
        await resp.write(piece)
        sent += len(piece)
    await resp.write_eof()
    return resp


async def stats(request: web.Request) -> web.Response:
    s = _state(request).stats
    payload = {
        "requests": s.requests,
        "active": s.active,
        "completed": s.completed,
        "cancelled": s.cancelled,
        "pid": os.getpid(),
    }
    return web.json_response(payload)


@web.middleware
async def count_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Count requests; a client disconnect cancels the handler (handler_cancellation)."""
    st = _state(request)
    counted = request.path != "/demo/stats" and request.path != "/health"
    if counted:
        st.stats.requests += 1
        st.stats.active += 1
    try:
        resp = await handler(request)
    except (asyncio.CancelledError, ConnectionResetError):
        if counted:
            st.stats.cancelled += 1
        raise
    finally:
        if counted:
            st.stats.active -= 1
    if counted:
        st.stats.completed += 1
    return resp


async def _tag_response(request: web.Request, response: web.StreamResponse) -> None:
    """Name the responder on every response, so swap tests can tell upstreams apart."""
    response.headers["X-Demo-Model-Name"] = _state(request).opts.model_name
    response.headers["X-Demo-Pid"] = str(os.getpid())


def build_app(state: DemoState) -> web.Application:
    app = web.Application(middlewares=[count_requests], client_max_size=1024**3)
    app[STATE] = state
    app.on_response_prepare.append(_tag_response)
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
    app.router.add_post("/v1/embeddings", embeddings_route)
    app.router.add_get("/gzip", gzip_body)
    app.router.add_get("/demo/bytes", many_bytes)
    app.router.add_get("/demo/stats", stats)
    websocket.add_routes(app)
    app.router.add_route("*", "/echo/{tail:.*}", echo)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app
