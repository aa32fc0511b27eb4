"""The one builder of llama-swap error bodies, and the middleware that renders them.

Every error llamaswap itself answers goes through :func:`error_response`: the JSON
envelope ``{"src":"llama-swap","error":{...}}`` with router.md §0's status table, or
``text/plain`` / a tiny HTML page when ``Accept`` asks for it. Errors returned by an
upstream are never touched. Deviation 8: unregistered paths get the envelope too.
"""

from __future__ import annotations

import html
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from llamaswap.errors import LlamaSwapError
from llamaswap.server import gojson

log = logging.getLogger(__name__)

_STATUS_TABLE: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "unauthorized"),
    403: ("authentication_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    409: ("invalid_request_error", "conflict"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "gateway_timeout"),
}

PAGE_NOT_FOUND = "404 page not found"


def error_type_for_status(status: int) -> tuple[str, str]:
    """``(type, code)`` for an HTTP status (router.md §0)."""
    if status in _STATUS_TABLE:
        return _STATUS_TABLE[status]
    if 400 <= status < 500:
        return ("invalid_request_error", "invalid_request")
    return ("server_error", "internal_error")


def error_object(status: int, message: str, code: str | None = None) -> dict[str, object]:
    """The inner ``error`` object: message, type, param, code."""
    err_type, default_code = error_type_for_status(status)
    return {"message": message, "type": err_type, "param": None, "code": code or default_code}


def error_envelope(status: int, message: str, code: str | None = None) -> bytes:
    body = {"src": "llama-swap", "error": error_object(status, message, code)}
    return gojson.encode(body)


def error_response(
    accept: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Render one error by ``Accept``: text/plain, then text/html, else JSON."""
    if "text/plain" in accept:
        body = f"llama-swap: {message}".encode()
        content_type = "text/plain; charset=utf-8"
    elif "text/html" in accept:
        body = (
            f"<html><body><h1>llama-swap</h1><p>{html.escape(message)}</p></body></html>"
        ).encode()
        content_type = "text/html; charset=utf-8"
    else:
        body = error_envelope(status, message, code)
        content_type = "application/json"
    resp = web.Response(status=status, body=body, headers=headers)
    resp.headers["Content-Type"] = content_type
    return resp


def render_error(request: web.BaseRequest, err: LlamaSwapError) -> web.Response:
    """Render a :class:`LlamaSwapError` for ``request``; a 429 is always JSON."""
    accept = "" if err.status == 429 else request.headers.get("Accept", "")
    return error_response(accept, err.status, err.message, code=err.code, headers=err.headers)


def _render_http_exception(request: web.BaseRequest, exc: web.HTTPException) -> web.Response:
    message = PAGE_NOT_FOUND if exc.status == 404 else exc.reason
    headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "location")}
    return error_response(request.headers.get("Accept", ""), exc.status, message, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn raised ``LlamaSwapError``s and aiohttp's 404/405 into llama-swap bodies.

    Redirects and other non-error ``HTTPException``s pass through unchanged.
    """
    try:
        return await handler(request)
    except LlamaSwapError as err:
        return render_error(request, err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _render_http_exception(request, exc)
