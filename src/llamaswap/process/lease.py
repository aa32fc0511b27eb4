"""A serve lease: the right to proxy one request to a ready process.

While a lease is held the process counts the request as in flight, so a TTL unload
waits for it. Releasing is synchronous and idempotent (it only posts to the actor), so
it is safe in any ``finally``.
"""

from __future__ import annotations

from collections.abc import Callable

from llamaswap.process.child import Child


class ProcessLease:
    """Satisfies ``router.api.ServeLease``."""

    __slots__ = ("_child", "_on_release", "_released", "base_url", "model_id")

    def __init__(
        self,
        model_id: str,
        base_url: str,
        child: Child,
        on_release: Callable[[Child], None],
    ) -> None:
        self.model_id = model_id
        self.base_url = base_url
        self._child = child
        self._on_release = on_release
        self._released = False

    @property
    def released(self) -> bool:
        return self._released

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._on_release(self._child)

    def __repr__(self) -> str:
        return (
            f"ProcessLease(model_id={self.model_id!r}, pid={self._child.pid}, "
            f"released={self._released})"
        )
