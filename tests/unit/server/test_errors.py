"""Error bodies: one envelope, the status table, and Accept negotiation."""

from __future__ import annotations

import json

import pytest

from llamaswap.server.errors import error_envelope, error_response, error_type_for_status


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, ("invalid_request_error", "bad_request")),
        (401, ("authentication_error", "unauthorized")),
        (403, ("authentication_error", "forbidden")),
        (404, ("invalid_request_error", "not_found")),
        (409, ("invalid_request_error", "conflict")),
        (429, ("rate_limit_error", "rate_limit_exceeded")),
        (502, ("server_error", "bad_gateway")),
        (503, ("server_error", "service_unavailable")),
        (504, ("server_error", "gateway_timeout")),
        (418, ("invalid_request_error", "invalid_request")),
        (500, ("server_error", "internal_error")),
        (507, ("server_error", "internal_error")),
    ],
)
def test_status_table_maps_status_to_type_and_code(status: int, expected: tuple[str, str]) -> None:
    assert error_type_for_status(status) == expected


def test_envelope_has_src_and_null_param() -> None:
    body = json.loads(error_envelope(404, "no router for requested model"))
    assert body == {
        "src": "llama-swap",
        "error": {
            "message": "no router for requested model",
            "type": "invalid_request_error",
            "param": None,
            "code": "not_found",
        },
    }


def test_envelope_code_override_wins() -> None:
    body = json.loads(error_envelope(429, "Too many requests", "concurrency_limit"))
    assert body["error"]["code"] == "concurrency_limit"
    assert body["error"]["type"] == "rate_limit_error"


def test_text_plain_accept_gives_prefixed_text() -> None:
    resp = error_response("text/plain, */*", 500, "unspecific error: boom")
    assert resp.content_type == "text/plain"
    assert resp.body == b"llama-swap: unspecific error: boom"


def test_html_accept_gives_escaped_page() -> None:
    resp = error_response("text/html", 404, "<x>")
    assert resp.content_type == "text/html"
    assert resp.body == b"<html><body><h1>llama-swap</h1><p>&lt;x&gt;</p></body></html>"


def test_text_plain_wins_over_html() -> None:
    resp = error_response("text/html, text/plain", 404, "m")
    assert resp.content_type == "text/plain"


def test_no_accept_gives_json_with_status_and_headers() -> None:
    resp = error_response("", 429, "Too many requests", headers={"Retry-After": "1"})
    assert resp.status == 429
    assert resp.content_type == "application/json"
    assert resp.headers["Retry-After"] == "1"
