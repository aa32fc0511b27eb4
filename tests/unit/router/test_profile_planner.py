"""Legacy list profiles as a planner decorator (design.md deviation 4)."""

from __future__ import annotations

from llamaswap.router.planners.base import SwapTarget
from llamaswap.router.planners.group import GroupPlanner
from llamaswap.router.planners.profile import ProfilePlanner

MODELS = ["qwen", "llama", "other"]


def _planner() -> ProfilePlanner:
    inner = GroupPlanner({}, MODELS)
    return ProfilePlanner(inner, {"coding": frozenset({"qwen", "llama"})})


def test_profile_request_keeps_members_and_evicts_everything_else() -> None:
    """coding:llama with qwen and other running evicts only other."""
    evict = _planner().evictions_for(SwapTarget("llama", "coding"), frozenset({"qwen", "other"}))
    assert evict == {"other"}


def test_plain_request_follows_the_wrapped_planner() -> None:
    """A later plain qwen is routed by the normal rules (default group: one at a time)."""
    evict = _planner().evictions_for(SwapTarget("qwen"), frozenset({"qwen", "llama"}))
    assert evict == {"llama"}


def test_profile_planner_keeps_the_wrapped_planners_name() -> None:
    """Errors still say `group: ...` or `matrix: ...`."""
    assert _planner().name == "group"
