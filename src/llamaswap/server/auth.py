"""API keys (features.md §4.8): when ``apiKeys`` is set, every route but a few needs one.

The key may come as ``Authorization: Basic base64(user:KEY)`` (the username is
ignored, so a browser's login prompt works for the UI), ``Authorization: Bearer KEY``
(scheme case-insensitive) or ``x-api-key: KEY``, in that order of precedence. The
client's headers are forwarded to local upstreams unchanged; peers replace them only
when they have their own ``apiKey``. Unregistered paths and wrong methods keep their
404/405, as the Go mux decides those before any middleware runs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from llamaswap.server.errors import error_response

UNAUTHORIZED = "unauthorized: invalid or missing API key"
CHALLENGE = {"WWW-Authenticate": 'Basic realm="llama-swap"'}
OPEN_PATHS = frozenset({"/health", "/wol-health", "/", "/favicon.ico", "/upstream", "/ui"})
"""Paths that never need a key (``/upstream`` and ``/ui`` exact are redirects)."""


def provided_key(headers: web.BaseRequest) -> str:
    """The candidate key of a request: Basic password, else Bearer token, else x-api-key."""
    auth = headers.headers.get("Authorization", "")
    scheme, sep, credentials = auth.partition(" ")
    if sep:
        scheme = scheme.lower()
        if scheme == "basic":
            password = _basic_password(credentials)
            if password:
                return password
        elif scheme == "bearer" and credentials:
            return credentials
    return headers.headers.get("x-api-key", "")


def _basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return ""
    _user, sep, password = decoded.partition(":")
    return password if sep else ""


def unauthorized(request: web.BaseRequest) -> web.Response:
    accept = request.headers.get("Accept", "")
    return error_response(accept, 401, UNAUTHORIZED, headers=dict(CHALLENGE))


def auth_middleware(api_keys: Callable[[], frozenset[str]]) -> Middleware:
    """A middleware that refuses requests without one of ``api_keys()``.

    The keys are read per request (a reload may change them); none means no check.
    It must sit after the CORS preflight (``OPTIONS`` is always open).
    """

    @web.middleware
    async def check_api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        keys = api_keys()
        if (
            not keys
            or request.path in OPEN_PATHS
            or request.match_info.http_exception is not None
            or provided_key(request) in keys
        ):
            return await handler(request)
        return unauthorized(request)

    return check_api_key
