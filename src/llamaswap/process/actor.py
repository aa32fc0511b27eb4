"""The process actor's state machine: every decision about one upstream (router.md §1).

Only :meth:`ProcessActor.run` (one task) touches this state, fed by the inbox: caller
commands from :class:`~llamaswap.process.process.Process` and events from the tasks
and timers it owns (health polling, the stop procedure, reaping a crashed child, TTL).
Handlers never wait on slow work; only spawning is awaited inline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from llamaswap.config.schema import ModelConfig
from llamaswap.process import commands as c
from llamaswap.process.child import Child, build_env
from llamaswap.process.health import health_url, wait_healthy
from llamaswap.process.launch import spawn_upstream, upstream_argv
from llamaswap.process.lease import ProcessLease
from llamaswap.process.logs import LogBuffer
from llamaswap.process.state import ProcessError, ProcessState, StartAborted
from llamaswap.process.stopping import KILL_WAIT, PIPE_GRACE, reap, terminate

log = logging.getLogger("llamaswap.process")

S = ProcessState
StateCallback = Callable[[str, ProcessState, ProcessState], None]

HEALTH_ABORT_GRACE = 5.0
"""Graceful window when a failed health check kills the child (router.md §1.8)."""


def _settle(fut: asyncio.Future[Any], value: Any = None) -> None:
    if not fut.done():
        fut.set_result(value)


def _fail(fut: asyncio.Future[Any], error: BaseException) -> None:
    if not fut.done():
        fut.set_exception(error)


def _settle_all(*waiter_lists: list[asyncio.Future[None]]) -> None:
    """Answer every waiter in the lists and empty them (each is answered once)."""
    for waiters in waiter_lists:
        pending = waiters[:]
        waiters.clear()
        for fut in pending:
            _settle(fut)


class ProcessActor:
    """State, waiters and owned tasks of one model's upstream."""

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
        self._health_check_timeout = health_check_timeout
        self._unload_timeout = unload_timeout
        self._ttl = ttl
        self._logs = logs if logs is not None else LogBuffer()
        self._on_state_change = on_state_change
        self._echo = echo_to_stdout

        self._state = S.STOPPED
        self._inbox: asyncio.Queue[c.Message] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        """Set when the actor has ended; commands are then answered without it."""
        self._finished = False

        self._child: Child | None = None
        self._env: dict[str, str] = {}
        self._health_task: asyncio.Task[None] | None = None
        self._start_waiters: list[asyncio.Future[None]] = []
        self._stop_waiters: list[asyncio.Future[None]] = []
        self._deferred: list[c.Command] = []
        """Commands held while stopping; replayed in order once stopped."""
        self._shutdown_waiters: list[asyncio.Future[None]] = []
        self._shutting_down = False
        self._in_flight = 0
        self._draining = False
        """Retired by a reload: no new lease or start; stop at the last release."""
        self._drain_timeout = 0.0
        self._last_use = 0.0
        self._ttl_timer: asyncio.TimerHandle | None = None
        self._force_timer: asyncio.TimerHandle | None = None

    # -- advisory reads (for the facade) ----------------------------------------------

    @property
    def state(self) -> ProcessState:
        return self._state

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def closed(self) -> bool:
        """The actor has ended; commands must be answered without it."""
        return self._closed

    def post(self, msg: c.Message) -> None:
        self._inbox.put_nowait(msg)

    def close_unstarted(self) -> None:
        """Shutdown of an actor whose task never ran: nothing to stop."""
        self._set_state(S.SHUTDOWN)
        self._closed = self._finished = True

    # -- the actor --------------------------------------------------------------------

    async def run(self) -> None:
        """The actor task's body: handle messages until shut down, then tear down."""
        try:
            while not self._finished:
                await self._handle(await self._inbox.get())
        except Exception:
            log.exception("<%s> process actor failed", self._model_id)
        finally:
            await self._teardown()

    async def _handle(self, msg: c.Message) -> None:
        match msg:
            case c.EnsureReady():
                await self._on_ensure_ready(msg)
            case c.Acquire():
                self._on_acquire(msg)
            case c.Stop():
                self._on_stop(msg)
            case c.Drain():
                self._on_drain(msg)
            case c.Shutdown():
                self._on_shutdown(msg)
            case c.Release():
                self._on_release(msg)
            case c.ChildExited():
                self._on_child_exited(msg)
            case c.HealthDone():
                self._on_health_done(msg)
            case c.StopDone():
                await self._on_stop_done(msg)
            case c.TtlCheck():
                self._on_ttl_check(msg)

    async def _on_ensure_ready(self, msg: c.EnsureReady) -> None:
        if self._shutting_down or self._state is S.SHUTDOWN:
            _fail(msg.reply, self._shutdown_error())
        elif self._draining:
            _fail(msg.reply, ProcessError(f"[{self._model_id}] stopped"))
        elif self._state is S.READY:
            _settle(msg.reply)
        elif self._state is S.STARTING:
            self._start_waiters.append(msg.reply)
        elif self._state is S.STOPPING:
            self._deferred.append(msg)
        else:
            self._start_waiters.append(msg.reply)
            await self._begin_start()

    def _on_acquire(self, msg: c.Acquire) -> None:
        if msg.reply.done():
            return
        if self._state is not S.READY or self._child is None or self._draining:
            msg.reply.set_result(None)
            return
        self._in_flight += 1
        self._cancel_ttl()
        lease = ProcessLease(self._model_id, self._model.proxy, self._child, self._post_release)
        msg.reply.set_result(lease)

    def _on_stop(self, msg: c.Stop) -> None:
        if self._state is S.STOPPING:
            self._deferred.append(msg)
        elif not self._stop_if_running(msg.timeout, msg.reply):
            _settle(msg.reply)

    def _on_drain(self, msg: c.Drain) -> None:
        """In-flight requests finish first; the stop begins at the last release."""
        self._draining = True
        self._drain_timeout = msg.timeout
        if self._state is S.READY and self._in_flight:
            self._stop_waiters.append(msg.reply)
        else:
            self._on_stop(c.Stop(msg.timeout, msg.reply))

    def _on_shutdown(self, msg: c.Shutdown) -> None:
        self._shutdown_waiters.append(msg.reply)
        if self._shutting_down:
            return
        self._shutting_down = True
        for held in self._deferred:
            self._answer_closed(held)
        self._deferred.clear()
        if self._stop_if_running(msg.timeout, None):
            return
        if self._state is S.STOPPING and self._child is not None:
            loop = asyncio.get_running_loop()
            self._force_timer = loop.call_later(msg.timeout, self._child.kill_now)
        else:
            self._finish_shutdown()

    def _on_release(self, msg: c.Release) -> None:
        if msg.child is not self._child:
            return  # a lease on a child that is gone
        if self._in_flight <= 0:
            raise RuntimeError(f"<{self._model_id}> lease released with nothing in flight")
        self._in_flight -= 1
        self._last_use = asyncio.get_running_loop().time()
        if self._draining and not self._in_flight and self._state is S.READY:
            self._begin_stop(self._drain_timeout, None)
            return
        self._schedule_ttl()

    def _on_child_exited(self, msg: c.ChildExited) -> None:
        child = msg.child
        if child is not self._child or self._state is S.STOPPING:
            return  # stale, or the stop procedure is handling it
        self._child = None
        _ = self._track(reap(child, self._model_id))
        if self._state is S.STARTING:
            log.warning(
                "<%s> upstream command exited prematurely (exit code %s)",
                self._model_id,
                child.returncode,
            )
            self._abort_start(ProcessError("upstream command exited prematurely"))
        else:
            log.warning(
                "<%s> upstream process exited unexpectedly (exit code %s)",
                self._model_id,
                child.returncode,
            )
            self._cancel_ttl()
        self._set_state(S.STOPPED)
        _settle_all(self._stop_waiters)  # a drain waiting for in-flight requests

    def _on_health_done(self, msg: c.HealthDone) -> None:
        if msg.child is not self._child or self._state is not S.STARTING:
            return
        self._health_task = None
        if msg.error is None:
            self._became_ready()
            return
        log.warning("<%s> %s", self._model_id, msg.error)
        self._abort_start(msg.error)
        self._begin_stop(HEALTH_ABORT_GRACE, None)

    async def _on_stop_done(self, msg: c.StopDone) -> None:
        if msg.child is not self._child:
            return
        self._child = None
        self._in_flight = 0
        if self._force_timer is not None:
            self._force_timer.cancel()
            self._force_timer = None
        if self._shutting_down:
            self._finish_shutdown()
            return
        self._set_state(S.STOPPED)
        _settle_all(self._stop_waiters)
        held, self._deferred = self._deferred, []
        for cmd in held:
            await self._handle(cmd)

    def _on_ttl_check(self, msg: c.TtlCheck) -> None:
        self._ttl_timer = None
        if msg.child is not self._child or self._state is not S.READY or self._in_flight:
            return
        idle = asyncio.get_running_loop().time() - self._last_use
        if idle + 0.001 < self._ttl:
            self._schedule_ttl()
            return
        log.info("<%s> Unloading model, TTL of %gs reached", self._model_id, self._ttl)
        self._begin_stop(self._unload_timeout, None)

    # -- transitions ------------------------------------------------------------------

    async def _begin_start(self) -> None:
        try:
            argv = upstream_argv(self._model)
            self._set_state(S.STARTING)
            self._env = build_env(self._model.env)
            child = await spawn_upstream(
                argv, self._env, logs=self._logs, echo=self._echo, on_exit=self._post_exit
            )
        except ProcessError as e:
            log.warning("<%s> start failed: %s", self._model_id, e)
            self._abort_start(e)
            self._set_state(S.STOPPED)
            return
        log.info("<%s> started pid %d: %s", self._model_id, child.pid, " ".join(argv))
        self._child = child
        self._in_flight = 0
        if self._model.check_endpoint.strip() == "none":
            self._became_ready()
            return
        url = health_url(self._model.proxy, self._model.check_endpoint)
        self._health_task = self._track(self._check_health(child, url))

    async def _check_health(self, child: Child, url: str) -> None:
        try:
            await wait_healthy(url, self._health_check_timeout)
        except ProcessError as e:
            self._inbox.put_nowait(c.HealthDone(child, e))
        else:
            self._inbox.put_nowait(c.HealthDone(child, None))

    def _became_ready(self) -> None:
        self._set_state(S.READY)
        self._last_use = asyncio.get_running_loop().time()  # deviation 2: TTL from ready
        _settle_all(self._start_waiters)
        self._schedule_ttl()

    def _abort_start(self, error: ProcessError) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            self._health_task = None
        waiters, self._start_waiters = self._start_waiters, []
        for fut in waiters:
            _fail(fut, error)

    def _stop_if_running(self, timeout: float, reply: asyncio.Future[None] | None) -> bool:
        """Begin the stop procedure (aborting a start) if a child is starting or ready."""
        if self._state is S.STARTING:
            self._abort_start(StartAborted())
        elif self._state is not S.READY:
            return False
        self._begin_stop(timeout, reply)
        return True

    def _begin_stop(self, timeout: float, reply: asyncio.Future[None] | None) -> None:
        child = self._child
        assert child is not None, "stopping requires a child"
        self._cancel_ttl()
        if reply is not None:
            self._stop_waiters.append(reply)
        self._set_state(S.STOPPING)
        _ = self._track(self._stop_child(child, timeout))

    async def _stop_child(self, child: Child, grace: float) -> None:
        try:
            await terminate(
                child,
                grace=grace,
                cmd_stop=self._model.cmd_stop,
                env=self._env,
                logs=self._logs,
                tag=self._model_id,
            )
        except Exception:
            log.exception("<%s> stop procedure failed", self._model_id)
        self._inbox.put_nowait(c.StopDone(child))

    def _finish_shutdown(self) -> None:
        self._set_state(S.SHUTDOWN)
        self._finished = True
        _settle_all(self._stop_waiters, self._shutdown_waiters)

    async def _teardown(self) -> None:
        """End of the actor: answer everything still pending, leave no child or task."""
        self._closed = True
        self._cancel_ttl()
        while not self._inbox.empty():
            msg = self._inbox.get_nowait()
            if isinstance(msg, c.EnsureReady | c.Acquire | c.Stop | c.Drain | c.Shutdown):
                self._answer_closed(msg)
        for held in self._deferred:
            self._answer_closed(held)
        self._abort_start(self._shutdown_error())
        child, self._child = self._child, None
        if child is not None:
            child.kill_now()  # only reached when the actor ends abnormally
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if child is not None:
            await child.wait_exit(KILL_WAIT)
            await child.release(PIPE_GRACE)
        self._set_state(S.SHUTDOWN)
        _settle_all(self._stop_waiters, self._shutdown_waiters)

    # -- helpers ----------------------------------------------------------------------

    def _answer_closed(self, msg: c.Command) -> None:
        if isinstance(msg, c.EnsureReady):
            _fail(msg.reply, self._shutdown_error())
        elif isinstance(msg, c.Acquire):
            _settle(msg.reply, None)
        else:
            _settle(msg.reply)

    def _shutdown_error(self) -> ProcessError:
        return ProcessError(f"[{self._model_id}] shutdown")

    def _set_state(self, new: ProcessState) -> None:
        old = self._state
        if old is new:
            return
        self._state = new
        log.debug("<%s> %s -> %s", self._model_id, old, new)
        if self._on_state_change is not None:
            try:
                self._on_state_change(self._model_id, old, new)
            except Exception:
                log.exception("<%s> state-change callback failed", self._model_id)

    def _track(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _post_exit(self, child: Child) -> None:
        self._inbox.put_nowait(c.ChildExited(child))

    def _post_release(self, child: Child) -> None:
        if not self._closed:
            self._inbox.put_nowait(c.Release(child))

    def _schedule_ttl(self) -> None:
        self._cancel_ttl()
        if self._ttl <= 0 or self._state is not S.READY or self._in_flight or not self._child:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last_use + self._ttl - loop.time())
        self._ttl_timer = loop.call_later(delay, self._inbox.put_nowait, c.TtlCheck(self._child))

    def _cancel_ttl(self) -> None:
        if self._ttl_timer is not None:
            self._ttl_timer.cancel()
            self._ttl_timer = None
