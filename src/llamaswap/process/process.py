"""A model's upstream process, driven by one actor task (router.md §1).

Every start, stop, lease and child exit goes through the actor's inbox and is decided
inside it (:mod:`llamaswap.process.actor`), so no caller ever acts on a stale state
(llama-swap issue #946). This class is the public face: advisory reads, and commands
that post to the inbox and await the reply.

Lifetime: the actor task starts with :meth:`Process.start` (or lazily on the first
command; a running loop is needed either way) and ends only through
:meth:`Process.shutdown`, which is terminal. ``aclose()`` is ``shutdown`` with the
model's unload timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from llamaswap.config.schema import ModelConfig
from llamaswap.process import commands as c
from llamaswap.process.actor import ProcessActor, StateCallback
from llamaswap.process.lease import ProcessLease
from llamaswap.process.logs import LogBuffer
from llamaswap.process.state import ProcessError, ProcessState

T = TypeVar("T")


class Process:
    """One model's upstream: spawn on demand, health-check, serve leases, stop, TTL."""

    def __init__(
        self,
        model_id: str,
        model: ModelConfig,
        *,
        health_check_timeout: float,
        unload_timeout: float,
        ttl: float,
        logs: LogBuffer | None = None,
        on_state_change: StateCallback | None = None,
        echo_to_stdout: bool = False,
    ) -> None:
        self._model_id = model_id
        self._model = model
        self._unload_timeout = unload_timeout
        self._logs = logs if logs is not None else LogBuffer()
        self._actor = ProcessActor(
            model_id,
            model,
            health_check_timeout=health_check_timeout,
            unload_timeout=unload_timeout,
            ttl=ttl,
            logs=self._logs,
            on_state_change=on_state_change,
            echo_to_stdout=echo_to_stdout,
        )
        self._task: asyncio.Task[None] | None = None

    # -- advisory reads ---------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def model(self) -> ModelConfig:
        return self._model

    @property
    def base_url(self) -> str:
        return self._model.proxy

    @property
    def state(self) -> ProcessState:
        """A snapshot for listings; never decide a start or stop from it."""
        return self._actor.state

    @property
    def pid(self) -> int | None:
        return self._actor.pid

    @property
    def in_flight(self) -> int:
        return self._actor.in_flight

    @property
    def logs(self) -> LogBuffer:
        return self._logs

    # -- commands ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the actor task (idempotent; needs a running event loop)."""
        if self._task is None and not self._actor.closed:
            self._task = asyncio.get_running_loop().create_task(
                self._actor.run(), name=f"process-actor:{self._model_id}"
            )

    async def ensure_ready(self) -> None:
        """Return once the upstream is ready, starting it if needed; raise ProcessError."""
        if self._actor.closed:
            raise ProcessError(f"[{self._model_id}] shutdown")
        await self._ask(c.EnsureReady)

    async def acquire(self) -> ProcessLease | None:
        """A serve lease if the process is ready now, else None (e.g. it is stopping)."""
        if self._actor.closed:
            return None
        self.start()
        reply: asyncio.Future[ProcessLease | None] = asyncio.get_running_loop().create_future()
        self._actor.post(c.Acquire(reply))
        try:
            return await reply
        except asyncio.CancelledError:
            if reply.done() and not reply.cancelled() and (lease := reply.result()):
                lease.release()  # granted as we were cancelled: do not leak in-flight
            raise

    async def stop(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 (a grace)
        """Stop the upstream (no-op when stopped); ``None`` means the unload timeout."""
        if self._actor.closed:
            return
        t = self._unload_timeout if timeout is None else timeout
        await self._ask(lambda reply: c.Stop(t, reply))

    async def drain(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 (a grace)
        """Stop once in-flight requests finished; no new lease or start from now on.

        For a process a reload retires (design.md deviation 1): its requests are never
        cut. ``None`` means the unload timeout."""
        if self._actor.closed:
            return
        t = self._unload_timeout if timeout is None else timeout
        await self._ask(lambda reply: c.Drain(t, reply))

    async def shutdown(self, timeout: float) -> None:  # noqa: ASYNC109 (a grace)
        """Stop within ``timeout`` (SIGKILL at the deadline) and end the actor for good."""
        if self._actor.closed:
            return
        if self._task is None:
            self._actor.close_unstarted()
            return
        await self._ask(lambda reply: c.Shutdown(timeout, reply))
        await asyncio.wait({self._task})  # its teardown; our cancellation must not cancel it

    async def aclose(self) -> None:
        await self.shutdown(self._unload_timeout)

    async def _ask(self, make: Callable[[asyncio.Future[T]], c.Command]) -> T:
        self.start()
        reply: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._actor.post(make(reply))
        return await reply
