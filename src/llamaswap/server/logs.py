"""``/logs`` and ``/logs/stream[/<logger>]``: history and live tail of the log monitors.

observability.md §3.4. ``/logs`` is the combined monitor's history (what also goes to
stdout). A stream writes the chosen monitor's history (unless ``?no-history``), then
each live chunk as it arrives, until the client hangs up or the server shuts down.
The live side is a lossy subscription (process/logs.py): a reader that cannot keep up
misses chunks and is told how many bytes, so it never holds up a model's output or
the event loop. Streams register in :class:`LogStreams` so ``on_shutdown`` ends them
instead of waiting out the shutdown timeout.
"""

from __future__ import annotations

from aiohttp import web

from llamaswap.errors import BadRequest
from llamaswap.observe.logmon import LogMonitors
from llamaswap.process.logs import LogBuffer, LogSubscription
from llamaswap.server.keys import BODY_BYTES, LIVE, LOG_MONITORS, LOG_STREAMS, ROUTER

INVALID_LOGGER = "invalid logger. Use 'proxy', 'upstream' or a model's ID"
NO_HISTORY = "no-history"
STREAM_CHUNKS = 64
"""Live chunks one stream may have queued before it starts dropping."""
STREAM_HEADERS = {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "X-Accel-Buffering": "no",
}


class LogStreams:
    """The live ``/logs/stream*`` subscriptions, so shutdown can end them."""

    def __init__(self) -> None:
        self._live: dict[LogSubscription, LogBuffer] = {}
        self._closing = False

    def __len__(self) -> int:
        return len(self._live)

    def open(self, buffer: LogBuffer) -> LogSubscription:
        """Subscribe to ``buffer``; already closed when the server is shutting down."""
        sub = buffer.subscribe(STREAM_CHUNKS)
        if self._closing:
            buffer.unsubscribe(sub)
        else:
            self._live[sub] = buffer
        return sub

    def close(self, sub: LogSubscription) -> None:
        buffer = self._live.pop(sub, None)
        if buffer is not None:
            buffer.unsubscribe(sub)

    def close_all(self) -> None:
        self._closing = True
        for sub in list(self._live):
            self.close(sub)


def select_log(app: web.Application, name: str) -> LogBuffer:
    """The monitor ``/logs/stream/<name>`` names: none, ``proxy``, ``upstream``, or the
    longest leading run of path segments that is a local model ID or alias."""
    monitors = app[LOG_MONITORS]
    if name == "":
        return monitors.combined
    if name == "proxy":
        return monitors.proxy
    if name == "upstream":
        return monitors.upstream
    config, router = app[LIVE].config, app[ROUTER]
    segments = name.split("/")
    for k in range(len(segments), 0, -1):
        model_id = config.resolve_model("/".join(segments[:k]))
        if model_id is not None and router.handles(model_id):
            return router.logs(model_id)
    raise BadRequest(INVALID_LOGGER)


async def handle_logs(request: web.Request) -> web.Response:
    if "text/html" in request.headers.get("Accept", ""):
        raise web.HTTPFound("/ui/")
    history = request.app[LOG_MONITORS].combined.history()
    return web.Response(body=history, headers={"Content-Type": STREAM_HEADERS["Content-Type"]})


async def handle_stream(request: web.Request) -> web.StreamResponse:
    buffer = select_log(request.app, request.match_info.get("logger", ""))
    streams = request.app[LOG_STREAMS]
    resp = web.StreamResponse(headers=STREAM_HEADERS)
    resp.enable_chunked_encoding()
    # Subscribe and take the history with no await between: no gap, no repeat.
    sub = streams.open(buffer)
    history = b"" if NO_HISTORY in request.query else buffer.history()
    written = 0
    try:
        await resp.prepare(request)  # a StreamResponse sends its headers at once
        if history:
            await resp.write(history)
            written += len(history)
            resp[BODY_BYTES] = written
        while (chunk := await sub.get()) is not None:
            pending = [chunk]
            while (more := sub.get_nowait()) is not None:
                pending.append(more)
            data = b"".join(pending)
            await resp.write(data)
            written += len(data)
            resp[BODY_BYTES] = written
        await resp.write_eof()
    finally:
        streams.close(sub)
    return resp


async def _end_streams(app: web.Application) -> None:
    app[LOG_STREAMS].close_all()


def setup(app: web.Application, monitors: LogMonitors) -> None:
    """Routes, state and the shutdown hook of the log endpoints."""
    app[LOG_MONITORS] = monitors
    app[LOG_STREAMS] = LogStreams()
    app.router.add_get("/logs", handle_logs)
    # No HEAD: it would hold a handler open with nothing to send.
    app.router.add_get("/logs/stream", handle_stream, allow_head=False)
    app.router.add_get("/logs/stream/{logger:.*}", handle_stream, allow_head=False)
    app.on_shutdown.append(_end_streams)
