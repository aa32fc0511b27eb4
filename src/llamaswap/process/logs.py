"""A model's captured output: a bounded byte history plus live subscribers.

The child's pipe is drained by the event loop as fast as it writes; nothing here may
ever wait. A subscriber that falls behind loses chunks (its history is intact) and is
told how many bytes it missed, as llama-swap's log monitor does (observability.md §3.1).
Use from the event loop's thread only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

HISTORY_BYTES = 100 * 1024
"""llama-swap's per-monitor history: 100 KiB."""


def dropped_marker(n: int) -> bytes:
    return f"\n— {n} bytes dropped —\n".encode()


class LogSubscription:
    """Live chunks for one reader; ``get()`` returns ``None`` once unsubscribed."""

    def __init__(self, max_chunks: int) -> None:
        if max_chunks < 2:
            raise ValueError("max_chunks must be >= 2 (room for a drop marker and a chunk)")
        self._chunks: deque[bytes] = deque()
        self._max = max_chunks
        self._dropped = 0
        self._closed = False
        self._wakeup = asyncio.Event()

    @property
    def dropped(self) -> int:
        """Bytes dropped and not yet reported by a marker."""
        return self._dropped

    def offer(self, data: bytes) -> None:
        """Queue ``data`` if there is room, else count it as dropped; never waits."""
        if self._closed:
            return
        if self._dropped:
            if len(self._chunks) + 2 > self._max:
                self._dropped += len(data)
                return
            self._chunks.append(dropped_marker(self._dropped))
            self._dropped = 0
        elif len(self._chunks) >= self._max:
            self._dropped += len(data)
            return
        self._chunks.append(data)
        self._wakeup.set()

    def get_nowait(self) -> bytes | None:
        """The next chunk if one is queued, else ``None``."""
        return self._chunks.popleft() if self._chunks else None

    async def get(self) -> bytes | None:
        """Wait for the next chunk; ``None`` when the subscription was closed."""
        while not self._chunks:
            if self._closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._chunks.popleft()

    def close(self) -> None:
        self._closed = True
        self._chunks.clear()
        self._wakeup.set()

    def __aiter__(self) -> LogSubscription:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.get()
        if chunk is None:
            raise StopAsyncIteration
        return chunk


class LogBuffer:
    """Ring of the last ``capacity`` bytes written, fanned out to subscribers.

    ``downstream`` (e.g. the combined upstream log, or our stdout) gets every write
    first, synchronously; it must not block either.
    """

    def __init__(
        self,
        capacity: int = HISTORY_BYTES,
        *,
        downstream: Callable[[bytes], None] | None = None,
    ) -> None:
        self._capacity = max(1, capacity)
        self._ring = bytearray()
        self._subscribers: set[LogSubscription] = set()
        self._downstream = downstream

    @property
    def capacity(self) -> int:
        return self._capacity

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._downstream is not None:
            self._downstream(data)
        self._ring += data[-self._capacity :]
        overflow = len(self._ring) - self._capacity
        if overflow > 0:
            del self._ring[:overflow]
        for sub in self._subscribers:
            sub.offer(data)

    def history(self) -> bytes:
        return bytes(self._ring)

    def subscribe(self, max_chunks: int = 1024) -> LogSubscription:
        sub = LogSubscription(max_chunks)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: LogSubscription) -> None:
        self._subscribers.discard(sub)
        sub.close()
