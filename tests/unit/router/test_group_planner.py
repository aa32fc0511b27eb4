"""Group planner tables from router.md §4.3 (the contract, including the one-way
non-exclusive rule and persistent groups)."""

from __future__ import annotations

import pytest

from llamaswap.config.schema import Group
from llamaswap.router.planners.base import SwapTarget
from llamaswap.router.planners.group import GroupPlanner


def _loaded_after(planner: GroupPlanner, requests: str) -> set[str]:
    running: frozenset[str] = frozenset()
    for model_id in requests.split(","):
        evict = planner.evictions_for(SwapTarget(model_id), running)
        assert evict <= running, f"evicted {evict - running} which was not running"
        running = (running - evict) | {model_id}
    return set(running)


CONFIG_B = {
    "G1": Group(members=["a", "b"], swap=True, exclusive=True),
    "G2": Group(members=["x", "y"], swap=False, exclusive=False),
    "P": Group(members=["p"], persistent=True, swap=False, exclusive=False),
}


@pytest.mark.parametrize(
    ("requests", "want"),
    [("a", {"a"}), ("a,b", {"b"}), ("a,b,a", {"a"})],
)
def test_default_group_runs_one_model_at_a_time(requests: str, want: set[str]) -> None:
    """Config A: no groups, everything in (default)."""
    planner = GroupPlanner({}, ["a", "b", "c"])
    assert _loaded_after(planner, requests) == want


@pytest.mark.parametrize(
    ("requests", "want"),
    [
        ("x,y", {"x", "y"}),
        ("x,y,a", {"a"}),
        ("a,x", {"a", "x"}),
        ("a,x,y", {"a", "x", "y"}),
        ("a,x,a", {"a"}),
        ("a,b", {"b"}),
        ("p,a", {"p", "a"}),
        ("p,a,c", {"p", "c"}),
        ("a,p", {"a", "p"}),
        ("c,x", {"c", "x"}),
        ("c,x,c", {"c"}),
    ],
)
def test_config_b_sequences(requests: str, want: set[str]) -> None:
    """Config B of router.md §4.3, row by row."""
    planner = GroupPlanner(CONFIG_B, ["a", "b", "x", "y", "p", "c"])
    assert _loaded_after(planner, requests) == want, f"after {requests}"


@pytest.mark.parametrize(
    ("requests", "want"),
    [("a,b", {"a", "b"}), ("a,b,c", {"c"}), ("a,b,c,a", {"a"})],
)
def test_config_c_non_swapping_exclusive_group(requests: str, want: set[str]) -> None:
    """Config C: G {a, b} swap false, exclusive true; H {c} defaults."""
    groups = {"G": Group(members=["a", "b"], swap=False), "H": Group(members=["c"])}
    planner = GroupPlanner(groups, ["a", "b", "c"])
    assert _loaded_after(planner, requests) == want


def test_non_exclusive_member_never_evicts_an_exclusive_group() -> None:
    """The one-way rule: loading x leaves a (exclusive G1) running."""
    planner = GroupPlanner(CONFIG_B, ["a", "b", "x", "y", "p", "c"])
    assert planner.evictions_for(SwapTarget("x"), frozenset({"a"})) == frozenset()


def test_persistent_group_still_swaps_inside_itself() -> None:
    """Persistence protects from other groups only."""
    groups = {"P": Group(members=["p", "q"], persistent=True)}
    planner = GroupPlanner(groups, ["p", "q", "z"])
    assert planner.evictions_for(SwapTarget("q"), frozenset({"p"})) == {"p"}
    assert planner.evictions_for(SwapTarget("z"), frozenset({"p"})) == frozenset()


def test_target_is_never_in_its_own_evict_set() -> None:
    """A running target stays; the rule is applied on every request."""
    planner = GroupPlanner({}, ["a", "b"])
    assert planner.evictions_for(SwapTarget("a"), frozenset({"a", "b"})) == {"b"}
