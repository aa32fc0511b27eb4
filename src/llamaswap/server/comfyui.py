"""``/comfyui/...``: passthrough to the reserved model ``comfyui_auto`` (features.md §3.5).

ComfyUI is a web app, not an OpenAI server: its page, API and websocket live under
one prefix, which is stripped before forwarding. Only the root ``/comfyui/`` may start
the model; an open ComfyUI tab keeps polling its other paths, and those must not load
it back after an unload. ``comfyui_auto`` always ignores websockets (config load forces
it), so its websocket never starts it either.
"""

from __future__ import annotations

from aiohttp import web

from llamaswap.errors import Conflict, NotFound
from llamaswap.process.state import ProcessState
from llamaswap.router.api import RequestInfo
from llamaswap.server.keys import LIVE, ROUTER
from llamaswap.server.passthrough import read_body
from llamaswap.server.serve import serve, serve_websocket
from llamaswap.server.websocket import is_websocket_upgrade

COMFYUI_MODEL = "comfyui_auto"
PREFIX = "/comfyui"


async def handle_comfyui_redirect(request: web.Request) -> web.StreamResponse:
    query = request.query_string
    location = PREFIX + "/" + (f"?{query}" if query else "")
    if request.method in ("GET", "HEAD"):
        raise web.HTTPMovedPermanently(location)
    raise web.HTTPPermanentRedirect(location)


async def handle_comfyui(request: web.Request) -> web.StreamResponse:
    router = request.app[ROUTER]
    if COMFYUI_MODEL not in request.app[LIVE].config.models or not router.handles(COMFYUI_MODEL):
        raise NotFound(f"local model {COMFYUI_MODEL} not found")
    raw_path, _, query = request.raw_path.partition("?")
    rest = raw_path[len(PREFIX) :]
    if rest != "/" and router.state(COMFYUI_MODEL) is not ProcessState.READY:
        raise Conflict(f"model {COMFYUI_MODEL} is not loaded; only /comfyui/ can start it")
    path_qs = rest + (f"?{query}" if query else "")
    info = RequestInfo(COMFYUI_MODEL, request.path)
    if is_websocket_upgrade(request):
        return await serve_websocket(request, info, path_qs)
    body = await read_body(request)
    return await serve(request, info, body, path_qs)


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", PREFIX, handle_comfyui_redirect)
    app.router.add_route("*", PREFIX + "/{tail:.*}", handle_comfyui)
