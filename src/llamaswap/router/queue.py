"""The scheduler's wait queue: priority order, FIFO among equals, queue positions.

Kept apart from the decision tree so the ordering rule (router.md §2.8) and the position
broadcast (only changed positions are sent) can be read and tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from llamaswap.router.effects import Effects
from llamaswap.router.events import Request


class WaitQueue:
    def __init__(self, priority: Mapping[str, int], effects: Effects) -> None:
        self._priority = dict(priority)
        self._effects = effects
        self._items: list[Request] = []
        self._sent: dict[int, int] = {}
        """Last position told to each queued request, so unchanged ones are not resent."""

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def priority(self, model_id: str) -> int:
        return self._priority.get(model_id, 0)

    def add(self, request: Request) -> None:
        """Insert just before the first request with a strictly lower priority."""
        mine = self.priority(request.model_id)
        for i, queued in enumerate(self._items):
            if self.priority(queued.model_id) < mine:
                self._items.insert(i, request)
                return
        self._items.append(request)

    def snapshot(self) -> list[Request]:
        return list(self._items)

    def ids(self) -> list[int]:
        return [r.id for r in self._items]

    def oldest(self) -> Request | None:
        """The request that arrived first (priority does not matter here)."""
        return min(self._items, key=lambda r: (r.arrived, r.id), default=None)

    def remove_id(self, request_id: int) -> Request | None:
        for i, queued in enumerate(self._items):
            if queued.id == request_id:
                self._sent.pop(request_id, None)
                return self._items.pop(i)
        return None

    def remove_models(self, model_ids: Set[str]) -> list[Request]:
        """Take out every request for one of ``model_ids``; the others keep their order."""
        taken = [r for r in self._items if r.model_id in model_ids]
        self._items = [r for r in self._items if r.model_id not in model_ids]
        for request in taken:
            self._sent.pop(request.id, None)
        return taken

    def broadcast_positions(self) -> None:
        """Send each queued request its 1-based position when it changed."""
        for position, request in enumerate(self._items, start=1):
            if self._sent.get(request.id) != position:
                self._sent[request.id] = position
                self._effects.notify_queue_position(request, position)
