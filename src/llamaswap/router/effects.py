"""The scheduler's syscall table: every side effect it may cause, and nothing else.

The scheduler holds no process, socket, task or queue. The run loop implements this
protocol over real processes (router/local.py); unit tests use a recording fake with a
fake clock (tests/unit/router/fakes.py).
"""

from __future__ import annotations

from collections.abc import Set
from typing import Protocol

from llamaswap.errors import LlamaSwapError
from llamaswap.process.state import ProcessState
from llamaswap.router.events import Request


class Effects(Protocol):
    def now(self) -> float:
        """Monotonic seconds. The only clock the scheduler reads."""
        ...

    def state(self, model_id: str) -> ProcessState:
        """Advisory process state: chooses the running set and the fast path, never
        gates a start or a stop (those are decided inside the process actor)."""
        ...

    def start_swap(self, model_id: str, evict: frozenset[str], swap_id: int) -> None:
        """Start a background swap and return at once: stop ``evict`` in parallel (each
        with its own ``unloadTimeout``), then make ``model_id`` ready. The result comes
        back later as ``SwapDone(model_id, swap_id, error)``."""
        ...

    def grant_serve(self, request: Request) -> bool:
        """Hand the request its grant. Returns False when the caller is already gone;
        the grant then counts for nothing (no in-flight count, reservation released)."""
        ...

    def grant_error(self, request: Request, error: LlamaSwapError) -> None:
        """Answer the request with an error (admission rejections included)."""
        ...

    def notify_queue_position(self, request: Request, position: int) -> None:
        """Tell a queued request its new 1-based position (latest value wins)."""
        ...

    async def stop_processes(self, model_ids: Set[str], timeout: float) -> None:  # noqa: ASYNC109
        """Stop the processes in parallel and wait until all are stopped (unload)."""
        ...
