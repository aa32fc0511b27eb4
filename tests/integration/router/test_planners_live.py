"""Group and matrix planning with real processes: who runs together."""

from __future__ import annotations

import asyncio

import pytest

from llamaswap.process.state import ProcessState

from .conftest import Call, MakeRouter, demo_models

pytestmark = pytest.mark.timeout(60)


def _running(states: dict[str, ProcessState]) -> set[str]:
    return {m for m, s in states.items() if s is ProcessState.READY}


async def test_exclusive_and_persistent_groups(make_router: MakeRouter, call: Call) -> None:
    """p (persistent) survives; x (non-exclusive) joins a; b swaps a out and evicts x."""
    groups = """routing:
  router:
    settings:
      groups:
        G1: {members: [a, b]}
        G2: {members: [x], swap: false, exclusive: false}
        P: {members: [p], persistent: true, swap: false, exclusive: false}
"""
    router = await make_router(demo_models("a,b,x,p") + groups)
    async with asyncio.timeout(40):
        await call(router, "p")
        await call(router, "a")
        assert _running(router.states()) == {"p", "a"}
        await call(router, "x")
        assert _running(router.states()) == {"p", "a", "x"}
        await call(router, "b")
        assert _running(router.states()) == {"p", "b"}


async def test_matrix_keeps_allowed_sets_together(make_router: MakeRouter, call: Call) -> None:
    """g and v share a set and co-reside; L runs alone and evicts both."""
    matrix = """routing:
  router:
    use: matrix
    settings:
      matrix:
        sets:
          pair: "g & v"
          big: "L"
"""
    router = await make_router(demo_models("g,v,L") + matrix)
    async with asyncio.timeout(40):
        await asyncio.gather(call(router, "g"), call(router, "v"))
        assert _running(router.states()) == {"g", "v"}
        await call(router, "L")
        assert _running(router.states()) == {"L"}
