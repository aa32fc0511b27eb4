"""Group planner (router.md §4): swap / exclusive / persistent groups.

Every model outside a configured group lives in the implicit ``(default)`` group (swap
and exclusive), so with no groups at all exactly one model runs at a time. The rule is
deliberately one-way, as in llama-swap: an exclusive group evicts non-exclusive groups,
but loading a non-exclusive member never evicts anyone outside its group.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from llamaswap.config.schema import DEFAULT_GROUP, Group
from llamaswap.router.planners.base import SwapTarget

log = logging.getLogger(__name__)


class GroupPlanner:
    name = "group"

    def __init__(self, groups: Mapping[str, Group], model_ids: Iterable[str]) -> None:
        """``groups`` members are model IDs (the loader resolved aliases)."""
        self._groups: dict[str, Group] = dict(groups)
        self._group_of: dict[str, str] = {}
        for gid, group in self._groups.items():
            for member in group.members:
                self._group_of[member] = gid
        ungrouped = [m for m in model_ids if m not in self._group_of]
        if ungrouped or DEFAULT_GROUP not in self._groups:
            default = self._groups.get(DEFAULT_GROUP) or Group(members=[])
            self._groups[DEFAULT_GROUP] = default
            for model_id in ungrouped:
                self._group_of[model_id] = DEFAULT_GROUP

    def group_of(self, model_id: str) -> str:
        return self._group_of.get(model_id, DEFAULT_GROUP)

    def evictions_for(self, target: SwapTarget, running: frozenset[str]) -> frozenset[str]:
        gid = self.group_of(target.model_id)
        group = self._groups[gid]
        evict: set[str] = set()
        for model_id in running:
            if model_id == target.model_id:
                continue
            other_gid = self.group_of(model_id)
            if other_gid == gid:
                if group.swap:
                    evict.add(model_id)
            elif group.exclusive and not self._groups[other_gid].persistent:
                evict.add(model_id)
        return frozenset(evict)

    def on_swap_start(
        self, target: SwapTarget, evict: frozenset[str], running: frozenset[str]
    ) -> None:
        log.info(
            "group: model=%s group=%s evict=[%s]",
            target.model_id,
            self.group_of(target.model_id),
            ", ".join(sorted(evict)),
        )
