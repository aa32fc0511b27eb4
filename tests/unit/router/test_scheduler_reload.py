"""Scheduler.on_reload: waiting requests under a new config (design.md deviation 1)."""

from __future__ import annotations

from llamaswap.config.schema import Group
from llamaswap.errors import NotFound
from llamaswap.router.planners.group import GroupPlanner

from .harness import READY, Harness


def reload(h: Harness, models: list[str], groups: dict[str, Group] | None = None) -> None:
    h.models = models
    h.sched.on_reload(
        GroupPlanner(groups or {}, models),
        limits=dict.fromkeys(models, 10),
        priority={},
        max_wait=0.0,
    )


def test_queued_request_for_a_removed_model_fails_with_404() -> None:
    """Requests waiting for a model the new config lacks get a clear 404."""
    h = Harness(["a", "b"])
    h.req("a")
    queued = h.req("b")  # waits: the swap to a is active and b would evict it
    reload(h, ["a"])
    error = h.eff.error_for(queued.id)
    assert isinstance(error, NotFound), error
    assert "removed by a config reload" in error.message


def test_waiters_of_an_abandoned_swap_are_decided_again() -> None:
    """The run loop cancels every swap at a reload; their waiters start a new one."""
    h = Harness(["a", "b"])
    h.req("a")
    h.req("a")
    assert h.eff.starts_for("a") == 1
    reload(h, ["a", "b"])
    assert h.eff.starts_for("a") == 2
    h.swap_ready("a")
    assert h.served_models() == ["a", "a"]


def test_new_model_is_admitted_after_reload() -> None:
    """A model added by the reload is scheduled like any other."""
    h = Harness(["a"])
    reload(h, ["a", "c"])
    h.req("c")
    assert h.eff.starts_for("c") == 1


def test_new_groups_decide_evictions_after_reload() -> None:
    """With a and b in one non-swapping group after the reload, b loads beside a."""
    h = Harness(["a", "b"])
    h.req("a")
    h.swap_ready("a")
    h.done("a")
    reload(h, ["a", "b"], groups={"g": Group(members=["a", "b"], swap=False)})
    h.req("b")
    assert h.eff.last_start("b").evict == frozenset()


def test_in_flight_request_of_a_removed_model_still_ends_cleanly() -> None:
    """Counters of a removed model live on until its in-flight requests end."""
    h = Harness(["a", "b"])
    h.req("b")
    h.swap_ready("b")
    reload(h, ["a"])
    h.done("b")
    assert h.sched.in_flight("b") == 0
    assert h.sched.reserved("b") == 0
    h.eff.states["a"] = READY
    h.req("a")
    assert h.served_models() == ["b", "a"]
