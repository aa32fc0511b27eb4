"""Matrix solver tables from router.md §5.5."""

from __future__ import annotations

import pytest

from llamaswap.config.schema import Matrix
from llamaswap.router.planners.base import SwapTarget
from llamaswap.router.planners.matrix import MatrixPlanner

MODELS = ["g", "q", "m", "v", "e", "L", "x"]
WORKED = Matrix(
    sets={"standard": "(g|q|m) & v", "with_rerank": "(g|q) & v & e", "full": "L"},
    evict_costs={"v": 50, "L": 30},
)


def _ids(text: str) -> frozenset[str]:
    return frozenset(t for t in text.split(",") if t)


@pytest.mark.parametrize(
    ("running", "target", "set_name", "evict", "cost"),
    [
        ("", "g", "standard", "", 0),
        ("v", "g", "standard", "", 0),
        ("g,v", "q", "standard", "g", 1),
        ("g,v", "e", "with_rerank", "", 0),
        ("m,v", "e", "with_rerank", "m", 1),
        ("v", "L", "full", "v", 50),
        ("g,v", "x", "", "g,v", 0),
        ("L", "v", "standard", "L", 30),
    ],
)
def test_worked_examples(running: str, target: str, set_name: str, evict: str, cost: int) -> None:
    """router.md §5.5, row by row."""
    planner = MatrixPlanner.from_config(WORKED, MODELS)
    decision = planner.solve(target, _ids(running))
    assert (decision.set_name, decision.evict, decision.cost) == (set_name, _ids(evict), cost)


def test_tie_between_alternatives_goes_to_the_first() -> None:
    """{m,v} + e: [g,v,e] and [q,v,e] cost the same; g's alternative wins."""
    planner = MatrixPlanner.from_config(WORKED, MODELS)
    assert planner.solve("e", _ids("m,v")).keep == {"e", "v"}
    assert planner.solve("e", frozenset()).set_name == "with_rerank"


def test_costs_steer_the_choice_between_sets() -> None:
    """a_with_c is defined first, but evicting c (1) is cheaper than evicting b (10)."""
    matrix = Matrix(sets={"a_with_c": "a & c", "a_with_b": "a & b"}, evict_costs={"b": 10, "c": 1})
    planner = MatrixPlanner.from_config(matrix, ["a", "b", "c"])
    decision = planner.solve("a", _ids("b,c"))
    assert (decision.set_name, decision.evict) == ("a_with_b", frozenset({"c"}))


def test_ties_between_sets_go_to_the_earliest_defined() -> None:
    """first: a & b beats second: a & c with nothing running."""
    matrix = Matrix(sets={"first": "a & b", "second": "a & c"})
    planner = MatrixPlanner.from_config(matrix, ["a", "b", "c"])
    assert planner.solve("a", frozenset()).set_name == "first"


def test_references_inline_other_sets_in_topological_order() -> None:
    """mega references with_tts which references llms: running {g,v} + e evicts nothing."""
    matrix = Matrix(sets={"mega": "+with_tts & e", "llms": "g|q|m", "with_tts": "+llms & v"})
    planner = MatrixPlanner.from_config(matrix, MODELS)
    decision = planner.solve("e", _ids("g,v"))
    assert (decision.set_name, decision.evict, decision.keep) == (
        "mega",
        frozenset(),
        frozenset({"e", "g", "v"}),
    )


def test_running_target_evicts_nothing_even_outside_every_set() -> None:
    """Informational only: the target already runs."""
    planner = MatrixPlanner.from_config(WORKED, MODELS)
    assert planner.evictions_for(SwapTarget("x"), _ids("x,g,L")) == frozenset()


def test_vars_name_models_in_sets_and_costs() -> None:
    """A var resolves before a model ID, in sets and in evict_costs."""
    matrix = Matrix(
        vars={"big": "org/llama:70b"},
        sets={"solo": "big", "pair": "small & tts"},
        evict_costs={"big": 7},
    )
    planner = MatrixPlanner.from_config(matrix, ["org/llama:70b", "small", "tts"])
    decision = planner.solve("small", _ids("org/llama:70b"))
    assert decision.evict == {"org/llama:70b"}
    assert decision.cost == 7
