"""Building Processes around the demo upstream, and checking that nothing survives."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from llamaswap.config.schema import ModelConfig
from llamaswap.process.groups import signal_group
from llamaswap.process.process import Process
from llamaswap.process.registry import live_groups
from llamaswap.process.state import ProcessState
from tests.support.ports import free_port
from tests.support.wait import async_wait_until


def demo_cmd(port: int, *switches: str) -> str:
    return " ".join([sys.executable, "-m", "llamaswap.demo", "--port", str(port), *switches])


def python_cmd(code: str, *args: str) -> str:
    """A ``cmd`` running ``python -c code args``; ``code`` must not contain ``'``."""
    return " ".join([sys.executable, "-c", f"'{code}'", *args])


def is_dead(pid: int) -> bool:
    """Gone or a zombie (an orphan's zombie may wait for a non-reaping PID 1)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def read_pids(path: str) -> list[int]:
    with open(path) as f:
        return [int(line) for line in f if line.strip()]


@dataclass
class Transition:
    at: float
    model_id: str
    old: ProcessState
    new: ProcessState


@dataclass
class Harness:
    """Makes Processes for one test and records every state change they emit."""

    processes: list[Process] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    pids: set[int] = field(default_factory=set)

    def record(self, model_id: str, old: ProcessState, new: ProcessState) -> None:
        self.transitions.append(Transition(time.monotonic(), model_id, old, new))

    def states(self, model_id: str = "m") -> list[tuple[str, str]]:
        return [(t.old.value, t.new.value) for t in self.transitions if t.model_id == model_id]

    def when(self, new: ProcessState, model_id: str = "m", nth: int = 0) -> float:
        times = [t.at for t in self.transitions if t.model_id == model_id and t.new is new]
        return times[nth]

    def make(
        self,
        cmd: str | None = None,
        *,
        switches: Sequence[str] = (),
        model_id: str = "m",
        port: int | None = None,
        proxy: str | None = None,
        check_endpoint: str = "/health",
        cmd_stop: str = "",
        env: Sequence[str] = (),
        ttl: float = 0,
        unload_timeout: float = 5,
        health_check_timeout: float = 15,
        echo: bool = False,
    ) -> Process:
        port = port if port is not None else free_port()
        raw: dict[str, Any] = {
            "cmd": cmd if cmd is not None else demo_cmd(port, *switches),
            "cmdStop": cmd_stop,
            "proxy": proxy if proxy is not None else f"http://127.0.0.1:{port}",
            "checkEndpoint": check_endpoint,
            "env": list(env),
        }
        model = ModelConfig.model_validate(raw)
        model.id = model_id
        proc = Process(
            model_id,
            model,
            health_check_timeout=health_check_timeout,
            unload_timeout=unload_timeout,
            ttl=ttl,
            on_state_change=self.record,
            echo_to_stdout=echo,
        )
        self.processes.append(proc)
        return proc

    async def ready(self, proc: Process) -> int:
        """Start ``proc`` and remember its child's PID (the usual first step of a test)."""
        await proc.ensure_ready()
        return self.remember(proc)

    def remember(self, proc: Process) -> int:
        """Note the current child's PID so teardown can check it is gone."""
        pid = proc.pid
        assert pid is not None, f"no child running (state {proc.state})"
        self.pids.add(pid)
        return pid

    def survivors(self) -> list[int]:
        return sorted(pid for pid in self.pids if not is_dead(pid))

    def kill_survivors(self) -> None:
        for pid in self.survivors():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)


@contextlib.asynccontextmanager
async def running_harness() -> AsyncIterator[Harness]:
    """A Harness whose exit shuts its Processes down and proves that no child,
    grandchild or process group of ours is left, even when the test failed."""
    h = Harness()
    try:
        yield h
    finally:
        for proc in h.processes:
            await proc.shutdown(5)
        try:
            await async_wait_until(
                lambda: not h.survivors(), timeout=5, message=lambda: f"alive: {h.survivors()}"
            )
            leftover = [g for g in live_groups() if signal_group(g, 0)]
            assert not leftover, f"process groups still alive after shutdown: {leftover}"
        finally:
            h.kill_survivors()
            for pgid in live_groups():
                signal_group(pgid, 9)
