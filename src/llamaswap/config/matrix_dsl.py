"""The swap-matrix set DSL (router.md §5.2–5.3): parse, check, expand, render.

``(g | q) & v`` means "g with v, or q with v". Errors keep llama-swap's wording and add
the 1-based column, so config/validate.py can print
``<file>: routing.router.settings.matrix.sets.<name>: <message> at column N``.
``render`` is canonical: ``parse(render(ast)) == ast`` for every AST ``parse`` can build.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass

MAX_EXPANSIONS = 10_000
"""Bound on expanded combinations across all sets: a typo must not eat the memory."""


@dataclass(frozen=True, slots=True)
class Ident:
    name: str


@dataclass(frozen=True, slots=True)
class Ref:
    """``+name``: another set's expression inlined."""

    name: str


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


Node = Ident | Ref | And | Or


class DslError(ValueError):
    """A DSL problem; ``column`` is 1-based in the set's text (0 when not positional)."""

    def __init__(self, message: str, column: int = 0, set_name: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.set_name = set_name

    def __str__(self) -> str:
        return f"{self.message} at column {self.column}" if self.column else self.message

    def __repr__(self) -> str:
        return f"DslError({self.message!r}, column={self.column}, set_name={self.set_name!r})"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "ident", "ref", "&", "|", "(", ")", "end"
    text: str
    column: int


def _is_ident_char(ch: str) -> bool:
    return ch.isalpha() or ch.isdigit() or ch in "_-."


def _tokens(text: str) -> Iterator[_Token]:
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "&|()":
            yield _Token(ch, ch, i + 1)
            i += 1
        elif ch == "+" or _is_ident_char(ch):
            start = i + 1 if ch == "+" else i
            j = start
            while j < len(text) and _is_ident_char(text[j]):
                j += 1
            if j == start:
                raise DslError("expected set name after '+'", start + 1)
            yield _Token("ref" if ch == "+" else "ident", text[start:j], i + 1)
            i = j
        else:
            raise DslError(f"unexpected character {ch!r}", i + 1)
    yield _Token("end", "", len(text) + 1)


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = list(_tokens(text))
        self._pos = 0

    def peek(self) -> _Token:
        return self._tokens[self._pos]

    def take(self) -> _Token:
        token = self._tokens[self._pos]
        if token.kind != "end":
            self._pos += 1
        return token

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.peek().kind == "|":
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_atom()]
        while self.peek().kind == "&":
            self.take()
            items.append(self.parse_atom())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_atom(self) -> Node:
        token = self.take()
        if token.kind == "ident":
            return Ident(token.text)
        if token.kind == "ref":
            return Ref(token.text)
        if token.kind == "(":
            inner = self.parse_or()
            closing = self.take()
            if closing.kind != ")":
                raise DslError("missing closing parenthesis", closing.column)
            return inner
        raise DslError(_unexpected(token), token.column)


def _unexpected(token: _Token) -> str:
    return (
        "unexpected token at end of expression"
        if token.kind == "end"
        else (f"unexpected token {_q(token.text)}")
    )


def parse(text: str) -> Node:
    """Parse one set expression; raises :class:`DslError`."""
    if not text.strip():
        raise DslError("empty DSL expression", 1)
    parser = _Parser(text)
    root = parser.parse_or()
    rest = parser.peek()
    if rest.kind != "end":
        raise DslError(f"{_unexpected(rest)} after expression", rest.column)
    return root


def render(node: Node) -> str:
    """Canonical text: ``&`` binds tighter than ``|``; parentheses only where needed
    to keep the tree's shape."""
    if isinstance(node, Ident):
        return node.name
    if isinstance(node, Ref):
        return f"+{node.name}"
    if isinstance(node, And):
        return " & ".join(_wrap(c, isinstance(c, And | Or)) for c in node.items)
    return " | ".join(_wrap(c, isinstance(c, Or)) for c in node.items)


def _wrap(node: Node, parenthesise: bool) -> str:
    text = render(node)
    return f"({text})" if parenthesise else text


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, And | Or):
        for child in node.items:
            yield from walk(child)


@dataclass(frozen=True, slots=True)
class ExpandedSet:
    """One configured set: its alternatives, each a set of model IDs allowed together."""

    name: str
    dsl: str
    alternatives: tuple[frozenset[str], ...]


def check_sets(
    sets: Mapping[str, str], variables: Mapping[str, str], model_ids: Set[str]
) -> list[DslError]:
    """Every problem in ``sets``, each naming its set (``DslError.set_name``).

    An identifier is a var first, then a model ID; ``+name`` must name a set; references
    must not form a cycle (every cycle among the sets that parse is reported, at the
    reference that closes it, alongside the other problems)."""
    problems: list[DslError] = []
    roots: dict[str, Node] = {}
    for name, text in sets.items():
        try:
            roots[name] = parse(text)
        except DslError as err:
            err.set_name = name
            problems.append(err)
            continue
        columns = _ident_columns(text)
        for node in walk(roots[name]):
            if isinstance(node, Ident) and node.name not in variables:
                if node.name not in model_ids:
                    column = columns.get(node.name, 0)
                    message = f"unknown var or model {_q(node.name)}"
                    problems.append(DslError(message, column, name))
            elif isinstance(node, Ref) and node.name not in sets:
                column = columns.get("+" + node.name, 0)
                message = f"set {_q(name)} references undefined set {_q(node.name)}"
                problems.append(DslError(message, column, name))
    _order, cycles = _topological(sets, roots)
    return problems + cycles


def compile_sets(
    sets: Mapping[str, str], variables: Mapping[str, str], model_ids: Set[str]
) -> list[ExpandedSet]:
    """Check every set and expand it, in topological order (a set after the sets it
    references, otherwise definition order). Raises the first :class:`DslError`."""
    problems = check_sets(sets, variables, model_ids)
    if problems:
        raise problems[0]
    roots = {name: parse(text) for name, text in sets.items()}
    memo: dict[str, list[frozenset[str]]] = {}
    total = 0
    result = []
    for name in _topological(sets, roots)[0]:
        try:
            alternatives = _expand(roots[name], variables, memo)
        except DslError as err:
            err.set_name = name
            raise
        memo[name] = alternatives
        total += len(alternatives)
        if total > MAX_EXPANSIONS:
            message = f"total expanded combinations ({total}) exceed limit of {MAX_EXPANSIONS}"
            raise DslError(message, 0, name)
        result.append(ExpandedSet(name, sets[name], tuple(alternatives)))
    return result


def _q(text: str) -> str:
    """Quote like Go's ``%q`` for plain identifiers, as llama-swap's messages do."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ident_columns(text: str) -> dict[str, int]:
    """First column of each identifier (``+name`` for references) in ``text``."""
    columns: dict[str, int] = {}
    for token in _tokens(text):
        key = "+" + token.text if token.kind == "ref" else token.text
        if token.kind in ("ident", "ref"):
            columns.setdefault(key, token.column)
    return columns


def _topological(
    sets: Mapping[str, str], roots: Mapping[str, Node]
) -> tuple[list[str], list[DslError]]:
    """Sets in dependency order, and one error per reference that closes a cycle (a
    depth-first search meets every cycle through at least one such back reference).
    References to sets that are undefined or did not parse are left out."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    order: list[str] = []
    cycles: list[DslError] = []

    def visit(name: str) -> None:
        state[name] = 1
        closed: set[str] = set()
        for node in walk(roots[name]):
            if not isinstance(node, Ref) or node.name not in roots:
                continue
            if state.get(node.name) == 2:
                continue
            if state.get(node.name) == 1:
                if node.name not in closed:
                    closed.add(node.name)
                    column = _ident_columns(sets[name]).get("+" + node.name, 0)
                    message = f"circular reference detected involving set {_q(node.name)}"
                    cycles.append(DslError(message, column, name))
                continue
            visit(node.name)
        state[name] = 2
        order.append(name)

    for name in roots:
        if name not in state:
            visit(name)
    return order, cycles


def _expand(
    node: Node, variables: Mapping[str, str], memo: dict[str, list[frozenset[str]]]
) -> list[frozenset[str]]:
    if isinstance(node, Ident):
        return [frozenset({variables.get(node.name, node.name)})]
    if isinstance(node, Ref):
        return memo[node.name]  # topological order: expanded already
    parts = [_expand(child, variables, memo) for child in node.items]
    if isinstance(node, Or):
        combos: Iterator[frozenset[str]] = itertools.chain.from_iterable(parts)
    else:
        if math.prod(len(p) for p in parts) > MAX_EXPANSIONS:
            raise DslError(f"expansion exceeds limit of {MAX_EXPANSIONS} combinations")
        combos = (frozenset().union(*choice) for choice in itertools.product(*parts))
    return list(dict.fromkeys(combos))
