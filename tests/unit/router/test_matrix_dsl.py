"""The matrix set DSL: error wording with columns, expansion, canonical rendering, and
the solver checked against an oracle that never expands anything."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llamaswap.config.matrix_dsl import (
    And,
    DslError,
    Ident,
    Node,
    Or,
    Ref,
    check_sets,
    compile_sets,
    parse,
    render,
)
from llamaswap.router.planners.matrix import MatrixPlanner


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("", "empty DSL expression at column 1"),
        ("   ", "empty DSL expression at column 1"),
        ("a @ b", "unexpected character '@' at column 3"),
        ("a & +", "expected set name after '+' at column 6"),
        ("a &", "unexpected token at end of expression at column 4"),
        ("(a | b", "missing closing parenthesis at column 7"),
        ("a b", 'unexpected token "b" after expression at column 3'),
        (") a", 'unexpected token ")" at column 1'),
    ],
)
def test_parse_errors_keep_llama_swap_wording_and_give_the_column(text: str, want: str) -> None:
    """Each message is llama-swap's, with the 1-based column appended."""
    with pytest.raises(DslError) as info:
        parse(text)
    assert str(info.value) == want


@pytest.mark.parametrize(
    ("sets", "want_set", "want"),
    [
        ({"s": "g & nope"}, "s", 'unknown var or model "nope" at column 5'),
        ({"s": "g | +missing"}, "s", 'set "s" references undefined set "missing" at column 5'),
        (
            {"a": "+b", "b": "g & +a"},
            "b",
            'circular reference detected involving set "a" at column 5',
        ),
    ],
)
def test_semantic_errors_name_the_set(sets: dict[str, str], want_set: str, want: str) -> None:
    """Unknown identifiers, undefined references and cycles are load errors."""
    with pytest.raises(DslError) as info:
        compile_sets(sets, {}, {"g"})
    assert info.value.set_name == want_set
    assert str(info.value).startswith(want)


def test_every_bad_set_is_reported_not_only_the_first() -> None:
    """check_sets collects one problem per bad set so the loader can list them all."""
    problems = check_sets({"s1": "g &", "s2": "nope", "ok": "g"}, {}, {"g"})
    assert [(p.set_name, p.message) for p in problems] == [
        ("s1", "unexpected token at end of expression"),
        ("s2", 'unknown var or model "nope"'),
    ]


def test_every_reference_cycle_is_reported_with_the_other_problems() -> None:
    """Two independent cycles and a self-reference are each reported, next to an
    unknown identifier elsewhere; every set in a cycle is named at most once."""
    sets = {
        "a": "+b",
        "b": "g & +a",
        "c": "+d | g",
        "d": "+e",
        "e": "+c & +c",
        "self": "g | +self",
        "typo": "nope",
        "ok": "g & +ok2",
        "ok2": "g",
    }
    problems = check_sets(sets, {}, {"g"})
    assert sorted((p.set_name, p.message) for p in problems) == [
        ("b", 'circular reference detected involving set "a"'),
        ("e", 'circular reference detected involving set "c"'),
        ("self", 'circular reference detected involving set "self"'),
        ("typo", 'unknown var or model "nope"'),
    ]
    assert len({p.set_name for p in problems}) == len(problems)


def test_a_set_that_does_not_parse_hides_no_cycle_elsewhere() -> None:
    """A parse error in one set and a cycle between two others: both are reported."""
    problems = check_sets({"bad": "g &", "x": "+y", "y": "+x", "z": "+bad"}, {}, {"g"})
    assert sorted((p.set_name, p.message) for p in problems) == [
        ("bad", "unexpected token at end of expression"),
        ("y", 'circular reference detected involving set "x"'),
    ]


def test_and_binds_tighter_than_or() -> None:
    """`a | b & c` is a, or b with c."""
    assert parse("a | b & c") == Or((Ident("a"), And((Ident("b"), Ident("c")))))


def test_expansion_is_a_deduplicated_cartesian_product_in_order() -> None:
    """(a|b) & (c|d) gives [a,c], [a,d], [b,c], [b,d]."""
    (expanded,) = compile_sets({"s": "(a|b) & (c|d) & (a|a)"}, {}, set("abcd"))
    assert [sorted(s) for s in expanded.alternatives] == [
        ["a", "c"],
        ["a", "d"],
        ["a", "b", "c"],
        ["a", "b", "d"],
    ]


def test_identifiers_allow_unicode_letters_digits_underscore_dash_dot() -> None:
    """IDENT is one or more of letter, digit, `_`, `-`, `.`."""
    assert parse("qwën_2.5-7b") == Ident("qwën_2.5-7b")


# --- canonical rendering ---------------------------------------------------------------

NAMES = st.text(alphabet="abcxyzé09_-.", min_size=1, max_size=6)
LEAVES: st.SearchStrategy[Node] = st.one_of(NAMES.map(Ident), NAMES.map(Ref))


def _trees(leaves: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        items = st.lists(children, min_size=2, max_size=3).map(tuple)
        return st.one_of(items.map(And), items.map(Or))

    return st.recursive(leaves, extend, max_leaves=8)


@given(_trees(LEAVES))
def test_parse_of_render_is_the_same_tree(tree: Node) -> None:
    """render is canonical: parse(render(ast)) == ast."""
    assert parse(render(tree)) == tree


# --- the solver against an independent oracle ------------------------------------------

UNIVERSE = ("a", "b", "c", "d", "e")


def _subsets(items: frozenset[str]) -> Iterator[frozenset[str]]:
    ordered = sorted(items)
    for n in range(len(ordered) + 1):
        for combo in itertools.combinations(ordered, n):
            yield frozenset(combo)


def _is_alternative(node: Node, chosen: frozenset[str]) -> bool:
    """Whether ``chosen`` is exactly one of the sets ``node`` denotes (a predicate)."""
    if isinstance(node, Ident):
        return chosen == {node.name}
    assert isinstance(node, And | Or)
    if isinstance(node, Or):
        return any(_is_alternative(child, chosen) for child in node.items)
    first, *rest = node.items
    rest_node: Node = rest[0] if len(rest) == 1 else And(tuple(rest))
    return any(
        _is_alternative(first, left) and _is_alternative(rest_node, right)
        for left in _subsets(chosen)
        for right in _subsets(chosen)
        if left | right == chosen
    )


def _cost(evict: frozenset[str], costs: dict[str, int]) -> int:
    return sum(costs.get(m, 1) for m in evict)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(_trees(st.sampled_from(UNIVERSE).map(Ident)), min_size=1, max_size=3),
    st.frozensets(st.sampled_from(UNIVERSE)),
    st.sampled_from(UNIVERSE),
    st.dictionaries(st.sampled_from(UNIVERSE), st.integers(1, 20)),
)
def test_solver_choice_is_allowed_holds_the_target_and_costs_least(
    trees: list[Node], running: frozenset[str], target: str, costs: dict[str, int]
) -> None:
    """Checked by brute force over every subset of a five-model universe."""
    sets = {f"s{i}": render(tree) for i, tree in enumerate(trees)}
    planner = MatrixPlanner(compile_sets(sets, {}, set(UNIVERSE)), costs)
    decision = planner.solve(target, running)
    assert decision.evict <= running
    if target in running:
        assert decision.evict == frozenset()
        return
    alternatives = [
        alt
        for alt in _subsets(frozenset(UNIVERSE))
        if target in alt and any(_is_alternative(tree, alt) for tree in trees)
    ]
    if not alternatives:
        assert decision.evict == running, "a model in no set runs alone"
        return
    after = (running - decision.evict) | {target}
    assert any(after <= alt for alt in alternatives), f"{sorted(after)} is not allowed"
    best = min(_cost(running - alt, costs) for alt in alternatives)
    assert _cost(decision.evict, costs) == best
