"""Bar chart of latency by mode (direct vs through llamaswap), for docs/benchmarks.md.

    .venv/bin/python -m benchmarks.plot [RESULT.json ...] [--out docs/benchmarks-latency.png]

Without files it plots the newest proxy_overhead result of each upstream kind.
matplotlib is a benchmark-only dependency (extra ``bench``), never a runtime one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: files only, before pyplot is imported
import matplotlib.pyplot as plt

METRICS = (
    ("p50\nc=1", "c1", "p50_ms"),
    ("p99\nc=1", "c1", "p99_ms"),
    ("p50\nc=32", "cN", "p50_ms"),
    ("p99\nc=32", "cN", "p99_ms"),
    ("first event\np50", "first_event_ms", "p50"),
)


def newest_results(directory: Path) -> list[Path]:
    newest: dict[str, Path] = {}
    for path in sorted(directory.glob("proxy_overhead-*.json")):
        newest[json.loads(path.read_text())["upstream"]] = path
    return [newest[k] for k in sorted(newest)]


def plot(results: list[dict[str, Any]], out: Path) -> None:
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        xs = range(len(METRICS))
        for offset, mode, colour in ((-0.2, "direct", "#8da0cb"), (0.2, "proxied", "#fc8d62")):
            values = [result[mode][group][key] for _, group, key in METRICS]
            label = "upstream alone" if mode == "direct" else "through llamaswap"
            bars = ax.bar([x + offset for x in xs], values, 0.4, label=label, color=colour)
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
        ax.set_xticks(list(xs), [name for name, _, _ in METRICS], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("milliseconds (log scale)")
        machine = result["machine"]
        ax.set_title(
            f"upstream: {result['upstream']}  ({machine['cores']} cores, {machine['cpu']})",
            fontsize=9,
        )
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Latency by mode: upstream alone vs through llamaswap (wrk, loopback)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Plot proxy_overhead results.")
    p.add_argument("results", nargs="*", type=Path)
    p.add_argument("--dir", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks-latency.png"))
    args = p.parse_args(argv)
    paths = args.results or newest_results(args.dir)
    if not paths:
        raise SystemExit(f"no proxy_overhead results in {args.dir}")
    plot([json.loads(path.read_text()) for path in paths], args.out)
    print(f"wrote {args.out} from {', '.join(map(str, paths))}")


if __name__ == "__main__":
    main()
