"""Matrix planner (router.md §5.4): keep the cheapest allowed set that holds the target.

Naive expansion (config/matrix_dsl.py) is enough for hand-written configs; expansion is
bounded there. Ties go to the earliest candidate: sets in topological order, and within
a set its expansion order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from llamaswap.config.matrix_dsl import ExpandedSet, compile_sets
from llamaswap.config.schema import Matrix
from llamaswap.router.planners.base import SwapTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    set_name: str
    """Empty when no set holds the target (it then runs alone)."""
    dsl: str
    keep: frozenset[str]
    evict: frozenset[str]
    cost: int


class MatrixPlanner:
    name = "matrix"

    def __init__(self, sets: Sequence[ExpandedSet], costs: Mapping[str, int]) -> None:
        """``costs`` is keyed by model ID; a model not listed costs 1 to evict."""
        self._sets = list(sets)
        self._costs = dict(costs)

    @classmethod
    def from_config(cls, matrix: Matrix, model_ids: Iterable[str]) -> MatrixPlanner:
        """Raises ``DslError`` for a bad set (the loader reports it first)."""
        ids = set(model_ids)
        sets = compile_sets(matrix.sets, matrix.vars, ids)
        costs = {matrix.vars.get(key, key): cost for key, cost in matrix.evict_costs.items()}
        return cls(sets, costs)

    def solve(self, target: str, running: frozenset[str]) -> Decision:
        if target in running:
            return Decision("", "", running, frozenset(), 0)  # informational only
        best: Decision | None = None
        for expanded in self._sets:
            for allowed in expanded.alternatives:
                if target not in allowed:
                    continue
                evict = running - allowed
                cost = sum(self._costs.get(m, 1) for m in evict)
                if best is None or cost < best.cost:
                    keep = (running & allowed) | {target}
                    best = Decision(expanded.name, expanded.dsl, keep, evict, cost)
        if best is None:
            return Decision("", "", frozenset({target}), running, 0)
        return best

    def evictions_for(self, target: SwapTarget, running: frozenset[str]) -> frozenset[str]:
        return self.solve(target.model_id, running).evict

    def on_swap_start(
        self, target: SwapTarget, evict: frozenset[str], running: frozenset[str]
    ) -> None:
        decision = self.solve(target.model_id, running)
        log.info(
            'matrix: model=%s set=%s dsl="%s" evict=[%s] target=[%s] cost=%d',
            target.model_id,
            decision.set_name or "(alone)",
            decision.dsl,
            ", ".join(sorted(evict)),
            ", ".join(sorted(decision.keep)),
            decision.cost,
        )
