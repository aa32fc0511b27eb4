"""What the figures were measured on, and waiting for a quiet machine before measuring.

The benchmark machine is shared (other test suites run beside it), so every result
records the load average before and after, and runs start only once the load has dropped.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from typing import Any


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return (round(one, 2), round(five, 2), round(fifteen, 2))


def tool_version(argv: list[str]) -> str:
    """First line a tool prints about its version, or ``missing``."""
    if shutil.which(argv[0]) is None:
        return "missing"
    done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def describe() -> dict[str, Any]:
    """Machine facts that belong next to every figure."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "wrk": tool_version(["wrk", "--version"]),
        "load_average": load_average(),
    }


def wait_for_quiet(max_load: float, timeout: float) -> tuple[float, float, float]:
    """Wait (up to ``timeout`` s) until the 1-minute load is below ``max_load``.

    Returns the load at the end either way: a busy machine is recorded, not hidden.
    """
    deadline = time.monotonic() + timeout
    while load_average()[0] > max_load and time.monotonic() < deadline:
        print(f"  load {load_average()[0]} > {max_load}, waiting...", file=sys.stderr)
        time.sleep(5)
    return load_average()
