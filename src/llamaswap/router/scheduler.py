"""The FIFO scheduler: admission, the decision tree, collation, priority, starvation.

Pure: it holds plain data, acts only through :class:`~llamaswap.router.effects.Effects`
and learns time only from ``Effects.now()`` (re-checked on each ``Tick``). Every method
is called from the run loop, one event at a time, so nothing here needs a lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from llamaswap.errors import LlamaSwapError, NotFound, TooManyRequests, UnspecificError
from llamaswap.process.state import ProcessState
from llamaswap.router.effects import Effects
from llamaswap.router.events import (
    Cancel,
    ProcessChanged,
    Request,
    Requeue,
    ServeDone,
    SwapDone,
    Unload,
)
from llamaswap.router.planners.base import SwapPlanner, SwapTarget
from llamaswap.router.queue import WaitQueue

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ActiveSwap:
    """A swap in progress: what it evicts and who waits for it (in join order)."""

    swap_id: int
    target: SwapTarget
    evict: frozenset[str]
    waiters: list[Request] = field(default_factory=list)


class Outcome(Enum):
    QUEUE = "queue"
    JOIN = "join"
    SERVE = "serve"
    SWAP = "swap"


def collides_with(model_id: str, evict: frozenset[str], swap: ActiveSwap) -> bool:
    """Whether a swap to ``model_id`` evicting ``evict`` may not run beside ``swap``."""
    return (
        swap.target.model_id in evict or model_id in swap.evict or not evict.isdisjoint(swap.evict)
    )


class Scheduler:
    """FIFO with collation (router.md §2). ``limits`` names every model it serves."""

    def __init__(
        self,
        planner: SwapPlanner,
        effects: Effects,
        *,
        limits: Mapping[str, int],
        priority: Mapping[str, int] | None = None,
        max_wait: float = 0.0,
    ) -> None:
        self._planner = planner
        self._effects = effects
        self._limits = dict(limits)
        self._max_wait = max_wait
        self._queue = WaitQueue(priority or {}, effects)
        self._reserved: dict[str, int] = dict.fromkeys(self._limits, 0)
        self._in_flight: dict[str, int] = dict.fromkeys(self._limits, 0)
        self._active: dict[str, ActiveSwap] = {}
        self._next_swap_id = 1
        self._shutting_down = False

    # --- read-only views (tests, /running-style diagnostics, the ticker) ---------------

    def reserved(self, model_id: str) -> int:
        return self._reserved[model_id]

    def in_flight(self, model_id: str) -> int:
        return self._in_flight[model_id]

    def queued_ids(self) -> list[int]:
        return self._queue.ids()

    @property
    def has_queue(self) -> bool:
        return bool(self._queue)

    # --- event handlers ----------------------------------------------------------------

    def on_request(self, request: Request) -> None:
        """Admission (router.md §2.2), then the decision tree."""
        model_id = request.model_id
        if self._shutting_down:
            self._effects.grant_error(request, self._shutdown_error())
            return
        if model_id not in self._limits:
            self._effects.grant_error(
                request, NotFound("no local server found for requested model")
            )
            return
        if self._reserved[model_id] >= self._limits[model_id]:
            self._effects.grant_error(request, TooManyRequests())
            return
        self._reserved[model_id] += 1
        if self._decide(request) is Outcome.QUEUE:
            self._queue.add(request)
            self._queue.broadcast_positions()

    def on_requeue(self, event: Requeue) -> None:
        """A refused lease: the grant did not happen after all, decide again."""
        request = event.request
        self._dec_in_flight(request.model_id)
        if self._shutting_down:
            self._fail(request, self._shutdown_error())
            return
        if self._decide(request) is Outcome.QUEUE:
            self._queue.add(request)
        if self._in_flight[request.model_id] == 0:
            self._drain()
        else:
            self._queue.broadcast_positions()

    def on_cancel(self, event: Cancel) -> None:
        """Remove a not-yet-granted request wherever it waits and free its reservation.

        The only waiter of a swap leaving does not stop the swap (router.md §2.12)."""
        request = self._queue.remove_id(event.request_id)
        if request is None:
            request = self._remove_waiter(event.request_id)
        if request is None:
            return  # already granted, failed or refused: nothing is held for it
        self._release(request.model_id)
        self._queue.broadcast_positions()

    def on_swap_done(self, event: SwapDone) -> None:
        active = self._active.get(event.model_id)
        if active is None or active.swap_id != event.swap_id:
            return  # unloaded or shut down meanwhile: its waiters were answered then
        del self._active[event.model_id]
        for waiter in active.waiters:
            if event.error is None:
                self._grant(waiter)
            else:
                self._fail(waiter, event.error)
        self._drain()

    def on_serve_done(self, event: ServeDone) -> None:
        self._dec_in_flight(event.model_id)
        self._release(event.model_id)
        if self._in_flight[event.model_id] == 0:
            self._drain()

    def on_process_changed(self, event: ProcessChanged) -> None:
        """A process stopped on its own (TTL, crash): the running set shrank."""
        if event.new is ProcessState.STOPPED:
            self._drain()

    def on_tick(self) -> None:
        """Time passed: a request may have started to starve (``fifo.maxWait``)."""
        if self._starving() is not None:
            self._drain()

    async def on_unload(self, event: Unload) -> None:
        """router.md §2.11: fail the targets' waiters and queued requests, stop the
        targets (blocking the run loop on purpose), then drain."""
        error = UnspecificError(f"{self._planner.name}: model unloaded")
        for model_id in sorted(event.targets):
            active = self._active.pop(model_id, None)
            if active is not None:
                self._fail_all(active.waiters, error)
        self._fail_all(self._queue.remove_models(event.targets), error)
        await self._effects.stop_processes(event.targets, event.timeout)
        self._drain()

    def on_reload(
        self,
        planner: SwapPlanner,
        *,
        limits: Mapping[str, int],
        priority: Mapping[str, int],
        max_wait: float,
    ) -> None:
        """A new config was accepted (design.md deviation 1). The run loop has abandoned
        every swap in progress; their waiters and the queued requests are decided again,
        by arrival, under the new planner, limits and priority. Requests for models the
        new config lacks fail. Counters of in-flight requests carry over (also for
        removed models, until their requests end)."""
        pending = [w for active in self._active.values() for w in active.waiters]
        pending += self._queue.snapshot()
        pending.sort(key=lambda r: (r.arrived, r.id))
        self._active.clear()
        self._planner = planner
        self._limits = dict(limits)
        self._max_wait = max_wait
        for model_id in self._limits:
            self._reserved.setdefault(model_id, 0)
            self._in_flight.setdefault(model_id, 0)
        self._queue = WaitQueue(priority, self._effects)
        for request in pending:
            if request.model_id in self._limits:
                self._queue.add(request)
            else:
                error = NotFound(f"model {request.model_id} was removed by a config reload")
                self._fail(request, error)
        self._drain()

    def on_shutdown(self) -> None:
        """router.md §2.15: every waiter and queued request gets ``is shutting down``;
        so does every later request. Stopping processes is the run loop's job."""
        self._shutting_down = True
        error = self._shutdown_error()
        for active in self._active.values():
            self._fail_all(active.waiters, error)
        self._active.clear()
        self._fail_all(self._queue.remove_models(frozenset(self._limits)), error)

    # --- the decision tree -------------------------------------------------------------

    def _decide(self, request: Request) -> Outcome:
        """Run for each admitted request, and again for each queued one on every drain.

        Outcomes, in order:
          (1) the model is held by the starvation guard: queue (no fast path, no join);
          (2) a swap to this model is active: join it;
          (3) the process is ready, nothing to evict, no active swap collides: serve now;
          (4) the swap would collide with another active swap: queue;
          (5) a model to evict still has requests in flight: queue (never cut them);
          (6) otherwise start a swap (recorded before it is launched).
        """
        model_id = request.model_id
        target = SwapTarget(model_id, request.profile)
        if model_id in self._held_by_guard(request):  # (1)
            return Outcome.QUEUE
        active = self._active.get(model_id)
        if active is not None:  # (2)
            active.waiters.append(request)
            return Outcome.JOIN
        running = self._running(model_id)
        evict = self._planner.evictions_for(target, running)
        collides = any(collides_with(model_id, evict, a) for a in self._active.values())
        if not evict and not collides and self._effects.state(model_id) is ProcessState.READY:
            self._grant(request)  # (3)
            return Outcome.SERVE
        if collides:  # (4)
            return Outcome.QUEUE
        if any(self._in_flight.get(m, 0) > 0 for m in evict):  # (5)
            return Outcome.QUEUE
        swap_id = self._next_swap_id  # (6)
        self._next_swap_id += 1
        self._active[model_id] = ActiveSwap(swap_id, target, evict, [request])
        self._planner.on_swap_start(target, evict, running)
        self._effects.start_swap(model_id, evict, swap_id)
        return Outcome.SWAP

    def _drain(self) -> None:
        """Re-decide every queued request in order; later entries see the swaps started
        by earlier ones, which is what collates ABCABC into AABBCC (router.md §2.9). A
        starving request goes first so its swap starts the moment it can."""
        if not self._queue:
            return
        order = self._queue.snapshot()
        starving = self._starving()
        if starving is not None:
            order.remove(starving)
            order.insert(0, starving)
        for request in order:
            if self._decide(request) is not Outcome.QUEUE:
                self._queue.remove_id(request.id)
        self._queue.broadcast_positions()

    # --- helpers -----------------------------------------------------------------------

    def _running(self, model_id: str) -> frozenset[str]:
        """Live processes plus the targets of other active swaps (configured models
        only: a model a reload removed is draining and no planner knows it)."""
        live = {m for m in self._limits if self._effects.state(m).is_running}
        live.update(m for m in self._active if m != model_id)
        return frozenset(live)

    def _starving(self) -> Request | None:
        """The oldest queued request by arrival, once it has waited past ``maxWait``."""
        if self._max_wait <= 0:
            return None
        oldest = self._queue.oldest()
        if oldest is None or self._effects.now() - oldest.arrived <= self._max_wait:
            return None
        return oldest

    def _held_by_guard(self, request: Request) -> frozenset[str]:
        """Models the starving request's swap would evict: they take no new requests."""
        starving = self._starving()
        if starving is None or starving.id == request.id:
            return frozenset()
        target = SwapTarget(starving.model_id, starving.profile)
        return self._planner.evictions_for(target, self._running(starving.model_id))

    def _grant(self, request: Request) -> None:
        if self._effects.grant_serve(request):
            self._in_flight[request.model_id] += 1
        else:
            self._release(request.model_id)  # the caller left: count nothing

    def _fail(self, request: Request, error: LlamaSwapError) -> None:
        self._effects.grant_error(request, error)
        self._release(request.model_id)

    def _fail_all(self, requests: Iterable[Request], error: LlamaSwapError) -> None:
        for request in requests:
            self._fail(request, error)

    def _release(self, model_id: str) -> None:
        if self._reserved[model_id] <= 0:
            raise RuntimeError(f"reservation count for {model_id!r} would go negative")
        self._reserved[model_id] -= 1

    def _dec_in_flight(self, model_id: str) -> None:
        if self._in_flight[model_id] <= 0:
            raise RuntimeError(f"in-flight count for {model_id!r} would go negative")
        self._in_flight[model_id] -= 1

    def _remove_waiter(self, request_id: int) -> Request | None:
        for active in self._active.values():
            for i, waiter in enumerate(active.waiters):
                if waiter.id == request_id:
                    return active.waiters.pop(i)
        return None

    def _shutdown_error(self) -> UnspecificError:
        return UnspecificError(f"{self._planner.name} is shutting down")
