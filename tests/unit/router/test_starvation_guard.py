"""The starvation guard ``fifo.maxWait`` (design.md "Beyond llama-swap").

Once the oldest queued request (by arrival) has waited longer than maxWait, the models
its swap would evict take no new requests (no fast path, no join); in-flight requests
are never cut and its swap starts as soon as they drain. Time comes from the fake clock.
"""

from __future__ import annotations

from .harness import READY, Harness


def _busy_a_with_b_waiting(max_wait: float) -> Harness:
    h = Harness(max_wait=max_wait)
    h.eff.states["a"] = READY
    h.req("a")  # in flight on a
    h.req("b")  # queued: evicting a must wait
    return h


def test_fast_path_continues_before_max_wait() -> None:
    """Below maxWait llama-swap's behaviour holds: a keeps being served."""
    h = _busy_a_with_b_waiting(max_wait=10)
    h.tick(9)
    h.req("a")
    assert h.eff.served("a") == 2


def test_starving_request_stops_the_fast_path_for_models_it_would_evict() -> None:
    """After maxWait a new request for a is queued instead of served."""
    h = _busy_a_with_b_waiting(max_wait=10)
    h.tick(11)
    late_a = h.req("a")
    assert h.eff.served("a") == 1
    assert late_a.id in h.sched.queued_ids()


def test_starving_swap_starts_when_in_flight_drains_and_goes_first() -> None:
    """In-flight requests finish; then b's swap starts ahead of the queued a."""
    h = _busy_a_with_b_waiting(max_wait=10)
    h.tick(11)
    h.req("a")
    assert h.eff.starts_for("b") == 0, "the in-flight request on a is never cut"
    h.done("a")
    assert h.eff.starts_for("b") == 1
    h.swap_ready("b")
    assert h.served_models() == ["a", "b"]


def test_starving_request_stops_joins_to_models_it_would_evict() -> None:
    """A request for a model that is loading does not join once the guard holds it."""
    h = Harness(max_wait=10)
    h.req("a")  # a loading
    h.req("b")  # queued behind a's swap
    h.tick(11)
    late_a = h.req("a")
    h.swap_ready("a")
    assert h.eff.served("a") == 1, "only the original waiter of a's swap is served"
    assert late_a.id in h.sched.queued_ids()
    h.done("a")
    assert h.eff.starts_for("b") == 1


def test_zero_max_wait_disables_the_guard() -> None:
    """maxWait 0: a can starve b forever, exactly as llama-swap does."""
    h = _busy_a_with_b_waiting(max_wait=0)
    h.tick(10_000)
    h.req("a")
    assert h.eff.served("a") == 2


def test_guard_picks_the_oldest_request_by_arrival_not_by_priority() -> None:
    """A later high-priority request does not become the starving one."""
    h = Harness(["a", "b", "c"], priority={"c": 9}, max_wait=10)
    h.eff.states["a"] = READY
    h.req("a")
    h.req("b")  # oldest queued
    h.eff.clock += 5
    h.req("c")  # queued ahead of b by priority
    h.tick(6)  # b waited 11 s, c only 6 s
    h.done("a")
    assert [s.model_id for s in h.eff.starts] == ["b"], "the starving b goes first"


def test_tick_without_a_starving_request_changes_nothing() -> None:
    """Ticks are cheap no-ops until someone starves."""
    h = _busy_a_with_b_waiting(max_wait=10)
    before = (list(h.eff.starts), list(h.eff.grants))
    h.sched.on_tick()
    assert (h.eff.starts, h.eff.grants) == before
