"""Starting an upstream: the model's command line becomes a spawned child.

The counterpart of :mod:`llamaswap.process.stopping`. Every way a start can fail before
the health check is a :class:`ProcessError` worded as llama-swap words it, so the actor
has one error path for all of them. Neither function touches actor state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from llamaswap.config.cmdline import CmdParseError, parse_cmd
from llamaswap.config.schema import ModelConfig
from llamaswap.process.child import Child, spawn
from llamaswap.process.logs import LogBuffer
from llamaswap.process.state import ProcessError


def upstream_argv(model: ModelConfig) -> list[str]:
    """The argv to spawn; checked before the state turns STARTING, so a model that can
    never start fails without a start/stop transition."""
    if not model.proxy:
        raise ProcessError("upstream proxy missing")
    try:
        return parse_cmd(model.cmd)
    except CmdParseError as e:
        raise ProcessError(f"unable to get sanitized command: {e}") from e


async def spawn_upstream(
    argv: list[str],
    env: Mapping[str, str],
    *,
    logs: LogBuffer,
    echo: bool,
    on_exit: Callable[[Child], None],
) -> Child:
    """Spawn ``argv``; an OS refusal (missing binary, no permission) is a ProcessError."""
    try:
        return await spawn(argv, env, logs=logs, echo=echo, on_exit=on_exit)
    except OSError as e:
        raise ProcessError(f"failed to start command '{' '.join(argv)}': {e}") from e
