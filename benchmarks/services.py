"""Servers the benchmarks start: the demo upstream, llama-server and llamaswap itself.

Each runs in its own session (so stopping it kills its whole group) with its output in a
log file; the benchmark owns every process it starts and stops it in ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import psutil

LLAMA_SERVER_ARGS = ("-c", "256", "-t", "1", "--parallel", "1", "--no-webui")


class Service:
    """One server subprocess; ``stop`` is safe to call twice."""

    def __init__(self, name: str, argv: Sequence[str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.spawned_at = time.perf_counter()
        self.popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ok(self, url: str, timeout: float = 60.0, interval: float = 0.005) -> float:
        """Poll ``url`` until 200; return seconds since the process was spawned."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            if get_status(url) == 200:
                return time.perf_counter() - self.spawned_at
            time.sleep(interval)
        raise TimeoutError(f"{self.name} not ready at {url}: {self.tail()}")

    def rss_mb(self) -> float:
        return float(psutil.Process(self.popen.pid).memory_info().rss) / 2**20

    def tail(self, limit: int = 3000) -> str:
        return self.log_path.read_bytes()[-limit:].decode("utf-8", "replace")

    def stop(self, timeout: float = 30.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)
        self._log.close()


@contextlib.contextmanager
def running(name: str, argv: Sequence[str], log_dir: Path) -> Iterator[Service]:
    service = Service(name, argv, log_dir)
    try:
        yield service
    finally:
        service.stop()


def get_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return None


def get_bytes(url: str, timeout: float = 60.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body: bytes = resp.read()
        return body


def demo_argv(port: int, *switches: str) -> list[str]:
    return [sys.executable, "-m", "llamaswap.demo", "--port", str(port), *switches]


def llama_server_argv(binary: Path, model: Path, port: int) -> list[str]:
    return [
        str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
        *LLAMA_SERVER_ARGS,
    ]  # fmt: skip


def llamaswap_argv(config: Path, port: int) -> list[str]:
    binary = Path(sys.executable).with_name("llama-swap")
    return [str(binary), "-config", str(config), "-listen", f"127.0.0.1:{port}"]


def find_llama_server() -> Path:
    """``LLAMA_SERVER`` or ``llama-server`` on PATH, as the tests find it."""
    configured = os.environ.get("LLAMA_SERVER", "").strip() or shutil.which("llama-server")
    if not configured:
        raise SystemExit(
            "llama-server not found: set LLAMA_SERVER (../shared/tools/build-llama-server.sh)"
        )
    return Path(configured)
