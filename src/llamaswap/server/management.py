"""Health, the root redirect and the unload endpoints (router.md §2.11)."""

from __future__ import annotations

from aiohttp import web

from llamaswap.errors import NotFound
from llamaswap.server.gojson import json_response
from llamaswap.server.keys import LIVE, ROUTER


async def handle_health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def handle_root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ui")


async def handle_unload_all_legacy(request: web.Request) -> web.Response:
    """``GET /unload``: every local model, each with its own unloadTimeout."""
    await request.app[ROUTER].unload(None)
    return web.Response(text="OK")


async def handle_unload_all(request: web.Request) -> web.Response:
    await request.app[ROUTER].unload(None)
    return json_response({"msg": "ok"})


async def handle_unload_one(request: web.Request) -> web.Response:
    name = request.match_info["model"]
    model_id = request.app[LIVE].config.resolve_model(name)
    router = request.app[ROUTER]
    if model_id is None or not router.handles(model_id):
        raise NotFound("model not found")
    await router.unload([model_id])
    return web.Response(text="OK")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", handle_health)
    app.router.add_get("/wol-health", handle_health)
    app.router.add_get("/", handle_root)
    app.router.add_get("/unload", handle_unload_all_legacy)
    app.router.add_post("/api/models/unload", handle_unload_all)
    app.router.add_post("/api/models/unload/{model:.+}", handle_unload_one)
