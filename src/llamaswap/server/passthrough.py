"""``/upstream/<model>/<path>``: raw passthrough to one model (router.md §2.14).

Any method; the longest leading path that names a model wins (IDs may contain
``/``); no body rewriting. Paths matching ``upstream.ignorePaths`` never start a model.
"""

from __future__ import annotations

import re

from aiohttp import web

from llamaswap.errors import Conflict, NotFound
from llamaswap.process.state import ProcessState
from llamaswap.router.api import RequestInfo
from llamaswap.server.body import BufferedBody, RequestBody, StreamedBody
from llamaswap.server.keys import CONFIG, IGNORE_PATHS, ROUTER
from llamaswap.server.rewrite import split_upstream_path
from llamaswap.server.serve import serve

PREFIX = "/upstream/"
BUFFER_LIMIT = 1024 * 1024
"""Bodies up to this size are buffered (so the proxy's retry can replay them)."""


def compile_ignore_paths(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p) for p in patterns]


async def _read_body(request: web.Request) -> RequestBody:
    size = request.content_length
    if not request.body_exists:
        return BufferedBody(b"")
    if size is not None and size <= BUFFER_LIMIT:
        return BufferedBody(await request.read())
    return StreamedBody(request.content, size)


async def handle_upstream(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    raw_path, _, query = request.raw_path.partition("?")
    target = split_upstream_path(config, raw_path[len(PREFIX) :])
    if target is None or not request.app[ROUTER].handles(target.resolved.model_id):
        raise NotFound("model not found")
    model_id = target.resolved.model_id
    if not target.rest:
        location = raw_path + "/" + (f"?{query}" if query else "")
        if request.method in ("GET", "HEAD"):
            raise web.HTTPMovedPermanently(location)
        raise web.HTTPPermanentRedirect(location)
    rest_path = target.rest
    if any(p.search(rest_path) for p in request.app[IGNORE_PATHS]) and (
        request.app[ROUTER].state(model_id) is not ProcessState.READY
    ):
        raise Conflict(f"model {model_id} is not loaded; path matches upstream.ignorePaths")
    body = await _read_body(request)
    info = RequestInfo(model_id, request.path, target.resolved.profile)
    return await serve(request, info, body, rest_path + (f"?{query}" if query else ""))


async def handle_upstream_root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/models")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/upstream", handle_upstream_root)
    app.router.add_route("*", "/upstream/{tail:.*}", handle_upstream)
