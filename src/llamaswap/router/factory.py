"""Build the local router a config asks for: planner from ``routing.router.use``.

The loader has already normalised legacy top-level ``groups``/``matrix`` into
``config.routing`` and resolved aliases to model IDs, so only ``config.routing`` is read.
"""

from __future__ import annotations

from llamaswap.config.schema import Config
from llamaswap.process.logs import LogBuffer
from llamaswap.router.local import LocalRouter, StateCallback
from llamaswap.router.planners.base import SwapPlanner
from llamaswap.router.planners.group import GroupPlanner
from llamaswap.router.planners.matrix import MatrixPlanner
from llamaswap.router.planners.profile import ProfilePlanner


def build_planner(config: Config) -> SwapPlanner:
    """The configured planner, wrapped for legacy list profiles when there are any."""
    router = config.routing.router
    planner: SwapPlanner
    if router.use == "matrix":
        if router.settings.matrix is None:
            raise ValueError(
                "routing.router.use is 'matrix' but routing.router.settings.matrix is not set"
            )
        planner = MatrixPlanner.from_config(router.settings.matrix, config.models)
    elif router.use == "group":
        planner = GroupPlanner(router.settings.groups, config.models)
    else:
        raise ValueError(f"routing.router.use: unknown router {router.use!r}")
    profiles = {
        name: frozenset(profile.members)
        for name, profile in config.profiles.items()
        if profile.members
    }
    return ProfilePlanner(planner, profiles) if profiles else planner


def build_router(
    config: Config,
    *,
    on_process_state: StateCallback | None = None,
    upstream_log: LogBuffer | None = None,
) -> LocalRouter:
    """A ``LocalRouter`` with one process per model; ``await router.start()`` next.

    ``upstream_log``: the monitor every model's output also goes to (observe/logmon.py).
    """
    return LocalRouter(
        config,
        build_planner(config),
        on_process_state=on_process_state,
        upstream_log=upstream_log,
    )
