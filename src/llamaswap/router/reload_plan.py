"""Which processes a config reload keeps, retires and creates (design.md deviation 1).

Pure: configs, the set of running models and the new planner in, a :class:`ReloadPlan`
out. A model keeps its process (same PID, in-flight requests, TTL clock) only when
everything that shaped that process is unchanged (the whole resolved model config,
port included, plus the global values folded into it) and, if it is running, the new
groups/matrix still let it run beside the other running models that stay. Everything
else that existed is retired (drained, then stopped); every model of the new config
without a kept process gets a fresh, stopped one.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import Any

from llamaswap.config.schema import Config
from llamaswap.router.planners.base import SwapPlanner, SwapTarget


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    keep: frozenset[str]
    """Configured before and after, unchanged, allowed to go on running: same process."""
    retire: frozenset[str]
    """Old processes to drain and stop: removed, changed, or no longer co-runnable."""
    create: frozenset[str]
    """New, stopped processes: added models and the retired ones still configured."""
    removed: frozenset[str]
    """No longer configured (a subset of ``retire``): their waiting requests fail."""

    def describe(self) -> str:
        """One log line: ``kept=[a] replaced=[b] removed=[c] added=[d]``."""

        def names(ids: Iterable[str]) -> str:
            return ", ".join(sorted(ids))

        replaced = self.retire - self.removed
        added = self.create - replaced
        return (
            f"kept=[{names(self.keep)}] replaced=[{names(replaced)}] "
            f"removed=[{names(self.removed)}] added=[{names(added)}]"
        )


_PROCESS_FIELDS = {"cmd", "cmd_stop", "proxy", "env", "check_endpoint", "timeouts"}


def process_fingerprint(config: Config, model_id: str) -> dict[str, Any]:
    """Everything a ``Process`` is built from; equal fingerprints may share a process.

    Fields only the HTTP layer reads (name, description, aliases, filters, metadata,
    ``useModelName``, ...) are read from the live config per request, so changing them
    does not restart a running model."""
    return {
        "model": config.models[model_id].model_dump(mode="json", include=_PROCESS_FIELDS),
        "port": config.models[model_id].port,
        "health_check_timeout": config.health_check_timeout,
        "ttl": config.effective_ttl(model_id),
        "unload_timeout": config.effective_unload_timeout(model_id),
        "concurrency_limit": config.effective_concurrency_limit(model_id),
        "log_to_stdout": config.log_to_stdout,
    }


def co_runnable(planner: SwapPlanner, candidates: Iterable[str]) -> frozenset[str]:
    """The largest prefix-greedy subset of ``candidates`` (in sorted order) in which no
    model's swap would evict another: what may keep running under ``planner``."""
    kept: frozenset[str] = frozenset()
    for model_id in sorted(candidates):
        trial = kept | {model_id}
        if all(not planner.evictions_for(SwapTarget(m), trial) for m in trial):
            kept = trial
    return kept


def plan_reload(
    old: Config, new: Config, running: Set[str], new_planner: SwapPlanner
) -> ReloadPlan:
    """``running``: models of ``old`` whose process is starting, ready or stopping."""
    removed = frozenset(old.models) - frozenset(new.models)
    unchanged = frozenset(
        m
        for m in old.models
        if m in new.models and process_fingerprint(old, m) == process_fingerprint(new, m)
    )
    running_unchanged = unchanged & running
    allowed = co_runnable(new_planner, running_unchanged)
    keep = unchanged - (running_unchanged - allowed)
    retire = frozenset(old.models) - keep
    create = frozenset(new.models) - keep
    return ReloadPlan(keep=keep, retire=retire, create=create, removed=removed)
