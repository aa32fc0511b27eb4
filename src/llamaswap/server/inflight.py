"""In-flight rows for model-dispatched requests, and ``POST /api/inflight/{id}/cancel``.

:func:`tracked` wraps a local model request from its start (queued requests show) to
its end, in ``finally``; the row's cancel hook cancels the handler's task, which the
scheduler, the loading stream and the proxy already handle as a client that hung up
(the upstream request is aborted). ``on_response_prepare`` publishes the response
header as soon as it goes out (observability.md §8).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

from aiohttp import web

from llamaswap.errors import NotFound
from llamaswap.server.access_log import client_ip
from llamaswap.server.gojson import json_response
from llamaswap.server.keys import BODY_BYTES, INFLIGHT, INFLIGHT_ENTRY

NOT_FOUND = "inflight request not found"
UPSTREAM_PREFIX = "/upstream/"


def tracked_path(request: web.Request, path_qs: str) -> str:
    """The request path as the row shows it; for ``/upstream`` the stripped remainder."""
    if request.path.startswith(UPSTREAM_PREFIX):
        return path_qs.partition("?")[0]
    return request.path


@contextmanager
def tracked(request: web.Request, model_id: str, path_qs: str) -> Iterator[None]:
    """Keep ``request`` in the in-flight table while the block runs."""
    task = asyncio.current_task()
    tracker = request.app[INFLIGHT]
    entry = tracker.start(
        model=model_id,
        req_path=tracked_path(request, path_qs),
        method=request.method,
        headers=request.headers,
        remote_ip=client_ip(request),
        cancel=(lambda: None) if task is None else lambda: _cancel(task),
    )
    request[INFLIGHT_ENTRY] = entry
    try:
        yield
    finally:
        tracker.finish(entry)


def _cancel(task: asyncio.Task[object]) -> None:
    task.cancel()


async def on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
    entry = request.get(INFLIGHT_ENTRY)
    if entry is not None:
        entry.bytes_sent = lambda: int(response.get(BODY_BYTES, 0))
        request.app[INFLIGHT].headers_written(entry, response.headers)


PROGRESS_INTERVAL = 0.25


async def _publish_progress(app: web.Application) -> AsyncIterator[None]:
    """Byte counts of streaming rows reach ``/api/events`` every 250 ms (observability.md
    §8 throttle); the task idles cheaply when nobody listens."""

    async def loop() -> None:
        tracker = app[INFLIGHT]
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            tracker.publish_progress()

    task = asyncio.create_task(loop(), name="inflight-progress")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def handle_cancel(request: web.Request) -> web.Response:
    if not request.app[INFLIGHT].cancel(request.match_info["id"]):
        raise NotFound(NOT_FOUND)
    return json_response({"msg": "ok"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/inflight/{id}/cancel", handle_cancel)
    app.on_response_prepare.append(on_response_prepare)
    app.cleanup_ctx.append(_publish_progress)
