"""Find the requested model and the ``stream`` flag of one request (router.md §0 step 2).

GET: the query. ``application/json``: the body's top-level ``model`` and ``stream``
(the body is buffered; it is needed anyway for filters and the proxy's retry).
``multipart/form-data``: the form fields, scanned while the body is spooled.
Anything else: a url-encoded form merged with the query. No model, or a body that
is not valid JSON, is llama-swap's 404 ``no model id could be identified``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from llamaswap.errors import NotFound
from llamaswap.server.body import BufferedBody, RequestBody, SpooledBody
from llamaswap.server.multipart import MultipartScanner, boundary_of

NO_MODEL = "no model id could be identified"


@dataclass(slots=True)
class Extracted:
    """The request's model name as sent (before alias resolution) and its body."""

    model: str
    stream: bool
    body: RequestBody
    json_body: dict[str, Any] | None = None
    """The parsed JSON object, when the body is JSON (filters rewrite it)."""
    model_span: tuple[int, int] | None = None
    """Raw byte span of the multipart ``model`` value (``useModelName``)."""


def parse_json_model(data: bytes) -> tuple[str, bool, dict[str, Any]]:
    """``(model, stream, object)`` from a JSON body; raises the 404 when unusable."""
    try:
        obj = json.loads(data)
    except ValueError:
        raise NotFound(NO_MODEL) from None
    if not isinstance(obj, dict):
        raise NotFound(NO_MODEL)
    model = obj.get("model")
    if not isinstance(model, str) or not model:
        raise NotFound(NO_MODEL)
    return model, obj.get("stream") is True, obj


def is_json(content_type: str) -> bool:
    return "application/json" in content_type.lower()


def stream_flag(value: str | None) -> bool:
    return value == "true"


async def extract(request: web.Request) -> Extracted:
    """Read what routing needs from ``request``; the returned body is forwarded."""
    content_type = request.headers.get("Content-Type", "")
    if request.method in ("GET", "HEAD"):
        model = request.query.get("model", "")
        if not model:
            raise NotFound(NO_MODEL)
        return Extracted(model, stream_flag(request.query.get("stream")), BufferedBody(b""))
    if is_json(content_type):
        data = await request.read()
        model, stream, obj = parse_json_model(data)
        return Extracted(model, stream, BufferedBody(data), json_body=obj)
    if "multipart/form-data" in content_type.lower():
        return await _extract_multipart(request, content_type)
    data = await request.read()
    return _extract_form(request, content_type, data)


def _extract_form(request: web.Request, content_type: str, data: bytes) -> Extracted:
    values: dict[str, list[str]] = {}
    if "application/x-www-form-urlencoded" in content_type.lower():
        values = parse_qs(data.decode("utf-8", errors="replace"))
    model = (values.get("model") or [request.query.get("model", "")])[0]
    if not model:
        raise NotFound(NO_MODEL)
    stream = (values.get("stream") or [request.query.get("stream", "")])[0]
    return Extracted(model, stream_flag(stream), BufferedBody(data))


async def _extract_multipart(request: web.Request, content_type: str) -> Extracted:
    boundary = boundary_of(content_type)
    if boundary is None:
        raise NotFound(NO_MODEL)
    scanner = MultipartScanner(boundary)
    spool = SpooledBody()
    try:
        async for chunk in request.content.iter_any():
            scanner.feed(chunk)
            await spool.write(chunk)
    except BaseException:
        await spool.aclose()
        raise
    model = scanner.fields.values.get("model", "")
    if not model:
        await spool.aclose()
        raise NotFound(NO_MODEL)
    stream = stream_flag(scanner.fields.values.get("stream"))
    return Extracted(model, stream, spool, model_span=scanner.fields.model_span)
