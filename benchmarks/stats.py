"""Percentiles for the benchmarks' own samples (wrk computes its own)."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    runs: int
    p50: float
    p99: float
    mean: float
    minimum: float
    maximum: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in 0..100."""
    ordered = sorted(samples)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def summarize(samples: list[float]) -> Summary:
    if not samples:
        raise ValueError("no samples")
    return Summary(
        runs=len(samples),
        p50=round(percentile(samples, 50), 3),
        p99=round(percentile(samples, 99), 3),
        mean=round(statistics.fmean(samples), 3),
        minimum=round(min(samples), 3),
        maximum=round(max(samples), 3),
    )
