"""Swap churn: an interleaved request mix for three models that cannot run together.

Requests arrive open-loop (seeded exponential gaps) and pick a model; one "hot" model
gets most of them, so it is nearly always in flight. Without a starvation guard
(``maxWait: 0``) the hot model keeps the fast path and the others wait for a lull; with
``maxWait: 5`` they wait about five seconds at most. Reports model starts (swaps), total
time, and p50/p99 wait (latency minus the upstream's fixed service time) per setting.

    .venv/bin/python -m benchmarks.churn [--max-wait 0 5] [--requests 200] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shlex
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from tests.support.ports import free_ports

from benchmarks import machine
from benchmarks.configs import BenchModel, config_yaml
from benchmarks.report import write_result
from benchmarks.services import demo_argv, llamaswap_argv, running
from benchmarks.stats import summarize

MODELS = ("hot", "warm", "cool")


@dataclass(frozen=True)
class Outcome:
    model: str
    arrival_s: float
    latency_s: float
    status: int


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-wait", type=float, nargs="+", default=[0.0, 5.0])
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--rate", type=float, default=20.0, help="arrivals per second")
    p.add_argument("--service", type=float, default=0.5, help="upstream seconds per request")
    p.add_argument("--hot-share", type=float, default=0.6)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-load", type=float, default=0.5)
    p.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    return p.parse_args(argv)


def schedule(args: argparse.Namespace) -> list[tuple[float, str]]:
    """(arrival second, model) pairs, identical for every maxWait setting."""
    rng = random.Random(args.seed)
    rest = (1 - args.hot_share) / 2
    at, plan = 0.0, []
    for _ in range(args.requests):
        at += rng.expovariate(args.rate)
        model = rng.choices(MODELS, weights=(args.hot_share, rest, rest))[0]
        plan.append((at, model))
    return plan


def counted_demo(port: int, service: float, starts: Path) -> list[str]:
    """The demo behind a shell line that records each start, then execs (same PID)."""
    demo = shlex.join(demo_argv(port, "--request-delay", str(service)))
    return ["sh", "-c", f"echo start >> {shlex.quote(str(starts))}; exec {demo}"]


async def send_all(base: str, plan: list[tuple[float, str]]) -> list[Outcome]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        origin = time.perf_counter()

        async def one(at: float, model: str) -> Outcome:
            await asyncio.sleep(max(0.0, at - (time.perf_counter() - origin)))
            sent = time.perf_counter()
            body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
            async with session.post(f"{base}/v1/chat/completions", json=body) as resp:
                await resp.read()
                return Outcome(model, at, time.perf_counter() - sent, resp.status)

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(at, model)) for at, model in plan]
    return [task.result() for task in tasks]


def run_setting(args: argparse.Namespace, max_wait: float, work: Path) -> dict[str, Any]:
    listen, *ports = free_ports(1 + len(MODELS))
    starts = work / f"starts-{max_wait:g}"
    models = [
        BenchModel(m, counted_demo(port, args.service, starts), port, {"concurrencyLimit": "1000"})
        for m, port in zip(MODELS, ports, strict=True)
    ]
    routing = f"routing:\n  scheduler:\n    settings:\n      fifo:\n        maxWait: {max_wait:g}"
    config = work / f"churn-{max_wait:g}.yaml"
    config.write_text(config_yaml(models, [routing]))
    base = f"http://127.0.0.1:{listen}"
    machine.wait_for_quiet(args.max_load, timeout=120)
    with running(f"llamaswap-{max_wait:g}", llamaswap_argv(config, listen), work) as swap:
        swap.wait_ok(f"{base}/health")
        started = time.perf_counter()
        outcomes = asyncio.run(send_all(base, schedule(args)))
        total = time.perf_counter() - started
    waits = [max(0.0, o.latency_s - args.service) for o in outcomes]
    per_model = {
        m: summarize([w for w, o in zip(waits, outcomes, strict=True) if o.model == m]).as_dict()
        for m in MODELS
        if any(o.model == m for o in outcomes)
    }
    return {
        "max_wait_s": max_wait,
        "model_starts": len(starts.read_text().splitlines()) if starts.exists() else 0,
        "total_s": round(total, 2),
        "wait_s": summarize(waits).as_dict(),
        "wait_s_by_model": per_model,
        "errors": sum(o.status != 200 for o in outcomes),
        "requests": [asdict(o) for o in outcomes],
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    facts = machine.describe()
    print(f"machine: {facts['cpu']}, {facts['cores']} cores, load {facts['load_average']}")
    runs = []
    with tempfile.TemporaryDirectory(prefix="llamaswap-churn-") as tmp:
        for max_wait in args.max_wait:
            try:
                runs.append(run_setting(args, max_wait, Path(tmp)))
            except Exception:
                for log in sorted(Path(tmp).glob("*.log")):
                    print(
                        f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}",
                        file=sys.stderr,
                    )
                raise
    print(
        f"\n{args.requests} requests at {args.rate}/s, service {args.service}s, "
        f"hot share {args.hot_share}, seed {args.seed}"
    )
    print(
        f"{'maxWait':>8} {'starts':>7} {'total s':>8} {'p50 wait':>9} {'p99 wait':>9} "
        f"{'max wait':>9} {'errors':>7}"
    )
    for run in runs:
        w = run["wait_s"]
        print(
            f"{run['max_wait_s']:>8g} {run['model_starts']:>7} {run['total_s']:>8} "
            f"{w['p50']:>9} {w['p99']:>9} {w['maximum']:>9} {run['errors']:>7}"
        )
    for run in runs:
        by_model = "  ".join(
            f"{m}: p50 {w['p50']} p99 {w['p99']}" for m, w in run["wait_s_by_model"].items()
        )
        print(f"  maxWait {run['max_wait_s']:g} wait by model (s): {by_model}")
    result = {
        "benchmark": "churn",
        "upstream": "demo",
        "command": " ".join(["python -m benchmarks.churn", *(argv or sys.argv[1:])]),
        "machine": facts,
        "load_after": machine.load_average(),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "runs": runs,
    }
    print(f"wrote {write_result(args.results, result)}")


if __name__ == "__main__":
    main()
