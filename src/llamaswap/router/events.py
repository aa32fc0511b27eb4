"""Events consumed by the router's run loop, one at a time (router.md §2.1).

Everything that changes scheduler state arrives as one of these, so a single task owns
that state and no locks are needed. They carry plain data only; the run loop keeps any
futures or tickets beside them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from llamaswap.config.schema import Config
from llamaswap.errors import LlamaSwapError
from llamaswap.process.state import ProcessState
from llamaswap.router.planners.base import SwapPlanner
from llamaswap.router.reload_plan import ReloadPlan


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request asking for a model (admission, then the decision tree)."""

    id: int
    model_id: str
    arrived: float
    """Clock reading at arrival (``Effects.now()``): orders the starvation guard."""
    profile: str | None = None
    """Legacy list profile (design.md deviation 4), passed through to the planner."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """The client of a not-yet-granted request went away."""

    request_id: int


@dataclass(frozen=True, slots=True)
class Requeue:
    """A granted request whose serve lease was refused (the process began stopping).

    It keeps its reservation and goes through the decision tree again instead of failing
    (llama-swap issue #946)."""

    request: Request


@dataclass(frozen=True, slots=True)
class SwapDone:
    """A swap task finished; ``error`` is None on success."""

    model_id: str
    swap_id: int
    """Matches the active swap that started it; a stale one (after an unload) is ignored."""
    error: LlamaSwapError | None = None


@dataclass(frozen=True, slots=True)
class ServeDone:
    """A granted handler returned (its lease is released)."""

    model_id: str


@dataclass(frozen=True, slots=True)
class ProcessChanged:
    """A process changed state on its own (TTL unload, crash) or by a swap."""

    model_id: str
    old: ProcessState
    new: ProcessState


@dataclass(frozen=True, slots=True)
class Unload:
    """Stop ``targets`` with ``timeout``; the run loop blocks until they are stopped."""

    targets: frozenset[str]
    timeout: float
    done: asyncio.Future[None] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: lets the starvation guard act when nothing else happens."""


@dataclass(frozen=True, slots=True)
class Reload:
    """A new, valid config: keep unchanged processes, retire the rest (reload_plan.py).

    ``done`` receives the plan once the run loop applied it."""

    config: Config = field(compare=False)
    planner: SwapPlanner = field(compare=False)
    done: asyncio.Future[ReloadPlan] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Fail every waiter; the router then stops its processes for good."""

    done: asyncio.Future[None] | None = field(default=None, compare=False)


Event = (
    Request
    | Cancel
    | Requeue
    | SwapDone
    | ServeDone
    | ProcessChanged
    | Unload
    | Tick
    | Reload
    | Shutdown
)
