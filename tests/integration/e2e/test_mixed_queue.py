"""A queue of mixed requests never hangs (issue 4 "Done means"), through the real CLI."""

from __future__ import annotations

import asyncio
import random

import pytest

from .conftest import Llamaswap, StartLlamaswap, demo_cmd

pytestmark = pytest.mark.timeout(90)

MODELS = ("a", "b", "c", "x")
LIMIT = 4


def config() -> str:
    lines = ["models:"]
    for name in MODELS:
        lines += [
            f"  {name}:",
            f"    cmd: {demo_cmd(name)}",
            "    proxy: http://127.0.0.1:${PORT}",
            f"    concurrencyLimit: {LIMIT}",
        ]
    lines += [
        "groups:",
        "  G1: {members: [a, b]}",
        "  G2: {swap: false, exclusive: false, members: [x]}",
    ]
    return "\n".join(lines) + "\n"


async def one(ls: Llamaswap, model: str, delay: float, give_up: float | None) -> int | None:
    """Status of one request, or None when the client gave up (hung up) first."""
    call = ls.chat(model, headers={"X-Demo-Delay": f"{delay:.2f}"})
    if give_up is None:
        return (await call).status
    try:
        return (await asyncio.wait_for(call, give_up)).status
    except TimeoutError:
        return None


async def test_mixed_requests_with_hang_ups_all_settle_and_leak_nothing(
    llamaswap: StartLlamaswap,
) -> None:
    """30 concurrent requests over four models in three groups, a third of whose clients
    hang up at random moments: every other one is answered (200, or 429 from the limit),
    and afterwards each model serves ``concurrencyLimit`` parallel requests, so no
    reservation or in-flight count leaked and no swap is wedged."""
    ls = await llamaswap(config())
    rng = random.Random(4)
    plan = [
        (rng.choice(MODELS), rng.uniform(0, 0.2), rng.uniform(0.05, 1.5) if i % 3 == 0 else None)
        for i in range(30)
    ]
    async with asyncio.timeout(45):
        statuses = await asyncio.gather(*(one(ls, *p) for p in plan))
    answered = [s for s in statuses if s is not None]
    assert set(answered) <= {200, 429}, statuses
    assert answered.count(200) >= 10, statuses

    for model in MODELS:
        async with asyncio.timeout(20):
            replies = await asyncio.gather(*(ls.chat(model) for _ in range(LIMIT)))
        assert [r.status for r in replies] == [200] * LIMIT, [r.text for r in replies]
    assert await ls.running() == {"c": "ready", "x": "ready"}, "x (non-exclusive) stays"
