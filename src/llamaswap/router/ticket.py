"""One admitted request's handle: the ``router.api.Ticket`` the HTTP handler holds.

The run loop decides (through ``Effects``); the ticket only carries the answer to the
handler's task. Two rules live here:

* a grant counts only if the caller took it: :meth:`offer_grant` refuses once the
  handler is gone (its future cancelled or the ticket closed), so a vanished client never
  strands an in-flight count (llama-swap ``GrantServe`` returns a bool);
* a lease refused by the process (it began stopping, e.g. a TTL unload) sends the request
  back to the scheduler instead of failing it (llama-swap issue #946).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from llamaswap.errors import LlamaSwapError, NotFound
from llamaswap.router.api import QueuePositionCallback, ServeLease
from llamaswap.router.events import Cancel, Event, Request, Requeue, ServeDone

log = logging.getLogger(__name__)


class Lease(ServeLease, Protocol):
    def release(self) -> None: ...


class LeaseSource(Protocol):
    async def acquire(self) -> Lease | None: ...


LeaseSourceLookup = Callable[[], LeaseSource | None]
"""The model's current process, looked up at each lease attempt: a reload may have
replaced it (None: the reload removed the model)."""


class LocalTicket:
    """Implements ``router.api.Ticket``; created by ``LocalRouter.admit``."""

    def __init__(
        self,
        request: Request,
        process: LeaseSourceLookup,
        post: Callable[[Event], bool],
        closed_error: Callable[[], LlamaSwapError],
        *,
        ready_at_admission: bool,
        on_close: Callable[[int], None],
    ) -> None:
        loop = asyncio.get_running_loop()
        self.request = request
        self._process = process
        self._post = post
        self._closed_error = closed_error
        self._on_close = on_close
        self._ready_at_admission = ready_at_admission
        self._admission: asyncio.Future[None] = loop.create_future()
        self._grant: asyncio.Future[None] = loop.create_future()
        self._granted = False
        self._closed = False
        self._lease: Lease | None = None
        self._position: int | None = None
        self._on_position: QueuePositionCallback | None = None

    @property
    def ready_at_admission(self) -> bool:
        return self._ready_at_admission

    # --- called by the run loop (through Effects) --------------------------------------

    def offer_grant(self) -> bool:
        """The grant; False when the caller is gone (it then counts for nothing)."""
        if self._closed or self._grant.done():
            return False
        self._granted = True
        self._grant.set_result(None)
        self.mark_admitted()
        return True

    def fail(self, error: LlamaSwapError) -> None:
        """Before admission this is the admission's answer (e.g. the 429)."""
        if self._closed:
            return
        if not self._admission.done():
            self._admission.set_exception(error)
        elif not self._grant.done():
            self._grant.set_exception(error)

    def mark_admitted(self) -> None:
        if not self._admission.done():
            self._admission.set_result(None)

    def set_position(self, position: int) -> None:
        self._position = position
        if self._on_position is not None:
            self._notify(position)

    # --- called by the handler's task --------------------------------------------------

    async def wait_admitted(self) -> None:
        try:
            await self._admission
        except BaseException:
            self._close_nowait()
            raise

    async def wait_lease(self, on_queue_position: QueuePositionCallback | None = None) -> Lease:
        self._on_position = on_queue_position
        if on_queue_position is not None and self._position is not None:
            self._notify(self._position)
        while True:
            await self._grant
            process = self._process()
            if process is None:
                raise NotFound(f"model {self.request.model_id} was removed by a config reload")
            lease = await process.acquire()
            if lease is not None:
                self._lease = lease
                return lease
            log.debug("router: lease for %s refused, requeued", self.request.model_id)
            self._granted = False
            self._grant = asyncio.get_running_loop().create_future()
            if not self._post(Requeue(self.request)):
                raise self._closed_error()

    async def close(self) -> None:
        self._close_nowait()

    def _close_nowait(self) -> None:
        """Idempotent; safe from ``finally`` and from a cancelled admission."""
        if self._closed:
            return
        self._closed = True
        for future in (self._admission, self._grant):
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" noise
        if self._granted:
            if self._lease is not None:
                self._lease.release()
            self._post(ServeDone(self.request.model_id))
        else:
            self._post(Cancel(self.request.id))
        self._on_close(self.request.id)

    def _notify(self, position: int) -> None:
        assert self._on_position is not None
        try:
            self._on_position(position)
        except Exception:
            log.exception("router: queue position callback failed")
