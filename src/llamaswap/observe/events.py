"""The in-process event bus behind ``/api/events`` (observability.md §1).

Publishers (process actors, the in-flight tracker, profile and config changes) call
:meth:`EventBus.publish`, which never waits: each subscriber has its own bounded queue
and an event that does not fit is dropped for that subscriber alone (counted, so the
reader can recover with a fresh snapshot). llama-swap blocks the publisher instead;
here a stalled browser can never hold up a process state change or a request
(the [EXT] of §1). Each subscriber sees events in publication order.
Use from the event loop's thread only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llamaswap.process.state import ProcessState

DEFAULT_QUEUE = 1024
"""llama-swap's per-connection send buffer for ``/api/events``."""


@dataclass(frozen=True, slots=True)
class ProcessStateChanged:
    model_id: str
    old: ProcessState
    new: ProcessState


@dataclass(frozen=True, slots=True)
class ConfigReloaded:
    """A reload installed a new config (the app and its streams stay)."""


@dataclass(frozen=True, slots=True)
class ProfileChanged:
    active: str | None


@dataclass(frozen=True, slots=True)
class InFlightUpdate:
    """One ``inflight`` payload: ``upsert``, ``remove`` or ``snapshot``."""

    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Live output of the ``proxy`` or ``upstream`` log monitor."""

    source: str
    data: bytes


Event = ProcessStateChanged | ConfigReloaded | ProfileChanged | InFlightUpdate | LogChunk


class Subscription:
    """One reader's bounded queue; :meth:`get` returns None once it is closed."""

    def __init__(self, max_events: int, on_overflow: Callable[[], None] | None = None) -> None:
        if max_events < 1:
            raise ValueError("max_events must be >= 1")
        self._events: deque[Event] = deque()
        self._max = max_events
        self._dropped = 0
        self._overflowing = False
        self._on_overflow = on_overflow
        self._closed = False
        self._wakeup = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._closed

    def offer(self, event: Event) -> bool:
        """Queue ``event`` if there is room, else drop it; never waits."""
        if self._closed:
            return False
        if len(self._events) >= self._max:
            self._dropped += 1
            if not self._overflowing and self._on_overflow is not None:
                self._overflowing = True  # one report per episode: the report is a log
                self._on_overflow()  # line, which would otherwise feed the overflow
            return False
        self._events.append(event)
        self._wakeup.set()
        return True

    def take_dropped(self) -> int:
        """Events dropped since the last call (the reader then resynchronises)."""
        n, self._dropped = self._dropped, 0
        return n

    def get_nowait(self) -> Event | None:
        if not self._events:
            self._overflowing = False
            return None
        return self._events.popleft()

    async def get(self) -> Event | None:
        """Wait for the next event; None when closed."""
        while not self._events:
            self._overflowing = False
            if self._closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._events.popleft()

    def close(self) -> None:
        self._closed = True
        self._events.clear()
        self._wakeup.set()


class EventBus:
    """Fan-out of :data:`Event` to every open :class:`Subscription`."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(
        self, max_events: int = DEFAULT_QUEUE, *, on_overflow: Callable[[], None] | None = None
    ) -> Subscription:
        sub = Subscription(max_events, on_overflow)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)
        sub.close()

    def publish(self, event: Event) -> None:
        """Offer ``event`` to every subscriber; a no-op without any."""
        for sub in self._subscribers:
            sub.offer(event)

    def process_state_callback(self) -> Callable[[str, ProcessState, ProcessState], None]:
        """The ``on_process_state`` hook for ``build_router``."""

        def publish(model_id: str, old: ProcessState, new: ProcessState) -> None:
            self.publish(ProcessStateChanged(model_id, old, new))

        return publish
