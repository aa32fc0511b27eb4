"""The router's public face: what the HTTP layer may call, and nothing more.

The server never reads scheduler or process state to make a decision. It asks the
router for a :class:`Ticket` (admission, which may raise a 429), waits on it for a
:class:`ServeLease` (the grant plus a lease taken from the process actor), proxies,
and closes the ticket. Closing is what posts ``cancel`` (never granted) or
``serve_done`` (granted) to the run loop, so it must happen in ``finally``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from llamaswap.process.logs import LogBuffer
from llamaswap.process.state import ProcessState


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the router needs to know about one HTTP request."""

    model_id: str
    """Resolved model ID (aliases resolved, profile slug stripped)."""
    path: str = ""
    """Original request path (loading stream only on ``/v1/chat/completions``)."""
    profile: str | None = None
    """Legacy list profile named by a ``profile:model`` request (deviation 4)."""


class ServeLease(Protocol):
    """A granted request's right to proxy to one ready process."""

    @property
    def model_id(self) -> str: ...

    @property
    def base_url(self) -> str:
        """The model's ``proxy`` URL, e.g. ``http://localhost:5800``."""
        ...


QueuePositionCallback = Callable[[int], None]
"""Called with the new 1-based queue position whenever it changes (latest wins)."""


class Ticket(Protocol):
    """One admitted request. Always ``await ticket.close()`` in ``finally``."""

    @property
    def ready_at_admission(self) -> bool:
        """Whether the model's process was ready when admitted (advisory: decides only
        whether a loading-state stream is worth starting)."""
        ...

    async def wait_lease(
        self, on_queue_position: QueuePositionCallback | None = None
    ) -> ServeLease:
        """Wait for the grant and take a serve lease.

        Raises a ``LlamaSwapError`` (e.g. ``UnspecificError`` for a failed start, an
        unload or shutdown). A lease refused because the process began stopping sends
        the request back to the scheduler; the caller never sees that.
        """
        ...

    async def close(self) -> None:
        """Release: ``cancel`` if not yet granted, else release the lease + ``serve_done``."""
        ...


class Router(Protocol):
    """A local router (group or matrix planner under the FIFO scheduler)."""

    def handles(self, model_id: str) -> bool:
        """True when a process exists for ``model_id``."""
        ...

    async def admit(self, request: RequestInfo) -> Ticket:
        """Admission (``concurrencyLimit``): raises ``TooManyRequests`` at once when full,
        ``UnspecificError('<router> is shutting down')`` after shutdown began."""
        ...

    def state(self, model_id: str) -> ProcessState:
        """Advisory state read, for listings and the ignorePaths/websocket 409s."""
        ...

    def states(self) -> dict[str, ProcessState]:
        """Advisory snapshot of every process state."""
        ...

    def logs(self, model_id: str) -> LogBuffer:
        """The model's captured output, for ``/logs/stream/<model>`` (read only: history
        and subscriptions). ``KeyError`` when ``handles(model_id)`` is false."""
        ...

    async def unload(self, model_ids: Sequence[str] | None = None) -> None:
        """Stop the models (all when None) and return when they are stopped; queued and
        swap-waiting requests for them fail with ``<router>: model unloaded``."""
        ...

    async def shutdown(self, timeout: float) -> None:  # noqa: ASYNC109
        """Fail waiters, stop every process in parallel within ``timeout``; terminal."""
        ...
