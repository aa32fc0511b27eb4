"""Real server subprocesses for these tests: llama-server alone, and llamaswap in front of it.

Every process runs in its own session so teardown can kill its whole group, and its output
goes to a file (never a pipe a test could forget to drain) that failure messages quote.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.support.wait import wait_until

LLAMA_SWAP = Path(sys.executable).with_name("llama-swap")
"""The CLI installed next to the interpreter running the tests (the venv's)."""

LLAMA_SERVER_ARGS = ("-c", "256", "-t", "1", "--parallel", "1", "--no-webui")
"""Keep llama-server light: the CI machine has two cores shared with other suites."""


class ServerProcess:
    """One subprocess in a new session, with stdout and stderr captured to ``log_path``."""

    def __init__(
        self, argv: Sequence[str], log_path: Path, *, env: dict[str, str] | None = None
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self, limit: int = 6000) -> str:
        """The tail of what the process wrote, for failure messages."""
        data = self.log_path.read_bytes()
        return data[-limit:].decode("utf-8", "replace")

    def describe(self) -> str:
        return f"{shlex.join(self.argv)} (exit {self.popen.poll()}):\n{self.output()}"

    def wait_http_ok(self, url: str, timeout: float = 30.0) -> None:
        """Poll ``url`` until it answers 200; fail at once if the process exits first."""

        def ok() -> bool:
            if self.popen.poll() is not None:
                raise AssertionError(f"exited before {url} answered: {self.describe()}")
            return http_status(url) == 200

        wait_until(ok, timeout=timeout, interval=0.02, message=lambda: self.describe())

    def terminate(self, timeout: float = 20.0) -> int | None:
        """SIGTERM to the process only (as a user's Ctrl-C or systemd would), then wait."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)
        return self.popen.poll()

    def kill_group(self) -> None:
        """Last-resort cleanup: SIGKILL the whole process group, then reap."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)
        self._log.close()


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """Status of a GET, or None when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, urllib.error.URLError):
        return None


def llama_server_argv(binary: Path, model: Path, port: int, extra: Sequence[str] = ()) -> list[str]:
    return [
        str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
        *LLAMA_SERVER_ARGS, *extra,
    ]  # fmt: skip


@dataclass(frozen=True)
class ProcessInfo:
    """A snapshot of one process (it may be gone by the time anyone looks again)."""

    pid: int
    cmdline: tuple[str, ...]


def processes_using(path: Path) -> list[ProcessInfo]:
    """Live processes whose command line names ``path`` (each test's model file is unique)."""
    found = []
    needle = str(path)
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = tuple(proc.info["cmdline"] or ())
        if proc.info["status"] != psutil.STATUS_ZOMBIE and any(needle in a for a in cmdline):
            found.append(ProcessInfo(proc.info["pid"], cmdline))
    return found


def kill_processes_using(path: Path) -> list[int]:
    """Kill leftovers after a failed test; returns their PIDs."""
    pids = []
    for info in processes_using(path):
        with contextlib.suppress(psutil.Error):
            psutil.Process(info.pid).kill()
            pids.append(info.pid)
    return pids


@dataclass(frozen=True)
class ModelSpec:
    """One llama-server model entry of a generated llamaswap config."""

    model_id: str
    port: int
    extra_args: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    send_loading_state: bool | None = None


def llamaswap_config(binary: Path, model: Path, specs: Sequence[ModelSpec]) -> str:
    """YAML for llamaswap with each spec as a llama-server on a fixed port."""
    lines = ["healthCheckTimeout: 30", "logToStdout: both", "models:"]
    for spec in specs:
        cmd = shlex.join(llama_server_argv(binary, model, spec.port, spec.extra_args))
        lines += [
            f"  {spec.model_id}:",
            f"    cmd: {cmd}",
            f"    proxy: http://127.0.0.1:{spec.port}",
        ]
        if spec.aliases:
            lines.append(f"    aliases: [{', '.join(spec.aliases)}]")
        if spec.send_loading_state is not None:
            lines.append(f"    sendLoadingState: {str(spec.send_loading_state).lower()}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def running_llamaswap(
    config_text: str, workdir: Path, listen_port: int, model_path: Path
) -> Iterator[ServerProcess]:
    """Start the real CLI on ``config_text``; on exit stop it and kill any llama-server left."""
    config = workdir / "config.yaml"
    config.write_text(config_text)
    argv = [str(LLAMA_SWAP), "-config", str(config), "-listen", f"127.0.0.1:{listen_port}"]
    proc = ServerProcess(argv, workdir / "llamaswap.log")
    try:
        proc.wait_http_ok(f"http://127.0.0.1:{listen_port}/health")
        yield proc
    finally:
        proc.terminate()
        proc.kill_group()
        kill_processes_using(model_path)
