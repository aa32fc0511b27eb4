"""What the process actor's inbox carries: caller commands and its own events.

Commands carry the future their caller awaits; events come from tasks and timers the
actor owns and name the child they are about, so a late event about an old child is
recognised and ignored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llamaswap.process.child import Child
from llamaswap.process.state import ProcessError

if TYPE_CHECKING:
    from llamaswap.process.lease import ProcessLease


@dataclass(frozen=True, slots=True)
class EnsureReady:
    reply: asyncio.Future[None]


@dataclass(frozen=True, slots=True)
class Acquire:
    reply: asyncio.Future[ProcessLease | None]


@dataclass(frozen=True, slots=True)
class Stop:
    timeout: float
    reply: asyncio.Future[None]


@dataclass(frozen=True, slots=True)
class Drain:
    """Stop once nothing is in flight, refusing new leases meanwhile (reload retirement)."""

    timeout: float
    reply: asyncio.Future[None]


@dataclass(frozen=True, slots=True)
class Shutdown:
    timeout: float
    reply: asyncio.Future[None]


@dataclass(frozen=True, slots=True)
class Release:
    child: Child


@dataclass(frozen=True, slots=True)
class ChildExited:
    child: Child


@dataclass(frozen=True, slots=True)
class HealthDone:
    child: Child
    error: ProcessError | None


@dataclass(frozen=True, slots=True)
class StopDone:
    child: Child


@dataclass(frozen=True, slots=True)
class TtlCheck:
    child: Child


Command = EnsureReady | Acquire | Stop | Drain | Shutdown
Message = Command | Release | ChildExited | HealthDone | StopDone | TtlCheck
