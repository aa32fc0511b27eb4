"""llamaswap config files for the benchmarks, written as plain YAML text."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BenchModel:
    model_id: str
    argv: Sequence[str]
    port: int
    extra: dict[str, str] = field(default_factory=dict)
    """More ``key: value`` lines for the model (values already YAML)."""


def config_yaml(models: Sequence[BenchModel], top_level: Sequence[str] = ()) -> str:
    lines = ["healthCheckTimeout: 60", "logToStdout: proxy", *top_level, "models:"]
    for model in models:
        lines += [
            f"  {model.model_id}:",
            f"    cmd: {shlex.join(model.argv)}",
            f"    proxy: http://127.0.0.1:{model.port}",
        ]
        lines += [f"    {key}: {value}" for key, value in model.extra.items()]
    return "\n".join(lines) + "\n"
