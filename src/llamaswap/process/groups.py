"""Ending process trees: group signals, escaped descendants, and parent death.

Every child runs as the leader of its own process group (``start_new_session``), so a
signal to the group reaches everything it forked that stayed in the group. Children
that left it (``setsid``) are found by snapshotting descendants before signalling.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable

import psutil


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when no member is left (or it is not ours)."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def snapshot_descendants(pid: int) -> list[psutil.Process]:
    """Everything below ``pid`` right now, including children that left its group."""
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def kill_stragglers(procs: list[psutil.Process]) -> int:
    """SIGKILL each snapshotted process still alive (psutil guards against PID reuse)."""
    killed = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                proc.kill()
                killed += 1
    return killed


def _load_prctl() -> Callable[[int, int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl: Callable[[int, int], int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PR_SET_PDEATHSIG = 1
_prctl = _load_prctl() if os.uname().sysname == "Linux" else None


def parent_death_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the kernel SIGKILL the child when we die (Linux).

    A SIGKILLed llamaswap runs no cleanup, so this is the only way its upstreams go
    with it. Resolved before forking: the child only calls a loaded C function and
    compares PIDs (the parent may have died between fork and prctl).
    """
    prctl = _prctl
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return preexec
