"""Selectors (features.md §2.8, §4.3): virtual model IDs resolved per request.

A request for a selector ID is rewritten to one of its targets (after any profile pin,
before name resolution). ``pin`` takes the first target; ``warm`` the first ready one,
else the first starting one, else the first; ``spillover`` keeps per-selector
reservation counters (taken when chosen, given back when the request ends) and sends
up to ``settings.spillover`` requests to each active target before waking a cold one.
Process states are advisory reads: they only pick a target, the router still decides.
:class:`Selectors` owns the counters; the choice and the reservation happen in one
synchronous call, so no other request can interleave. Not used on ``/upstream``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llamaswap.config.names import peer_names
from llamaswap.config.schema import Config, Selector
from llamaswap.errors import ServiceUnavailable
from llamaswap.process.state import ProcessState

StateOf = Callable[[str], ProcessState]
"""Advisory state of a local model ID (``stopped`` when it has no process)."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    """As configured: what the request's model becomes."""
    key: str
    """The model it resolves to: a local model ID, or the peer model's FQN."""
    local: bool


def pick_warm(targets: Sequence[Target], state_of: StateOf) -> Target:
    for wanted in (ProcessState.READY, ProcessState.STARTING):
        for target in targets:
            if target.local and state_of(target.key) is wanted:
                return target
    return targets[0]


def pick_spillover(
    targets: Sequence[Target],
    reserved: Mapping[str, int],
    spillover: int,
    turn: int,
    state_of: StateOf,
) -> tuple[Target | None, bool]:
    """The target the next request goes to (None when every target is stopping), and
    whether ``turn`` was used to break a tie (the caller then advances it).

    Active = local targets starting or ready (or holding reservations) and remote ones
    holding reservations; cold = idle ones; stopping local targets are skipped.
    (1) nothing active: the first cold target; (2) the least-loaded active target has
    fewer than ``spillover`` reservations: it (ties taken in turn); (3) else the first
    cold target; (4) else the least-loaded active one."""
    active: list[Target] = []
    cold: list[Target] = []
    for target in targets:
        state = state_of(target.key) if target.local else None
        if state in (ProcessState.STOPPING, ProcessState.SHUTDOWN):
            continue
        busy = state in (ProcessState.STARTING, ProcessState.READY)
        (active if busy or reserved.get(target.key, 0) > 0 else cold).append(target)
    if not active:
        return (cold[0] if cold else None), False  # (1)
    least = min(reserved.get(t.key, 0) for t in active)
    if least >= spillover and cold:
        return cold[0], False  # (3)
    tied = [t for t in active if reserved.get(t.key, 0) == least]
    return tied[turn % len(tied)], True  # (2), (4)


class Choice:
    """One request's chosen target; ``release()`` (idempotent) gives back its
    spillover reservation. Use it as a context manager around the whole request."""

    __slots__ = ("_release", "name", "selector_id")

    def __init__(self, selector_id: str, name: str, release: Callable[[], None] | None) -> None:
        self.selector_id = selector_id
        self.name = name
        self._release = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> Choice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Selectors:
    """Every configured selector, with the spillover counters they own."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._targets = {sid: _targets(config, s) for sid, s in config.selectors.items()}
        self._reserved: dict[str, dict[str, int]] = {sid: {} for sid in config.selectors}
        self._turns: dict[str, int] = dict.fromkeys(config.selectors, 0)

    def __bool__(self) -> bool:
        return bool(self._targets)

    def __contains__(self, name: str) -> bool:
        return name in self._targets

    def reserved(self, selector_id: str) -> dict[str, int]:
        """A copy of a selector's reservation counters (for tests and diagnostics)."""
        return {k: v for k, v in self._reserved[selector_id].items() if v}

    def choose(self, selector_id: str, state_of: StateOf) -> Choice:
        """Pick a target for one request; a spillover pick is reserved until released.

        Raises ``ServiceUnavailable`` (503) when no target can take the request."""
        selector = self._config.selectors[selector_id]
        targets = self._targets[selector_id]
        if selector.strategy == "pin":
            return Choice(selector_id, targets[0].name, None)
        if selector.strategy == "warm":
            return Choice(selector_id, pick_warm(targets, state_of).name, None)
        reserved = self._reserved[selector_id]
        turn = self._turns[selector_id]
        target, rotated = pick_spillover(
            targets, reserved, selector.settings.spillover, turn, state_of
        )
        if target is None:
            raise ServiceUnavailable(f'selector "{selector_id}" has no available spillover targets')
        if rotated:
            self._turns[selector_id] = turn + 1
        reserved[target.key] = reserved.get(target.key, 0) + 1

        def release() -> None:
            count = reserved[target.key] - 1
            if count < 0:
                raise RuntimeError(f"selector {selector_id}: {target.key} released twice")
            reserved[target.key] = count

        return Choice(selector_id, target.name, release)

    def records(self, states: Mapping[str, ProcessState], created: int) -> list[dict[str, Any]]:
        """``/v1/models`` records for every listed selector (features.md §3.3 (4))."""
        out = []
        for selector_id, selector in sorted(self._config.selectors.items()):
            if selector.unlisted:
                continue
            targets = self._targets[selector_id]
            watched = targets[:1] if selector.strategy == "pin" else targets
            loaded = any(
                t.local and states.get(t.key) in (ProcessState.STARTING, ProcessState.READY)
                for t in watched
            )
            meta: dict[str, Any] = {
                **selector.metadata,
                "type": "selector",
                "strategy": selector.strategy,
                "targets": list(selector.targets),
            }
            if selector.strategy == "spillover":
                meta["spillover"] = selector.settings.spillover
            rec: dict[str, Any] = {
                "id": selector_id,
                "object": "model",
                "created": created,
                "owned_by": "llama-swap",
            }
            if selector.name.strip():
                rec["name"] = selector.name.strip()
            if selector.description.strip():
                rec["description"] = selector.description.strip()
            rec["status"] = {"value": "loaded" if loaded else "unloaded"}
            rec["meta"] = {"llamaswap": meta}
            out.append(rec)
        return out


def _targets(config: Config, selector: Selector) -> list[Target]:
    """Each configured target with what it resolves to (the loader checked they do)."""
    fqns, bare = peer_names(config)
    out = []
    for name in selector.targets:
        model_id = config.resolve_model(name)
        if model_id is not None:
            out.append(Target(name, model_id, True))
        elif name in fqns:
            out.append(Target(name, name, False))
        else:
            out.append(Target(name, f"{next(iter(bare[name]))}/{name}", False))
    return out
