"""CORS preflight (features.md §4.9): every ``OPTIONS`` request, on any path and
before auth or routing, is answered 204 here and never reaches an upstream."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.typedefs import Handler

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
DEFAULT_ALLOW_HEADERS = "Content-Type, Authorization, Accept, X-Requested-With"


def allow_headers(requested: str | None) -> str:
    """The preflight's requested headers with non-token names removed."""
    if not requested:
        return DEFAULT_ALLOW_HEADERS
    names = [h.strip() for h in requested.split(",")]
    return ", ".join(h for h in names if _TOKEN.match(h))


def preflight_response(request: web.BaseRequest) -> web.Response:
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": allow_headers(
                request.headers.get("Access-Control-Request-Headers")
            ),
            "Access-Control-Max-Age": "86400",
        },
    )


@web.middleware
async def cors_preflight_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return preflight_response(request)
    return await handler(request)
