"""A recording fake of the scheduler's Effects, with a fake clock.

Programmable inputs (``states``, ``clock``, ``gone``) are kept apart from what the
scheduler did (``starts``, ``grants``, ``errors``, ``stops``, ``positions``); tests edit
the inputs between events to simulate the world.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field

from llamaswap.errors import LlamaSwapError
from llamaswap.process.state import ProcessState
from llamaswap.router.events import Request
from llamaswap.router.planners.base import SwapPlanner, SwapTarget


@dataclass
class Start:
    model_id: str
    evict: frozenset[str]
    swap_id: int


@dataclass
class FakeEffects:
    states: dict[str, ProcessState] = field(default_factory=dict)
    clock: float = 1000.0
    gone: set[int] = field(default_factory=set)
    """Request IDs whose caller has left: their grant is refused."""

    starts: list[Start] = field(default_factory=list)
    grants: list[Request] = field(default_factory=list)
    refused: list[Request] = field(default_factory=list)
    errors: list[tuple[Request, LlamaSwapError]] = field(default_factory=list)
    stops: list[tuple[frozenset[str], float]] = field(default_factory=list)
    positions: dict[int, list[int]] = field(default_factory=dict)

    # --- the Effects protocol ------------------------------------------------------------

    def now(self) -> float:
        return self.clock

    def state(self, model_id: str) -> ProcessState:
        return self.states.get(model_id, ProcessState.STOPPED)

    def start_swap(self, model_id: str, evict: frozenset[str], swap_id: int) -> None:
        self.starts.append(Start(model_id, evict, swap_id))

    def grant_serve(self, request: Request) -> bool:
        if request.id in self.gone:
            self.refused.append(request)
            return False
        self.grants.append(request)
        return True

    def grant_error(self, request: Request, error: LlamaSwapError) -> None:
        self.errors.append((request, error))

    def notify_queue_position(self, request: Request, position: int) -> None:
        self.positions.setdefault(request.id, []).append(position)

    async def stop_processes(self, model_ids: Set[str], timeout: float) -> None:  # noqa: ASYNC109
        self.stops.append((frozenset(model_ids), timeout))
        for model_id in model_ids:
            self.states[model_id] = ProcessState.STOPPED

    # --- one-line queries ----------------------------------------------------------------

    def starts_for(self, model_id: str) -> int:
        return sum(1 for s in self.starts if s.model_id == model_id)

    def last_start(self, model_id: str) -> Start:
        return [s for s in self.starts if s.model_id == model_id][-1]

    def served(self, model_id: str) -> int:
        return sum(1 for r in self.grants if r.model_id == model_id)

    def served_ids(self) -> list[int]:
        return [r.id for r in self.grants]

    def error_for(self, request_id: int) -> LlamaSwapError | None:
        for request, error in self.errors:
            if request.id == request_id:
                return error
        return None


@dataclass
class RecordingPlanner:
    """Wraps a planner and records committed swaps (``on_swap_start``)."""

    inner: SwapPlanner
    committed: list[tuple[str, frozenset[str]]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    def evictions_for(self, target: SwapTarget, running: frozenset[str]) -> frozenset[str]:
        return self.inner.evictions_for(target, running)

    def on_swap_start(
        self, target: SwapTarget, evict: frozenset[str], running: frozenset[str]
    ) -> None:
        self.committed.append((target.model_id, evict))
