"""Turning a proxy-overhead result into the table printed and the JSON file kept."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

BUDGETS = {
    "added_p50_c1_ms": 0.65,
    "rps_cN_min": 0.8 * 2300,
    "added_first_event_ms": 0.75,
    "cold_beyond_ms": 50.0,
    "rss_mb": 80.0,
}
"""design.md "Performance budgets" (llama-swap's Go figures on a 2-core machine)."""


def git_revision() -> str:
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def write_result(directory: Path, result: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    result = {**result, "revision": git_revision(), "finished": time.strftime("%FT%T%z")}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = directory / f"{result['benchmark']}-{result.get('upstream', 'x')}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def added(result: dict[str, Any]) -> dict[str, float]:
    """Proxied minus direct, the figures the budgets talk about."""
    d, p = result["direct"], result["proxied"]
    return {
        "added_p50_c1_ms": round(p["c1"]["p50_ms"] - d["c1"]["p50_ms"], 3),
        "added_p99_c1_ms": round(p["c1"]["p99_ms"] - d["c1"]["p99_ms"], 3),
        "added_first_event_ms": round(p["first_event_ms"]["p50"] - d["first_event_ms"]["p50"], 3),
        "rps_ratio": round(p["cN"]["requests_per_s"] / d["cN"]["requests_per_s"], 3),
    }


def print_table(result: dict[str, Any]) -> None:
    d, p, a = result["direct"], result["proxied"], added(result)
    n = d["cN"]["connections"]
    rps_budget = (
        f"budget >= {BUDGETS['rps_cN_min']:.0f}/s"
        if result["upstream"] == "demo"
        else "budget is for the demo; llama-server itself is the limit here"
    )
    rows: list[tuple[str, object, object, str]] = [
        ("p50 latency c=1 (ms)", d["c1"]["p50_ms"], p["c1"]["p50_ms"],
         f"+{a['added_p50_c1_ms']} (budget +{BUDGETS['added_p50_c1_ms']})"),
        ("p99 latency c=1 (ms)", d["c1"]["p99_ms"], p["c1"]["p99_ms"], f"+{a['added_p99_c1_ms']}"),
        (f"p50 latency c={n} (ms)", d["cN"]["p50_ms"], p["cN"]["p50_ms"], ""),
        (f"p99 latency c={n} (ms)", d["cN"]["p99_ms"], p["cN"]["p99_ms"], ""),
        (f"requests/s c={n}", d["cN"]["requests_per_s"], p["cN"]["requests_per_s"],
         f"x{a['rps_ratio']} ({rps_budget})"),
        ("first content event p50 (ms)", d["first_event_ms"]["p50"], p["first_event_ms"]["p50"],
         f"+{a['added_first_event_ms']} (budget +{BUDGETS['added_first_event_ms']})"),
        ("cold start total p50 (ms)", d.get("ready_ms", {}).get("p50", "-"),
         p["cold_total_ms"]["p50"],
         f"beyond upstream {p['cold_beyond_ms']['p50']} (budget {BUDGETS['cold_beyond_ms']})"),
        ("llamaswap RSS idle / loaded (MB)", "-",
         f"{p['rss_mb']['idle']} / {p['rss_mb']['after_load']}", f"budget {BUDGETS['rss_mb']}"),
    ]  # fmt: skip
    print(f"\nupstream: {result['upstream']}   load after: {result['load_after']}")
    print(f"{'':34} {'direct':>10} {'proxied':>14}  added / budget")
    for label, direct, proxied, note in rows:
        print(f"{label:34} {direct!s:>10} {proxied!s:>14}  {note}")
    for mode, runs in (("direct", d), ("proxied", p)):
        for conc in ("c1", "cN"):
            errors = {k: runs[conc][k] for k in ("socket_errors", "bad_status") if runs[conc][k]}
            if errors:
                print(f"WARNING: {mode} {conc}: wrk saw {errors} of {runs[conc]['requests']}")
