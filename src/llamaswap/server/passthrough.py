"""``/upstream/<model>/<path>``: raw passthrough to one model (router.md §2.14).

Any method; an active profile's longest matching pin is rewritten in the path first,
then the longest leading path that names a local or peer model wins (IDs may
contain ``/``); no body rewriting, and selectors do not apply. Paths matching
``upstream.ignorePaths`` never start a model. WebSocket upgrades are relayed
(``compat.ignoreWebsockets`` bypasses the scheduler); peer models are proxied to
the peer without any scheduling.
"""

from __future__ import annotations

import re

from aiohttp import web

from llamaswap.errors import Conflict, NotFound
from llamaswap.process.state import ProcessState
from llamaswap.router.api import RequestInfo
from llamaswap.server.body import BufferedBody, RequestBody, StreamedBody
from llamaswap.server.extract import NO_MODEL
from llamaswap.server.keys import LIVE, PEER_CLIENTS, ROUTER, WEBSOCKETS
from llamaswap.server.peer_routes import PeerPathTarget
from llamaswap.server.peers import forward_to_peer, peer_headers, peer_url
from llamaswap.server.rewrite import UpstreamTarget, split_upstream_path
from llamaswap.server.serve import serve, serve_websocket
from llamaswap.server.websocket import is_websocket_upgrade, proxy_websocket

PREFIX = "/upstream/"
BUFFER_LIMIT = 1024 * 1024
"""Bodies up to this size are buffered (so the proxy's retry can replay them)."""


def compile_ignore_paths(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p) for p in patterns]


async def read_body(request: web.Request) -> RequestBody:
    """The client's body as it will be forwarded untouched."""
    size = request.content_length
    if not request.body_exists:
        return BufferedBody(b"")
    if size is not None and size <= BUFFER_LIMIT:
        return BufferedBody(await request.read())
    return StreamedBody(request.content, size)


def _target(request: web.Request, tail: str) -> UpstreamTarget | PeerPathTarget | None:
    """The longer of the local and the peer match (a tie goes to the local model)."""
    local = split_upstream_path(request.app[LIVE].config, tail)
    if local is not None and not request.app[ROUTER].handles(local.resolved.model_id):
        local = None
    peer = request.app[LIVE].peers.split_path(tail)
    if peer is None:
        return local
    if local is None or len(peer.rest) < len(local.rest):
        return peer
    return local


async def handle_upstream(request: web.Request) -> web.StreamResponse:
    raw_path, _, query = request.raw_path.partition("?")
    tail = raw_path[len(PREFIX) :]
    profiles = request.app[LIVE].profiles
    if profiles.active is not None:
        pinned = profiles.rewrite_upstream_tail(tail)
        if pinned == "":
            raise NotFound(NO_MODEL)
        tail = tail if pinned is None else pinned
    target = _target(request, tail)
    if target is None:
        raise NotFound("model not found")
    if not target.rest:
        location = raw_path + "/" + (f"?{query}" if query else "")
        if request.method in ("GET", "HEAD"):
            raise web.HTTPMovedPermanently(location)
        raise web.HTTPPermanentRedirect(location)
    path_qs = target.rest + (f"?{query}" if query else "")
    if isinstance(target, PeerPathTarget):
        return await _to_peer(request, target, path_qs)
    model_id = target.resolved.model_id
    if any(p.search(target.rest) for p in request.app[LIVE].ignore_paths) and (
        request.app[ROUTER].state(model_id) is not ProcessState.READY
    ):
        raise Conflict(f"model {model_id} is not loaded; path matches upstream.ignorePaths")
    info = RequestInfo(model_id, request.path, target.resolved.profile)
    if is_websocket_upgrade(request):
        return await serve_websocket(request, info, path_qs)
    body = await read_body(request)
    return await serve(request, info, body, path_qs)


async def _to_peer(
    request: web.Request, target: PeerPathTarget, path_qs: str
) -> web.StreamResponse:
    clients = request.app[PEER_CLIENTS]
    route = target.route
    if is_websocket_upgrade(request):
        clients.check_open()
        return await proxy_websocket(
            request,
            clients.session(route.peer_id),
            peer_url(route, path_qs),
            request.app[WEBSOCKETS],
            headers=peer_headers(request, BufferedBody(b""), route),
        )
    body = await read_body(request)
    return await forward_to_peer(request, clients, route, body, path_qs)


async def handle_upstream_root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/models")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/upstream", handle_upstream_root)
    app.router.add_route("*", "/upstream/{tail:.*}", handle_upstream)
