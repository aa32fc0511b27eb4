"""Legacy list profiles (design.md deviation 4) as a decorator over any planner.

A request for ``coding:qwen`` runs qwen beside the other members of ``coding`` whatever
groups or matrix say: it evicts every running model outside the profile and never a
member. Requests without a profile go to the wrapped planner unchanged, so a later plain
``qwen`` request is routed by the normal rules. Neither the scheduler nor the run loop
knows profiles exist.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from llamaswap.router.planners.base import SwapPlanner, SwapTarget

log = logging.getLogger(__name__)


class ProfilePlanner:
    def __init__(self, inner: SwapPlanner, profiles: Mapping[str, frozenset[str]]) -> None:
        """``profiles`` maps each legacy list profile to its member model IDs."""
        self._inner = inner
        self._profiles = dict(profiles)

    @property
    def name(self) -> str:
        return self._inner.name

    def evictions_for(self, target: SwapTarget, running: frozenset[str]) -> frozenset[str]:
        if target.profile is None:
            return self._inner.evictions_for(target, running)
        members = self._profiles.get(target.profile, frozenset())
        return frozenset(m for m in running if m != target.model_id and m not in members)

    def on_swap_start(
        self, target: SwapTarget, evict: frozenset[str], running: frozenset[str]
    ) -> None:
        if target.profile is None:
            self._inner.on_swap_start(target, evict, running)
            return
        log.info(
            "profile: model=%s profile=%s evict=[%s]",
            target.model_id,
            target.profile,
            ", ".join(sorted(evict)),
        )
