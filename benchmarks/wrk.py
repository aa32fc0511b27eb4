"""Driving Debian's ``wrk`` with a POST body and reading its percentiles back as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_MARK = "WRK_JSON "

_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{mark}{{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
    .. '"mean_us":%.1f,"socket_errors":%d,"bad_status":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class WrkResult:
    connections: int
    requests: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    socket_errors: int
    bad_status: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")


def run_wrk(
    url: str, body: dict[str, Any], *, connections: int, duration: float, threads: int = 1
) -> WrkResult:
    """POST ``body`` to ``url`` for ``duration`` seconds over ``connections`` connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_SCRIPT.format(body=json.dumps(body), mark=_MARK))
        script = Path(f.name)
    try:
        argv = [
            "wrk", "-t", str(min(threads, connections)), "-c", str(connections),
            "-d", f"{max(1, round(duration))}s", "--timeout", "30s", "-s", str(script), url,
        ]  # fmt: skip
        done = subprocess.run(
            argv, capture_output=True, text=True, check=True, timeout=duration + 60
        )
    finally:
        script.unlink()
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith(_MARK))
    raw = json.loads(line[len(_MARK) :])
    return WrkResult(
        connections=connections,
        requests=raw["requests"],
        requests_per_s=round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=round(raw["mean_us"] / 1000, 3),
        socket_errors=raw["socket_errors"],
        bad_status=raw["bad_status"],
    )
