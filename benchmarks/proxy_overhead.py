"""What llamaswap adds on top of talking to the upstream directly.

Measures, direct and through llamaswap: wrk latency (p50/p99) at concurrency 1 and 32,
requests/s at 32, time to the first streamed content event, cold start beyond the
upstream's own time to ready, and llamaswap's RSS with 20 configured models. Prints a
table against design.md's budgets and writes JSON to benchmarks/results/.

    .venv/bin/python -m benchmarks.proxy_overhead [--upstream demo|llama-server]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.gguf import write_tiny_gguf
from tests.support.ports import free_ports

from benchmarks import first_event, machine
from benchmarks.configs import BenchModel, config_yaml
from benchmarks.report import print_table, write_result
from benchmarks.services import (
    demo_argv,
    find_llama_server,
    get_bytes,
    llama_server_argv,
    llamaswap_argv,
    running,
)
from benchmarks.stats import summarize
from benchmarks.wrk import require_wrk, run_wrk

CHAT = "/v1/chat/completions"
MODEL = "bench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", choices=["demo", "llama-server"], default="demo")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--stream-runs", type=int, default=200)
    p.add_argument("--cold-runs", type=int, default=7)
    p.add_argument("--models", type=int, default=20, help="models in llamaswap's config")
    p.add_argument("--max-load", type=float, default=0.5, help="wait for a quieter machine")
    p.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--direct-only", action="store_true", help="measure the upstream alone")
    return p.parse_args(argv)


def request_body(stream: bool, upstream: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 8 if stream else 1,
        "stream": stream,
    }
    if upstream == "llama-server":
        body["ignore_eos"] = True
    return body


def measure_warm(base: str, args: argparse.Namespace) -> dict[str, Any]:
    """wrk at concurrency 1 and N, then the streamed first-event client."""
    url = base + CHAT
    plain = request_body(False, args.upstream)
    machine.wait_for_quiet(args.max_load, timeout=120)
    run_wrk(url, plain, connections=1, duration=2)  # warm-up: connections, caches
    c1 = run_wrk(url, plain, connections=1, duration=args.duration)
    cn = run_wrk(
        url, plain, connections=args.connections, duration=args.duration, threads=args.wrk_threads
    )
    streamed = asyncio.run(
        first_event.measure(url, request_body(True, args.upstream), args.stream_runs)
    )
    return {"c1": c1.as_dict(), "cN": cn.as_dict(), "first_event_ms": streamed.as_dict()}


def upstream_argv(args: argparse.Namespace, port: int, model: Path | None) -> list[str]:
    if args.upstream == "llama-server":
        assert model is not None
        return llama_server_argv(find_llama_server(), model, port)
    return demo_argv(port)


def run_direct(
    args: argparse.Namespace, work: Path, port: int, model: Path | None
) -> dict[str, Any]:
    cold: list[float] = []
    for i in range(args.cold_runs):
        with running(f"direct-cold-{i}", upstream_argv(args, port, model), work) as svc:
            cold.append(svc.wait_ok(f"http://127.0.0.1:{port}/health") * 1000)
    with running("direct", upstream_argv(args, port, model), work) as svc:
        svc.wait_ok(f"http://127.0.0.1:{port}/health")
        result = measure_warm(f"http://127.0.0.1:{port}", args)
    result["ready_ms"] = summarize(cold).as_dict()
    return result


def cold_start_ms(base: str, upstream_ready_ms: Callable[[], float]) -> tuple[float, float]:
    """Unload, then time one request that has to start the model: (total, upstream's own)."""
    get_bytes(f"{base}/unload")
    started = time.perf_counter()
    get_bytes(f"{base}/upstream/{MODEL}/health")
    total = (time.perf_counter() - started) * 1000
    return total, upstream_ready_ms()


def run_proxied(
    args: argparse.Namespace, work: Path, ports: list[int], model: Path | None
) -> dict[str, Any]:
    listen, upstream_port, *idle_ports = ports
    # concurrencyLimit defaults to 10 admitted requests; wrk's 32 connections need more.
    limit = {"concurrencyLimit": str(4 * args.connections)}
    models = [BenchModel(MODEL, upstream_argv(args, upstream_port, model), upstream_port, limit)]
    models += [
        BenchModel(f"idle-{i:02d}", demo_argv(port), port)
        for i, port in enumerate(idle_ports[: args.models - 1], start=1)
    ]
    config = work / "config.yaml"
    config.write_text(config_yaml(models))
    base = f"http://127.0.0.1:{listen}"
    with running("llamaswap", llamaswap_argv(config, listen), work) as swap:
        swap.wait_ok(f"{base}/health")
        rss_idle = swap.rss_mb()

        def reported_ready() -> float:
            health = json.loads(get_bytes(f"http://127.0.0.1:{upstream_port}/health"))
            return float(health.get("ready_after_s", 0.0)) * 1000

        cold = [cold_start_ms(base, reported_ready) for _ in range(args.cold_runs)]
        result = measure_warm(base, args)
        result["rss_mb"] = {"idle": round(rss_idle, 1), "after_load": round(swap.rss_mb(), 1)}
    result["cold_total_ms"] = summarize([t for t, _ in cold]).as_dict()
    if args.upstream == "demo":
        result["cold_beyond_ms"] = summarize([t - r for t, r in cold]).as_dict()
    return result


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    require_wrk()
    facts = machine.describe()
    print(f"machine: {facts['cpu']}, {facts['cores']} cores, load {facts['load_average']}")
    with tempfile.TemporaryDirectory(prefix="llamaswap-bench-") as tmp:
        work = Path(tmp)
        model = write_tiny_gguf(work / "tiny.gguf") if args.upstream == "llama-server" else None
        ports = free_ports(2 + args.models)
        try:
            direct = run_direct(args, work, ports[1], model)
            proxied = None if args.direct_only else run_proxied(args, work, ports, model)
        except Exception:
            for log in sorted(work.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}", file=sys.stderr)
            raise
    if proxied is None:
        print(json.dumps(direct, indent=2))
        return
    if args.upstream == "llama-server":
        beyond = proxied["cold_total_ms"]["p50"] - direct["ready_ms"]["p50"]
        proxied["cold_beyond_ms"] = {"p50": round(beyond, 3), "note": "median minus median"}
    result = {
        "benchmark": "proxy_overhead",
        "upstream": args.upstream,
        "command": " ".join(["python -m benchmarks.proxy_overhead", *(argv or sys.argv[1:])]),
        "machine": facts,
        "load_after": machine.load_average(),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "direct": direct,
        "proxied": proxied,
    }
    print_table(result)
    print(f"wrote {write_result(args.results, result)}")


if __name__ == "__main__":
    main()
