"""Process states (router.md §1.1) and the start/stop errors the actor raises."""

from __future__ import annotations

from enum import StrEnum


class ProcessState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    READY = "ready"
    STOPPING = "stopping"
    SHUTDOWN = "shutdown"

    @property
    def is_running(self) -> bool:
        """Counted as running by schedulers and listed in ``/running``."""
        return self in (ProcessState.STARTING, ProcessState.READY, ProcessState.STOPPING)


class ProcessError(Exception):
    """A start failed or was aborted; ``str()`` is llama-swap's wording."""


class StartAborted(ProcessError):
    def __init__(self) -> None:
        super().__init__("aborted")
