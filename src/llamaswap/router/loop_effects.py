"""The real ``Effects``: process actors, tickets and tracked swap tasks.

Only the run loop calls these. ``start_swap`` returns at once; the swap task stops the
evicted models in parallel, each with its own ``unloadTimeout`` (design.md deviation 3),
then asks the target's actor to be ready and posts ``SwapDone``. It never looks at a
state snapshot to decide: ``ensure_ready`` decides inside the actor (issue #946).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Set

from llamaswap.errors import LlamaSwapError, UnspecificError
from llamaswap.process.process import Process
from llamaswap.process.state import ProcessError, ProcessState
from llamaswap.router.events import Event, Request, SwapDone
from llamaswap.router.ticket import LocalTicket

log = logging.getLogger(__name__)


class LoopEffects:
    def __init__(
        self,
        processes: Mapping[str, Process],
        tickets: Mapping[int, LocalTicket],
        post: Callable[[Event], bool],
        clock: Callable[[], float],
    ) -> None:
        self._processes = processes
        self._tickets = tickets
        self._post = post
        self._clock = clock
        self._swaps: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._retiring: dict[asyncio.Task[None], Process] = {}

    def now(self) -> float:
        return self._clock()

    def state(self, model_id: str) -> ProcessState:
        return self._processes[model_id].state

    def start_swap(self, model_id: str, evict: frozenset[str], swap_id: int) -> None:
        task = asyncio.create_task(self._swap(model_id, evict, swap_id), name=f"swap-{model_id}")
        self._swaps[swap_id] = (model_id, task)
        task.add_done_callback(lambda _t: self._swaps.pop(swap_id, None))

    def grant_serve(self, request: Request) -> bool:
        ticket = self._tickets.get(request.id)
        return ticket is not None and ticket.offer_grant()

    def grant_error(self, request: Request, error: LlamaSwapError) -> None:
        ticket = self._tickets.get(request.id)
        if ticket is not None:
            ticket.fail(error)

    def notify_queue_position(self, request: Request, position: int) -> None:
        ticket = self._tickets.get(request.id)
        if ticket is not None:
            ticket.set_position(position)

    async def stop_processes(self, model_ids: Set[str], timeout: float) -> None:  # noqa: ASYNC109
        await self._stop_all("stop", model_ids, timeout)

    async def _stop_all(self, what: str, model_ids: Set[str], timeout: float | None) -> None:  # noqa: ASYNC109
        """Stop in parallel; a failure is logged, never raised (the others still stop).
        ``timeout`` None: each model's own ``unloadTimeout``."""
        ordered = sorted(model_ids)
        results = await asyncio.gather(
            *(self._processes[m].stop(timeout) for m in ordered), return_exceptions=True
        )
        for model_id, result in zip(ordered, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("router: %s %s failed: %s", what, model_id, result)

    # --- swap tasks (owned here; the router cancels them at unload and shutdown) --------

    def swap_tasks(self) -> list[asyncio.Task[None]]:
        return [task for _model, task in self._swaps.values()]

    async def cancel_swaps(self, targets: Set[str] | None = None) -> None:
        """Abandon swaps to ``targets``, or every swap (an unload wins over a start in
        progress; a reload decides every waiting request again)."""
        tasks = [
            task for model, task in self._swaps.values() if targets is None or model in targets
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- retirement (a reload replaced or removed a process) --------------------------

    def retire(self, process: Process) -> None:
        """Drain ``process`` (its in-flight requests finish), stop it with its
        ``unloadTimeout`` and end its actor, in a tracked task."""
        task = asyncio.create_task(self._retire(process), name=f"retire-{process.model_id}")
        self._retiring[task] = process
        task.add_done_callback(lambda t: self._retiring.pop(t, None))

    def retiring(self) -> list[tuple[asyncio.Task[None], Process]]:
        return list(self._retiring.items())

    async def _retire(self, process: Process) -> None:
        was_running = process.state.is_running  # advisory: only chooses the log line
        try:
            await process.drain()
            await process.aclose()
        except Exception:
            log.exception("router: retiring %s failed", process.model_id)
        else:
            if was_running:
                log.info("router: previous process of %s stopped after reload", process.model_id)

    async def _swap(self, model_id: str, evict: frozenset[str], swap_id: int) -> None:
        error: LlamaSwapError | None = None
        try:
            if self._retiring:
                # Retired processes may hold the target's port or the memory it needs:
                # every load waits for them, as a swap waits for a busy model to drain.
                await asyncio.wait(set(self._retiring))
            if evict:
                await self._stop_all("evict", evict, None)
            await self._processes[model_id].ensure_ready()
        except ProcessError as exc:
            error = UnspecificError(str(exc))
        except LlamaSwapError as exc:
            error = exc
        except Exception as exc:
            log.exception("router: swap to %s failed", model_id)
            error = UnspecificError(str(exc))
        self._post(SwapDone(model_id, swap_id, error))
