"""``GET /api/version``: the build identity ``-version`` prints, as JSON."""

from __future__ import annotations

from aiohttp import web

from llamaswap.server.gojson import json_response
from llamaswap.version import version_info


async def handle_version(request: web.Request) -> web.Response:
    return json_response(version_info())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/version", handle_version)
