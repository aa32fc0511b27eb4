"""JSON bytes as Go's encoding/json writes them (server/gojson.py)."""

from __future__ import annotations

import json

from llamaswap.server.gojson import dumps, encode, json_response


def test_output_is_compact_and_keeps_non_ascii_as_utf8() -> None:
    """No spaces after separators; `é` stays UTF-8 as json.Marshal leaves it."""
    assert encode({"a": [1, {"b": "é"}], "c": None}) == '{"a":[1,{"b":"é"}],"c":null}'.encode()


def test_html_characters_and_line_separators_are_escaped_like_go() -> None:
    """json.Marshal writes <, >, &, U+2028 and U+2029 as \\u escapes."""
    text = dumps({"<k>": "a & b </script>\u2028\u2029"})
    assert text == ('{"\\u003ck\\u003e":"a \\u0026 b \\u003c/script\\u003e\\u2028\\u2029"}')
    assert json.loads(text) == {"<k>": "a & b </script>\u2028\u2029"}


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    """A `\\ud800` a client sent cannot be UTF-8; Go decodes it as U+FFFD."""
    assert encode({"m": json.loads('"x\\ud800y"')}) == '{"m":"x\ufffdy"}'.encode()


def test_json_response_has_go_bytes_and_charset() -> None:
    resp = json_response({"msg": "ok"}, status=201, headers={"X-A": "1"})
    assert (resp.status, resp.body) == (201, b'{"msg":"ok"}')
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["X-A"] == "1"
