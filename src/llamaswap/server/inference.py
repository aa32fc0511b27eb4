"""The model-dispatched routes of features.md §3.2 (router.md §0).

Each route extracts the model, applies an active profile pin and a selector
(``virtual_names.py``), resolves it (aliases, legacy profile slugs), applies
the body rewrites and hands the request to :func:`serve`; names that are not local
go to a peer (``peers.py``), else 404. The ``/v/...`` twins and ``/audioapi`` strip
their prefix before forwarding.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from llamaswap.errors import NotFound
from llamaswap.router.api import RequestInfo
from llamaswap.server.body import BufferedBody, RequestBody, SpooledBody
from llamaswap.server.extract import Extracted, extract
from llamaswap.server.keys import LIVE, PEER_CLIENTS, ROUTER
from llamaswap.server.peers import forward_to_peer, rewrite_for_peer
from llamaswap.server.rewrite import Resolved, resolve_name, rewrite_json
from llamaswap.server.selectors import Choice
from llamaswap.server.serve import serve
from llamaswap.server.virtual_names import in_use, resolve_virtual

LOADING_STATE_PATH = "/v1/chat/completions"
NO_ROUTER = "no router for requested model"

JSON_POST_PATHS = (
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/completions",
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/embeddings",
    "/reranking",
    "/rerank",
    "/v1/rerank",
    "/v1/reranking",
    "/infill",
    "/completion",
    "/v1/audio/speech",
    "/v1/audio/voices",
    "/v1/images/generations",
    "/sdapi/v1/txt2img",
    "/sdapi/v1/img2img",
)
MULTIPART_POST_PATHS = ("/v1/audio/transcriptions", "/v1/images/edits")
QUERY_GET_PATHS = ("/v1/audio/voices", "/sdapi/v1/loras", "/props")
VERSIONLESS_PATHS = tuple(
    "/v/" + p
    for p in (
        "chat/completions",
        "responses",
        "completions",
        "messages",
        "messages/count_tokens",
        "embeddings",
        "rerank",
        "reranking",
    )
)
AUDIOAPI_PATH = "/audioapi/v1/tasks/run"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _rewrite_body(request: web.Request, ext: Extracted, resolved: Resolved) -> RequestBody:
    model = request.app[LIVE].config.models[resolved.model_id]
    if ext.json_body is not None:
        data = rewrite_json(model, resolved, ext.json_body)
        return ext.body if data is None else BufferedBody(data)
    if (
        resolved.forward_name is not None
        and ext.model_span is not None
        and isinstance(ext.body, SpooledBody)
    ):
        ext.body.replace(*ext.model_span, resolved.forward_name.encode())
    return ext.body


async def _dispatch(request: web.Request, strip_prefix: str) -> web.StreamResponse:
    arrived = time.monotonic()
    config = request.app[LIVE].config
    ext = await extract(request)
    choice: Choice | None = None
    try:
        path_qs = request.raw_path[len(strip_prefix) :]
        if in_use(request.app):
            path_qs, choice = resolve_virtual(request, ext, path_qs)
        resolved = resolve_name(config, ext.model)
        if resolved is None or not request.app[ROUTER].handles(resolved.model_id):
            return await _dispatch_peer(request, ext, path_qs)
        body = _rewrite_body(request, ext, resolved)
        info = RequestInfo(resolved.model_id, request.path, resolved.profile)
        loading_state = (
            ext.stream
            and request.path == LOADING_STATE_PATH
            and config.effective_send_loading_state(resolved.model_id)
        )
        return await serve(
            request,
            info,
            body,
            path_qs,
            loading_state=loading_state,
            arrived=arrived,
            streaming=ext.stream,
        )
    finally:
        if choice is not None:
            choice.release()
        await ext.body.aclose()


async def _dispatch_peer(request: web.Request, ext: Extracted, path_qs: str) -> web.StreamResponse:
    """Not a local model: a peer's, else llama-swap's 404 ``no router for requested model``."""
    route = request.app[LIVE].peers.resolve(ext.model)
    if route is None:
        raise NotFound(NO_ROUTER)
    content_type = request.headers.get("Content-Type", "")
    body, path_qs = rewrite_for_peer(ext, route, path_qs, content_type)
    try:
        return await forward_to_peer(request, request.app[PEER_CLIENTS], route, body, path_qs)
    finally:
        if body is not ext.body:
            await body.aclose()


async def handle_model_route(request: web.Request) -> web.StreamResponse:
    return await _dispatch(request, "")


async def handle_versionless(request: web.Request) -> web.StreamResponse:
    return await _dispatch(request, "/v")


async def handle_audioapi(request: web.Request) -> web.StreamResponse:
    return await _dispatch(request, "/audioapi")


def add_routes(app: web.Application) -> None:
    for path in (*JSON_POST_PATHS, *MULTIPART_POST_PATHS):
        app.router.add_post(path, handle_model_route)
    for path in QUERY_GET_PATHS:
        app.router.add_get(path, handle_model_route)
    for path in VERSIONLESS_PATHS:
        app.router.add_post(path, handle_versionless)
    app.router.add_post(AUDIOAPI_PATH, handle_audioapi)
