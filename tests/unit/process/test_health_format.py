"""Go-style durations in the health-check timeout message, and the probe URL."""

from __future__ import annotations

import pytest

from llamaswap.process.health import go_duration, health_url


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (15, "15s"),
        (120, "2m0s"),
        (90, "1m30s"),
        (3600, "1h0m0s"),
        (3725, "1h2m5s"),
        (1.5, "1.5s"),
        (0.5, "500ms"),
        (0, "0s"),
    ],
)
def test_go_duration_matches_go_time_duration_string(seconds: float, text: str) -> None:
    """The same text Go's time.Duration prints (llama-swap's error wording)."""
    assert go_duration(seconds) == text


def test_health_url_joins_proxy_and_check_endpoint() -> None:
    """Slashes and surrounding whitespace do not double up or go missing."""
    assert health_url("http://127.0.0.1:5800", "/health") == "http://127.0.0.1:5800/health"
    assert health_url("http://127.0.0.1:5800/", " health ") == "http://127.0.0.1:5800/health"
