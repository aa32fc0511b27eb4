"""The FIFO scheduler's decision tree, bookkeeping and queue (router.md §2).

Pure: a recording fake Effects and a fake clock, no sockets, processes or sleeps.
"""

from __future__ import annotations

import pytest

from llamaswap.config.schema import Group
from llamaswap.errors import NotFound, TooManyRequests, UnspecificError
from llamaswap.router.events import ServeDone, SwapDone, Unload

from .harness import READY, STOPPED, STOPPING, Harness


def test_cold_request_starts_a_swap_and_is_granted_when_ready() -> None:
    """(6) A cold model starts one swap; its request is granted when the swap is done."""
    h = Harness()
    h.req("a")
    assert h.eff.starts_for("a") == 1
    assert h.eff.served("a") == 0
    h.swap_ready("a")
    assert h.eff.served("a") == 1
    assert h.sched.in_flight("a") == 1
    assert h.sched.reserved("a") == 1


def test_requests_for_a_loading_model_join_its_swap() -> None:
    """(2) A second request while the model loads joins the swap: one start, two grants."""
    h = Harness()
    h.req("a")
    h.req("a")
    h.swap_ready("a")
    assert h.eff.starts_for("a") == 1, f"got {h.eff.starts_for('a')} starts, want 1"
    assert h.eff.served("a") == 2


def test_ready_model_with_nothing_to_evict_is_served_at_once() -> None:
    """(3) The fast path grants without a swap."""
    h = Harness()
    h.eff.states["a"] = READY
    h.req("a")
    assert h.eff.served("a") == 1
    assert h.eff.starts_for("a") == 0


def test_request_colliding_with_an_active_swap_is_queued() -> None:
    """(4) b would evict a, whose swap is active: b waits in the queue."""
    h = Harness()
    h.req("a")
    b = h.req("b")
    assert h.eff.starts_for("b") == 0
    assert h.sched.queued_ids() == [b.id]


def test_eviction_of_a_busy_model_waits_until_it_drains() -> None:
    """(5) Swaps never cut running requests: b starts only when a's last request ends."""
    h = Harness()
    h.req("a")
    h.req("a")
    h.swap_ready("a")
    h.req("b")
    assert h.eff.starts_for("b") == 0
    h.done("a")
    assert h.eff.starts_for("b") == 0, "a still has one request in flight"
    h.done("a")
    assert h.eff.starts_for("b") == 1
    assert h.eff.last_start("b").evict == {"a"}


def test_collation_serves_abcabc_as_aabbcc() -> None:
    """router.md §2.9: six requests, three swaps, service order A A B B C C."""
    h = Harness()
    for model in ("a", "b", "c", "a", "b", "c"):
        h.req(model)
    h.swap_ready("a")
    assert h.served_models() == ["a", "a"]
    h.done("a")
    assert h.eff.starts_for("b") == 0
    h.done("a")
    h.swap_ready("b")
    assert h.served_models() == ["a", "a", "b", "b"]
    h.done("b", times=2)
    h.swap_ready("c")
    assert h.served_models() == ["a", "a", "b", "b", "c", "c"]
    assert [s.model_id for s in h.eff.starts] == ["a", "b", "c"], "3 swaps, not 5"


def test_swaps_that_do_not_collide_run_in_parallel() -> None:
    """Two members of a non-swapping, non-exclusive group load together."""
    groups = {"g2": Group(members=["x", "y"], swap=False, exclusive=False)}
    h = Harness(["x", "y"], groups=groups)
    h.req("x")
    h.req("y")
    assert h.eff.starts_for("x") == 1
    assert h.eff.starts_for("y") == 1


def test_ready_model_that_an_active_swap_will_evict_is_queued() -> None:
    """The fast path is refused when an active swap's evict list holds the model."""
    h = Harness()
    h.eff.states["a"] = READY
    h.req("b")
    assert h.eff.last_start("b").evict == {"a"}
    a = h.req("a")
    assert h.eff.served("a") == 0
    assert h.sched.queued_ids() == [a.id]


def test_concurrency_limit_rejects_with_429_before_queueing() -> None:
    """reserved = queued + loading + serving; the request past the limit gets 429."""
    h = Harness(limit=2)
    h.req("a")
    h.req("a")
    third = h.req("a")
    assert isinstance(h.eff.error_for(third.id), TooManyRequests)
    assert h.sched.reserved("a") == 2


def test_reservation_is_released_when_a_served_request_ends() -> None:
    """After serve_done the model admits again."""
    h = Harness(limit=1)
    h.req("a")
    h.swap_ready("a")
    h.done("a")
    again = h.req("a")
    assert h.eff.error_for(again.id) is None
    assert h.eff.served("a") == 2


def test_unknown_model_is_not_found() -> None:
    """An unknown model is a 404 at admission."""
    h = Harness()
    request = h.req("nope")
    error = h.eff.error_for(request.id)
    assert isinstance(error, NotFound)
    assert error.message == "no local server found for requested model"


def test_cancel_while_queued_releases_reservation_and_never_loads() -> None:
    """A cancelled queued request is dropped and never triggers a load."""
    h = Harness()
    h.req("a")
    b = h.req("b")
    h.cancel(b)
    assert h.sched.reserved("b") == 0
    assert h.sched.queued_ids() == []
    h.swap_ready("a")
    h.done("a")
    assert h.eff.starts_for("b") == 0


def test_cancelling_the_only_waiter_lets_the_swap_complete() -> None:
    """router.md §2.12: the swap still completes; nobody is granted; nothing leaks."""
    h = Harness()
    a = h.req("a")
    h.cancel(a)
    assert h.sched.reserved("a") == 0
    h.swap_ready("a")
    assert h.eff.served("a") == 0
    assert h.sched.in_flight("a") == 0


def test_refused_grant_does_not_leak_in_flight() -> None:
    """A grant the caller never took counts for nothing, so the model stays evictable."""
    h = Harness()
    a = h.req("a")
    h.eff.gone.add(a.id)
    h.swap_ready("a")
    assert h.sched.in_flight("a") == 0
    assert h.sched.reserved("a") == 0
    h.req("b")
    assert h.eff.starts_for("b") == 1, "a is idle, so b's swap starts at once"


def test_failed_swap_answers_every_waiter_and_drains_the_queue() -> None:
    """All waiters get the swap's error; queued requests then get their turn."""
    h = Harness()
    first, second = h.req("a"), h.req("a")
    h.req("b")
    h.swap_failed("a", UnspecificError("upstream command exited prematurely"))
    for request in (first, second):
        error = h.eff.error_for(request.id)
        assert error is not None
        assert error.message == "unspecific error: upstream command exited prematurely"
    assert h.sched.reserved("a") == 0
    assert h.eff.starts_for("b") == 1


def test_stale_swap_done_after_unload_is_ignored() -> None:
    """A SwapDone whose active entry was removed (unload) grants nobody."""
    h = Harness()
    h.req("a")
    start = h.eff.last_start("a")
    h.sched._active.clear()  # as an unload leaves it
    h.eff.states["a"] = READY
    h.sched.on_swap_done(SwapDone("a", start.swap_id))
    assert h.eff.served("a") == 0


async def test_unload_fails_waiters_and_queued_requests_of_targets_only() -> None:
    """router.md §2.11: `group: model unloaded` for the targets; others stay queued."""
    groups = {"g": Group(members=["a", "b"])}
    h = Harness(["a", "b", "c"], groups=groups)
    waiter = h.req("a")
    queued_b = h.req("b")
    await h.sched.on_unload(Unload(frozenset({"a", "b"}), 7.0))
    for request in (waiter, queued_b):
        error = h.eff.error_for(request.id)
        assert error is not None
        assert error.message == "unspecific error: group: model unloaded"
    assert h.eff.stops == [(frozenset({"a", "b"}), 7.0)]
    assert h.sched.reserved("a") == 0
    assert h.sched.reserved("b") == 0


async def test_unload_drains_the_queue_afterwards() -> None:
    """Requests for other models that waited on the unloaded one get their swap."""
    h = Harness()
    h.req("a")
    h.swap_ready("a")
    h.req("b")  # waits: a is busy
    await h.sched.on_unload(Unload(frozenset({"a"}), 10.0))
    assert h.eff.starts_for("b") == 1
    assert h.sched.in_flight("a") == 1, "in-flight counts are not reset by unload"


def test_shutdown_fails_every_waiter_and_every_later_request() -> None:
    """router.md §2.15: `group is shutting down` for waiters, queued and new requests."""
    h = Harness()
    waiter, queued = h.req("a"), h.req("b")
    h.sched.on_shutdown()
    late = h.req("c")
    for request in (waiter, queued, late):
        error = h.eff.error_for(request.id)
        assert error is not None
        assert error.message == "unspecific error: group is shutting down"
    assert h.sched.reserved("a") == 0
    assert h.sched.reserved("c") == 0


def test_priority_inserts_before_the_first_lower_priority_request() -> None:
    """Higher priority goes first in the queue; it never jumps the fast path."""
    h = Harness(["a", "b", "c", "d"], priority={"c": 5, "d": 1})
    h.req("a")
    b = h.req("b")
    d = h.req("d")
    c = h.req("c")
    assert h.sched.queued_ids() == [c.id, d.id, b.id]


def test_equal_priorities_keep_arrival_order() -> None:
    """FIFO among equals."""
    h = Harness(["a", "b", "c"], priority={"b": 2, "c": 2})
    h.req("a")
    b = h.req("b")
    c = h.req("c")
    assert h.sched.queued_ids() == [b.id, c.id]


def test_queue_positions_are_sent_when_they_change() -> None:
    """Each queued request hears its 1-based position, again only when it moves."""
    h = Harness()
    h.req("a")
    b, c = h.req("b"), h.req("c")
    assert h.eff.positions == {b.id: [1], c.id: [2]}
    h.cancel(b)
    assert h.eff.positions[c.id] == [2, 1]


def test_refused_lease_sends_the_request_back_to_the_scheduler() -> None:
    """#946: the model began stopping after the grant; the request gets a new swap."""
    h = Harness()
    h.eff.states["a"] = READY
    a = h.req("a")
    assert h.sched.in_flight("a") == 1
    h.eff.states["a"] = STOPPING  # TTL unload began
    h.requeue(a)
    assert h.eff.error_for(a.id) is None
    assert h.eff.starts_for("a") == 1
    assert h.sched.in_flight("a") == 0
    h.swap_ready("a")
    assert h.eff.served("a") == 2
    assert h.sched.reserved("a") == 1


def test_process_that_stops_on_its_own_drains_the_queue() -> None:
    """A crash or TTL stop (ProcessChanged) lets queued requests re-decide."""
    h = Harness()
    h.eff.states["a"] = READY
    h.req("a")
    h.req("b")
    assert h.eff.starts_for("b") == 0
    h.process_changed("a", STOPPED)
    assert h.eff.starts_for("b") == 1
    assert h.eff.last_start("b").evict == frozenset()


def test_serve_done_without_a_grant_is_a_broken_invariant() -> None:
    """Counters never clamp silently."""
    h = Harness()
    with pytest.raises(RuntimeError, match="would go negative"):
        h.sched.on_serve_done(ServeDone("a"))


def test_swap_commit_is_reported_to_the_planner_once() -> None:
    """on_swap_start runs for committed swaps only, not for speculative queries."""
    h = Harness()
    h.req("a")
    for _ in range(3):
        h.req("b")
    h.swap_ready("a")
    assert h.planner.committed == [("a", frozenset())]
