"""LocalRouter: the process map, the one run-loop task, swap tasks and the ticker.

All scheduler state is touched only by the run loop, one event at a time
(design.md "Concurrency model"). Handlers talk to it through tickets (router/ticket.py);
slow work (swaps) runs in tracked tasks whose results come back as events. Process state
is only advice here: starts and stops are decided inside each process actor.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from llamaswap.config.schema import Config
from llamaswap.errors import LlamaSwapError, NotFound, UnspecificError
from llamaswap.process.logs import LogBuffer
from llamaswap.process.process import Process
from llamaswap.process.state import ProcessState
from llamaswap.router.api import RequestInfo
from llamaswap.router.events import (
    Cancel,
    Event,
    ProcessChanged,
    Reload,
    Request,
    Requeue,
    ServeDone,
    Shutdown,
    SwapDone,
    Tick,
    Unload,
)
from llamaswap.router.loop_effects import LoopEffects
from llamaswap.router.planners.base import SwapPlanner
from llamaswap.router.reload_plan import ReloadPlan, plan_reload
from llamaswap.router.scheduler import Scheduler
from llamaswap.router.ticket import LocalTicket

log = logging.getLogger(__name__)

StateCallback = Callable[[str, ProcessState, ProcessState], None]

T = TypeVar("T")

TICK_INTERVAL = 0.5
"""Seconds between ``Tick`` events, sent only while requests are queued."""


class LocalRouter:
    """Implements ``router.api.Router``. ``await start()`` before use; end with
    ``await shutdown(timeout)``."""

    def __init__(
        self,
        config: Config,
        planner: SwapPlanner,
        *,
        on_process_state: StateCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        upstream_log: LogBuffer | None = None,
    ) -> None:
        """``upstream_log``: each model's output is also written there (the upstream log
        monitor, which does the ``logToStdout`` wiring); without it each process echoes
        its output to stdout itself when ``logToStdout`` asks for upstream lines."""
        self._config = config
        self._name = planner.name
        self._on_process_state = on_process_state
        self._clock = clock
        self._upstream_log = upstream_log
        self._processes: dict[str, Process] = {
            model_id: self._new_process(model_id) for model_id in config.models
        }
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._tickets: dict[int, LocalTicket] = {}
        self._effects = LoopEffects(self._processes, self._tickets, self._post, clock)
        fifo = config.routing.scheduler.settings.fifo
        self.scheduler = Scheduler(
            planner,
            self._effects,
            limits=_concurrency_limits(config),
            priority=fifo.priority,
            max_wait=fifo.max_wait,
        )
        self._ids = itertools.count(1)
        self._loop_task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._preload: asyncio.Task[None] | None = None
        self._shutting_down = False
        self._closed = False

    def _new_process(self, model_id: str, logs: LogBuffer | None = None) -> Process:
        """A stopped process for ``model_id`` of the current config; ``logs``: the
        history of the process it replaces after a reload."""
        config = self._config
        upstream_log = self._upstream_log
        if logs is None and upstream_log is not None:
            logs = LogBuffer(downstream=upstream_log.write)
        return Process(
            model_id,
            config.models[model_id],
            health_check_timeout=config.health_check_timeout,
            unload_timeout=config.effective_unload_timeout(model_id),
            ttl=config.effective_ttl(model_id),
            on_state_change=self._state_changed,
            logs=logs,
            echo_to_stdout=upstream_log is None and config.log_to_stdout in ("upstream", "both"),
        )

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the process actors, the run loop and the preload task."""
        for process in self._processes.values():
            process.start()
        self._loop_task = asyncio.create_task(self._run(), name=f"router-{self._name}")
        self._start_preload()

    async def reload(self, config: Config, planner: SwapPlanner) -> ReloadPlan:
        """Switch to ``config`` (already loaded and valid) in the run loop: unchanged
        models keep their process, the rest are drained and stopped, then the preload
        hook runs again (design.md deviation 1, router.md §3 TARGET)."""
        if self._shutting_down:
            raise self._closed_error()
        done: asyncio.Future[ReloadPlan] = asyncio.get_running_loop().create_future()
        if not self._post(Reload(config, planner, done)):
            raise self._closed_error()
        plan = await done
        if self._preload is not None:
            self._preload.cancel()
            await asyncio.gather(self._preload, return_exceptions=True)
            self._preload = None
        if not self._shutting_down:
            self._start_preload()
        return plan

    def _start_preload(self) -> None:
        preload = [m for m in self._config.hooks.on_startup.preload if m in self._processes]
        if preload:
            self._preload = asyncio.create_task(self._run_preload(preload), name="preload")

    async def shutdown(self, timeout: float) -> None:  # noqa: ASYNC109
        """router.md §2.15. A second call raises ``shutdown already in progress``."""
        if self._shutting_down:
            raise RuntimeError("shutdown already in progress")
        self._shutting_down = True
        if self._preload is not None:
            self._preload.cancel()
        if self._loop_task is not None and not self._loop_task.done():
            done = asyncio.get_running_loop().create_future()
            self._post(Shutdown(done))
            await done
        budget = timeout if timeout > 0 else float(self._config.health_check_timeout)
        retiring = self._effects.retiring()
        processes = [*self._processes.values(), *(p for _t, p in retiring)]
        results = await asyncio.gather(
            *(p.shutdown(budget) for p in processes), return_exceptions=True
        )
        for process, result in zip(processes, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("router: shutting down %s failed: %s", process.model_id, result)
        self._closed = True
        tasks = [
            self._loop_task,
            self._ticker,
            self._preload,
            *self._effects.swap_tasks(),
            *(t for t, _p in retiring),
        ]
        for task in tasks:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)
        error = self._closed_error()
        for ticket in list(self._tickets.values()):
            ticket.fail(error)

    # --- router.api.Router ---------------------------------------------------------------

    def handles(self, model_id: str) -> bool:
        return model_id in self._processes

    def process(self, model_id: str) -> Process:
        """Read-only access for ``/running`` and the logs endpoints."""
        return self._processes[model_id]

    def logs(self, model_id: str) -> LogBuffer:
        return self._processes[model_id].logs

    def state(self, model_id: str) -> ProcessState:
        return self._processes[model_id].state

    def states(self) -> dict[str, ProcessState]:
        return {m: p.state for m, p in self._processes.items()}

    async def admit(self, request: RequestInfo) -> LocalTicket:
        if self._shutting_down:
            raise self._closed_error()
        if self._loop_task is None:
            raise RuntimeError("LocalRouter.admit() before start()")
        process = self._processes.get(request.model_id)
        if process is None:
            raise NotFound("no local server found for requested model")
        event = Request(next(self._ids), request.model_id, self._clock(), request.profile)
        model_id = request.model_id
        ticket = LocalTicket(
            event,
            lambda: self._processes.get(model_id),
            self._post,
            self._closed_error,
            ready_at_admission=process.state is ProcessState.READY,
            on_close=self._forget,
        )
        self._tickets[event.id] = ticket
        self._post(event)
        await ticket.wait_admitted()
        return ticket

    async def unload(self, model_ids: Sequence[str] | None = None) -> None:
        """router.md §2.11: one unload event per ``unloadTimeout``, smallest first."""
        targets = list(self._processes) if model_ids is None else list(model_ids)
        for model_id in targets:
            if model_id not in self._processes:
                raise NotFound("model not found")
        by_timeout: dict[int, set[str]] = {}
        for model_id in targets:
            timeout = self._config.effective_unload_timeout(model_id)
            by_timeout.setdefault(timeout, set()).add(model_id)
        for timeout in sorted(by_timeout):
            if self._shutting_down:
                raise self._closed_error()
            done = asyncio.get_running_loop().create_future()
            self._post(Unload(frozenset(by_timeout[timeout]), float(timeout), done))
            await done

    # --- the run loop --------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            event = await self._events.get()
            try:
                await self._handle(event)
            except Exception:
                log.exception("router: handling %r failed", event)
            self._update_ticker()

    async def _handle(self, event: Event) -> None:
        scheduler = self.scheduler
        match event:
            case Request():
                scheduler.on_request(event)
                ticket = self._tickets.get(event.id)
                if ticket is not None:
                    ticket.mark_admitted()
            case Cancel():
                scheduler.on_cancel(event)
            case Requeue():
                scheduler.on_requeue(event)
            case SwapDone():
                scheduler.on_swap_done(event)
            case ServeDone():
                scheduler.on_serve_done(event)
            case ProcessChanged():
                scheduler.on_process_changed(event)
            case Tick():
                scheduler.on_tick()
            case Unload():
                await _answering(event.done, self._on_unload(event))
            case Reload():
                await _answering(event.done, self._on_reload(event))
            case Shutdown():
                scheduler.on_shutdown()
                if event.done is not None:
                    event.done.set_result(None)

    async def _on_unload(self, event: Unload) -> None:
        """Abandon swaps to the targets first, so none restarts a target afterwards."""
        await self._effects.cancel_swaps(event.targets)
        await self.scheduler.on_unload(event)

    async def _on_reload(self, event: Reload) -> ReloadPlan:
        """Abandon every swap (its waiters are decided again), retire the processes the
        plan does not keep, create the new ones, then hand the scheduler the new rules."""
        config = event.config
        running = {m for m, p in self._processes.items() if p.state.is_running}
        plan = plan_reload(self._config, config, running, event.planner)
        await self._effects.cancel_swaps()
        previous = dict(self._processes)
        for model_id in sorted(plan.retire):
            self._effects.retire(previous[model_id])
        self._config = config
        self._name = event.planner.name
        self._processes.clear()  # in place: LoopEffects shares this map
        for model_id in config.models:
            if model_id in plan.keep:
                self._processes[model_id] = previous[model_id]
            else:
                old = previous.get(model_id)
                process = self._new_process(model_id, None if old is None else old.logs)
                self._processes[model_id] = process
                process.start()
        fifo = config.routing.scheduler.settings.fifo
        self.scheduler.on_reload(
            event.planner,
            limits=_concurrency_limits(config),
            priority=fifo.priority,
            max_wait=fifo.max_wait,
        )
        log.info("router: reload plan: %s", plan.describe())
        return plan

    # --- helpers -------------------------------------------------------------------------

    def _post(self, event: Event) -> bool:
        if self._closed:
            return False
        self._events.put_nowait(event)
        return True

    def _forget(self, request_id: int) -> None:
        self._tickets.pop(request_id, None)

    def _closed_error(self) -> LlamaSwapError:
        return UnspecificError(f"{self._name} is shutting down")

    def _state_changed(self, model_id: str, old: ProcessState, new: ProcessState) -> None:
        if self._on_process_state is not None:
            try:
                self._on_process_state(model_id, old, new)
            except Exception:
                log.exception("router: process state callback failed")
        if self._loop_task is not None:
            self._post(ProcessChanged(model_id, old, new))

    def _update_ticker(self) -> None:
        max_wait = self._config.routing.scheduler.settings.fifo.max_wait
        wanted = max_wait > 0 and self.scheduler.has_queue and not self._shutting_down
        if wanted and self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_forever(), name="router-ticker")
        elif not wanted and self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_INTERVAL)
            self._post(Tick())

    async def _run_preload(self, model_ids: Sequence[str]) -> None:
        """``hooks.on_startup.preload``: normal scheduled requests, one after another."""
        for model_id in model_ids:
            try:
                ticket = await self.admit(RequestInfo(model_id, path="/"))
                try:
                    await ticket.wait_lease()
                finally:
                    await ticket.close()
                log.info("preload: %s is ready", model_id)
            except LlamaSwapError as exc:
                log.warning("preload: %s failed: %s", model_id, exc.message)


def _concurrency_limits(config: Config) -> dict[str, int]:
    return {m: config.effective_concurrency_limit(m) for m in config.models}


async def _answering(done: asyncio.Future[T] | None, work: Awaitable[T]) -> None:
    """Await ``work`` in the run loop and answer the event's caller with its result or
    its exception (re-raised here too, so the loop logs it)."""
    try:
        result = await work
    except BaseException as exc:
        if done is not None and not done.done():
            done.set_exception(exc)
        raise
    if done is not None and not done.done():
        done.set_result(result)
