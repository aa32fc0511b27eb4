"""Pure parts of the access log and API-key reading: Go durations, client IP, key forms."""

from __future__ import annotations

import base64

import pytest
from aiohttp.test_utils import make_mocked_request

from llamaswap.server.access_log import client_ip, go_duration
from llamaswap.server.auth import provided_key


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (999, "999ns"),
        (1_000, "1µs"),
        (1_500, "1.5µs"),
        (1_523_456, "1.523456ms"),
        (20_000_000, "20ms"),
        (1_000_000_000, "1s"),
        (1_500_000_001, "1.500000001s"),
        (61_500_000_000, "1m1.5s"),
        (3_600_000_000_000, "1h0m0s"),
        (3_723_000_000_000, "1h2m3s"),
    ],
)
def test_go_duration_matches_go_time_duration_string(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def test_client_ip_takes_first_forwarded_for_entry_trimmed() -> None:
    req = make_mocked_request("GET", "/", headers={"X-Forwarded-For": " 1.2.3.4 , 5.6.7.8"})
    assert client_ip(req) == "1.2.3.4"


def test_client_ip_falls_back_to_real_ip() -> None:
    req = make_mocked_request("GET", "/", headers={"X-Real-IP": "9.9.9.9"})
    assert client_ip(req) == "9.9.9.9"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"Authorization": "Bearer k1"}, "k1"),
        ({"Authorization": "BEARER k1"}, "k1"),
        ({"Authorization": _basic("u", "k2"), "x-api-key": "k3"}, "k2"),
        ({"Authorization": "Bearer k1", "x-api-key": "k3"}, "k1"),
        ({"x-api-key": "k3"}, "k3"),
        ({"Authorization": _basic("u", ""), "x-api-key": "k3"}, "k3"),
        ({"Authorization": "Basic !!notbase64", "x-api-key": "k3"}, "k3"),
        ({"Authorization": _basic("u", "a:b")}, "a:b"),
        ({}, ""),
    ],
)
def test_provided_key_prefers_basic_then_bearer_then_x_api_key(
    headers: dict[str, str], key: str
) -> None:
    assert provided_key(make_mocked_request("GET", "/", headers=headers)) == key
