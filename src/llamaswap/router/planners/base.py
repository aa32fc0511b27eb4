"""The swap planner seam: which running models must stop so a target can run.

Group, matrix and legacy-profile planning are all plain ``SwapPlanner``s; a new planner
is added without touching the scheduler or the run loop (router/DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SwapTarget:
    """What a request wants to run: a model, optionally as a member of a legacy list
    profile (design.md deviation 4)."""

    model_id: str
    profile: str | None = None


class SwapPlanner(Protocol):
    @property
    def name(self) -> str:
        """``group`` or ``matrix``: prefixes errors such as ``group: model unloaded``."""
        ...

    def evictions_for(self, target: SwapTarget, running: frozenset[str]) -> frozenset[str]:
        """Models in ``running`` to stop before ``target`` may run.

        Pure and cheap: it runs again for every queued request on every drain, so it
        never logs, mutates or reads process state. ``running`` is the live processes
        plus the targets of other active swaps."""
        ...

    def on_swap_start(
        self, target: SwapTarget, evict: frozenset[str], running: frozenset[str]
    ) -> None:
        """A swap was committed (``evict`` was computed from ``running``): the one place
        a planner logs its decision."""
        ...
