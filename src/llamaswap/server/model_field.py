"""Where a request names its model, and renaming it there (features.md §4.1, §4.2).

A profile pin, a selector and a peer's own model name all change the name a request
carries. The JSON ``model`` is re-serialised; the multipart field is swapped as a byte
span of the spooled body (nothing else is re-encoded); a url-encoded form and the
query string are re-encoded only when they hold a ``model``.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

from llamaswap.errors import BadRequest
from llamaswap.server.body import BufferedBody, SpooledBody
from llamaswap.server.extract import Extracted


def rename_model(ext: Extracted, path_qs: str, content_type: str, name: str) -> str:
    """Make the request name ``name`` wherever it named its model; returns the path."""
    if ext.json_body is not None:
        ext.json_body["model"] = name
        data = json.dumps(ext.json_body, ensure_ascii=False, separators=(",", ":"))
        ext.body = BufferedBody(data.encode())
    elif isinstance(ext.body, SpooledBody):
        if ext.model_span is None:
            raise BadRequest("could not rewrite model in multipart form")
        ext.body.replace(*ext.model_span, name.encode())
    else:
        body = ext.body
        if isinstance(body, BufferedBody) and body.size and is_form(content_type):
            ext.body = BufferedBody(replace_form_model(body.data, name))
        path_qs = replace_query_model(path_qs, name)
    ext.model = name
    return path_qs


def is_form(content_type: str) -> bool:
    return "application/x-www-form-urlencoded" in content_type.lower()


def replace_form_model(data: bytes, model: str) -> bytes:
    """A url-encoded form with every ``model`` value set to ``model``."""
    pairs = parse_qsl(data.decode("utf-8", errors="replace"), keep_blank_values=True)
    if not _names_model(pairs):
        return data
    return urlencode(_with_model(pairs, model)).encode()


def replace_query_model(path_qs: str, model: str) -> str:
    """``path?query`` with every ``model`` query value set to ``model``."""
    path, sep, query = path_qs.partition("?")
    if not sep:
        return path_qs
    pairs = parse_qsl(query, keep_blank_values=True)
    if not _names_model(pairs):
        return path_qs
    return f"{path}?{urlencode(_with_model(pairs, model))}"


def _with_model(pairs: list[tuple[str, str]], model: str) -> list[tuple[str, str]]:
    return [(k, model if k == "model" else v) for k, v in pairs]


def _names_model(pairs: list[tuple[str, str]]) -> bool:
    return any(k == "model" for k, _ in pairs)
