"""JSON as Go's ``encoding/json`` writes it: compact, with HTML-safe escapes.

llama-swap answers through ``json.Marshal``: no spaces after ``:`` or ``,``, non-ASCII
text kept as UTF-8, and ``<``, ``>``, ``&``, U+2028 and U+2029 written as ``\\u003c``
and friends. Clients that compare bodies byte for byte (or grep them) see the same
bytes from llamaswap. Every JSON body llamaswap itself writes goes through here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

_GO_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
_SURROGATE = re.compile("[\ud800-\udfff]")

CONTENT_TYPE = "application/json; charset=utf-8"


def dumps(obj: Any) -> str:
    """``obj`` as compact JSON text with Go's escapes (they can only occur in strings,
    so replacing them in the whole text is safe)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).translate(_GO_ESCAPES)


def encode(obj: Any) -> bytes:
    """:func:`dumps` as UTF-8; a lone surrogate (from a ``\\ud800`` escape in a client's
    JSON) becomes U+FFFD, as Go decodes it, instead of failing the response."""
    text = dumps(obj)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode()


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """``web.json_response`` with Go's bytes (aiohttp's default has spaces)."""
    resp = web.Response(status=status, body=encode(data), headers=headers)
    resp.headers["Content-Type"] = CONTENT_TYPE
    return resp
