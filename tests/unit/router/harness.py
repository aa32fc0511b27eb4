"""Drive a real Scheduler with the recording fake: events in, recorded effects out."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

from llamaswap.config.schema import Group
from llamaswap.errors import LlamaSwapError
from llamaswap.process.state import ProcessState
from llamaswap.router.events import Cancel, ProcessChanged, Request, Requeue, ServeDone, SwapDone
from llamaswap.router.planners.base import SwapPlanner
from llamaswap.router.planners.group import GroupPlanner
from llamaswap.router.scheduler import Scheduler

from .fakes import FakeEffects, RecordingPlanner

READY = ProcessState.READY
STOPPED = ProcessState.STOPPED
STOPPING = ProcessState.STOPPING


class Harness:
    def __init__(
        self,
        models: Iterable[str] = ("a", "b", "c"),
        *,
        groups: Mapping[str, Group] | None = None,
        planner: SwapPlanner | None = None,
        limit: int = 10,
        priority: Mapping[str, int] | None = None,
        max_wait: float = 0.0,
    ) -> None:
        self.models = list(models)
        self.eff = FakeEffects()
        self.planner = RecordingPlanner(planner or GroupPlanner(groups or {}, self.models))
        self.sched = Scheduler(
            self.planner,
            self.eff,
            limits=dict.fromkeys(self.models, limit),
            priority=priority,
            max_wait=max_wait,
        )
        self._ids = itertools.count(1)

    def req(self, model_id: str, profile: str | None = None) -> Request:
        request = Request(next(self._ids), model_id, self.eff.clock, profile)
        self.sched.on_request(request)
        return request

    def swap_ready(self, model_id: str) -> None:
        """The latest swap to ``model_id`` finished: evictions stopped, target ready."""
        start = self.eff.last_start(model_id)
        for evicted in start.evict:
            self.eff.states[evicted] = STOPPED
        self.eff.states[model_id] = READY
        self.sched.on_swap_done(SwapDone(model_id, start.swap_id))

    def swap_failed(self, model_id: str, error: LlamaSwapError) -> None:
        start = self.eff.last_start(model_id)
        self.sched.on_swap_done(SwapDone(model_id, start.swap_id, error))

    def tick(self, seconds: float) -> None:
        """``seconds`` pass on the fake clock, then the ticker's ``Tick`` arrives."""
        self.eff.clock += seconds
        self.sched.on_tick()

    def done(self, model_id: str, times: int = 1) -> None:
        for _ in range(times):
            self.sched.on_serve_done(ServeDone(model_id))

    def cancel(self, request: Request) -> None:
        self.sched.on_cancel(Cancel(request.id))

    def requeue(self, request: Request) -> None:
        self.sched.on_requeue(Requeue(request))

    def process_changed(self, model_id: str, new: ProcessState) -> None:
        old = self.eff.state(model_id)
        self.eff.states[model_id] = new
        self.sched.on_process_changed(ProcessChanged(model_id, old, new))

    def served_models(self) -> list[str]:
        return [r.model_id for r in self.eff.grants]
