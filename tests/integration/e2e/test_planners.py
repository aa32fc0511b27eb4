"""Group and matrix planners through the real CLI, checked via ``/running``
(router.md §4.3 and §5.5 sequences; each request completes before the next)."""

from __future__ import annotations

import pytest

from .conftest import Llamaswap, StartLlamaswap, demo_cmd

pytestmark = pytest.mark.timeout(60)


def models(*names: str) -> str:
    lines = ["models:"]
    for name in names:
        lines += [
            f"  {name}:",
            f"    cmd: {demo_cmd(name)}",
            "    proxy: http://127.0.0.1:${PORT}",
        ]
    return "\n".join(lines) + "\n"


async def check_sequence(ls: Llamaswap, steps: list[tuple[str, set[str]]]) -> None:
    for i, (model, loaded) in enumerate(steps):
        reply = await ls.chat(model)
        assert reply.status == 200, reply.text
        assert reply.headers["X-Demo-Model-Name"] == model
        running = await ls.running()
        want = dict.fromkeys(loaded, "ready")
        assert running == want, f"after step {i} ({model}): got {running}, want {want}"


async def test_groups_swap_exclusive_and_persistent(llamaswap: StartLlamaswap) -> None:
    """router.md §4.3 config B: exclusive groups evict non-persistent others, a
    non-exclusive group evicts nobody, a persistent group is never evicted."""
    ls = await llamaswap(
        models("a", "b", "c", "x", "y", "p")
        + """
routing:
  router:
    use: group
    settings:
      groups:
        G1: {members: [a, b]}
        G2: {swap: false, exclusive: false, members: [x, y]}
        P: {persistent: true, swap: false, exclusive: false, members: [p]}
"""
    )
    await check_sequence(
        ls,
        [
            ("x", {"x"}),
            ("y", {"x", "y"}),  # G2 members coexist
            ("a", {"a"}),  # G1 is exclusive: x and y evicted
            ("x", {"a", "x"}),  # G2 is non-exclusive: nothing evicted
            ("y", {"a", "x", "y"}),
            ("a", {"a"}),  # a request for ready a evicts the others again
            ("b", {"b"}),  # swap inside G1
            ("p", {"b", "p"}),  # P is non-exclusive
            ("c", {"p", "c"}),  # (default) is exclusive: evicts b, not persistent p
            ("x", {"p", "c", "x"}),
            ("c", {"p", "c"}),
        ],
    )


async def test_group_without_swap_keeps_members_together(llamaswap: StartLlamaswap) -> None:
    """router.md §4.3 config C: a, b coexist (swap: false), c evicts both, a evicts c."""
    ls = await llamaswap(
        models("a", "b", "c")
        + """
routing:
  router:
    use: group
    settings:
      groups:
        G: {swap: false, exclusive: true, members: [a, b]}
        H: {members: [c]}
"""
    )
    await check_sequence(ls, [("a", {"a"}), ("b", {"a", "b"}), ("c", {"c"}), ("a", {"a"})])


async def test_matrix_co_residency_follows_the_cheapest_set(llamaswap: StartLlamaswap) -> None:
    """router.md §5.5: models in one set run together, costs steer the eviction, a model in
    no set runs alone."""
    ls = await llamaswap(
        models("gemma", "qwen", "voice", "big", "solo")
        + """
routing:
  router:
    use: matrix
    settings:
      matrix:
        vars: {g: gemma, q: qwen, v: voice, L: big}
        evict_costs: {v: 50, L: 30}
        sets:
          standard: "(g | q) & v"
          full: "L"
"""
    )
    await check_sequence(
        ls,
        [
            ("gemma", {"gemma"}),
            ("voice", {"gemma", "voice"}),  # standard [g, v]
            ("qwen", {"qwen", "voice"}),  # standard [q, v]: evict g (cost 1), keep v
            ("big", {"big"}),  # full: evict q and v
            ("voice", {"voice"}),  # standard: evict big (cost 30)
            ("gemma", {"gemma", "voice"}),
            ("solo", {"solo"}),  # in no set: runs alone
        ],
    )


async def test_legacy_list_profile_runs_its_members_together(llamaswap: StartLlamaswap) -> None:
    """Deviation 4: ``coding:a`` and ``coding:b`` run together with the slug stripped
    upstream; a later plain ``a`` reuses the process and follows the normal rules."""
    ls = await llamaswap(
        models("a", "b", "c")
        + """
profiles:
  coding: [a, b]
"""
    )
    first = await ls.chat("coding:a")
    assert first.status == 200, first.text
    assert first.json()["model"] == "a", "the profile slug is stripped before forwarding"
    assert (await ls.chat("coding:b")).status == 200
    assert await ls.running() == {"a": "ready", "b": "ready"}
    plain = await ls.chat("a")
    assert plain.headers["X-Demo-Pid"] == first.headers["X-Demo-Pid"], "no restart"
    assert await ls.running() == {"a": "ready"}
    await check_sequence(ls, [("c", {"c"})])
