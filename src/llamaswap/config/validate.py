"""Validation and normalisation of the typed config (features.md §2.2-2.6).

Messages keep llama-swap's wording (router.md §8) and add a hint after ``; `` where
one helps. Every rule reports and carries on, so one load names every problem.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from llamaswap.config.cmdline import CmdParseError, parse_cmd
from llamaswap.config.durations import parse_go_duration
from llamaswap.config.errors import KeyPath, Problems, closest_name
from llamaswap.config.matrix_dsl import check_sets
from llamaswap.config.schema import DEFAULT_GROUP, Config, Group, Matrix, ModelConfig

LOG_LEVELS = ("debug", "info", "warn", "error")
LOG_TO_STDOUT = ("proxy", "upstream", "both", "none")
MIN_HEALTH_CHECK_TIMEOUT = 15
DEFAULT_UNLOAD_TIMEOUT = 10
MATRIX_VAR_KEY = re.compile(r"^[a-zA-Z0-9.-]{1,32}$")


def normalise_top_level(config: Config, problems: Problems) -> None:
    """Global keys: clamp or default the values llama-swap silently fixes, report the rest."""
    config.health_check_timeout = max(config.health_check_timeout, MIN_HEALTH_CHECK_TIMEOUT)
    level = config.log_level.strip().lower()
    config.log_level = level if level in LOG_LEVELS else "info"
    if config.log_to_stdout not in LOG_TO_STDOUT:
        problems.error(
            ("logToStdout",),
            "logToStdout must be one of: proxy, upstream, both, none; "
            f"found {config.log_to_stdout!r}",
        )
    if config.metrics_max_in_memory <= 0:
        config.metrics_max_in_memory = 1000
    if config.store is not None:
        _validate_store_path(config.store.path, problems)
    config.ui.activity.session_id = _normalise_headers(config.ui.activity.session_id)
    _validate_performance_every(config.performance.every, problems)
    if config.global_ttl < 0:
        problems.error(("globalTTL",), "globalTTL must be >= 0; use 0 to never unload")
    if config.unload_timeout < 0:
        problems.error(("unloadTimeout",), "unloadTimeout must be >= 0")
    elif config.unload_timeout == 0:
        config.unload_timeout = DEFAULT_UNLOAD_TIMEOUT
    if config.start_port < 1:
        problems.error(
            ("startPort",), f"startPort must be greater than 1; found {config.start_port}"
        )
    for i, key in enumerate(config.api_keys):
        if key == "":
            problems.error(("apiKeys", i), "empty api key found in apiKeys")
        elif " " in key:
            problems.error(("apiKeys", i), f"apiKeys[{i}]: api key cannot contain spaces")
    if not config.upstream.ignore_paths:
        config.upstream.ignore_paths = type(config.upstream)().ignore_paths
    for i, pattern in enumerate(config.upstream.ignore_paths):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.error(
                ("upstream", "ignorePaths", i),
                f"upstream.ignorePaths: invalid regular expression {pattern!r}: {exc}",
            )
    if config.routing.scheduler.settings.fifo.max_wait < 0:
        problems.error(
            ("routing", "scheduler", "settings", "fifo", "maxWait"),
            "maxWait must be >= 0; it is in seconds, 0 turns the starvation guard off",
        )


def _validate_store_path(path: str, problems: Problems) -> None:
    where: KeyPath = ("store", "path")
    if not path:
        problems.error(
            where, "store.path must not be empty; remove store to keep activity in memory"
        )
        return
    target = Path(path)
    if target.exists():
        if not target.is_file():
            problems.error(where, f"store.path {path!r} is not a regular file")
        elif not os.access(target, os.W_OK):
            problems.error(where, f"store.path {path!r} is not writable")
    else:
        parent = target.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            problems.error(where, f"store.path {path!r}: directory {str(parent)!r} is not writable")


def _normalise_headers(names: list[str]) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for name in (n.strip() for n in names):
        if name and name.lower() not in seen:
            seen.add(name.lower())
            result.append(name)
    return result


def _validate_performance_every(every: str, problems: Problems) -> None:
    where: KeyPath = ("performance", "every")
    text = every.strip()
    try:
        # A bare number is nanoseconds in Go, so it is always below the minimum.
        seconds = int(text) * 1e-9 if text.isdigit() else parse_go_duration(text)
    except ValueError as exc:
        problems.error(where, f"performance: {exc}; use a duration such as 5s or 1m")
        return
    if seconds < 5:
        problems.error(where, "performance: every must be at least 5s")


def validate_model(config: Config, model_id: str, port: int | None, problems: Problems) -> None:
    """One model: fill in what it inherits (ID, ``${PORT}``, health check timeout) and
    check its own keys."""
    model = config.models[model_id]
    model.id = model_id
    model.port = port
    model.health_check_timeout = config.health_check_timeout
    where: KeyPath = ("models", model_id)
    _check_cmd(model, model_id, "cmd", required=True, problems=problems)
    _check_cmd(model, model_id, "cmdStop", required=False, problems=problems)
    if model.ttl < -1:
        problems.error(
            (*where, "ttl"),
            f"invalid TTL value {model.ttl}; use -1 (globalTTL), 0 (never) or seconds",
        )
    if model.unload_timeout < 0:
        problems.error(
            (*where, "unloadTimeout"),
            f"invalid unloadTimeout value {model.unload_timeout}; use 0 for the global value",
        )
    if model.concurrency_limit < 0:
        problems.error((*where, "concurrencyLimit"), "concurrencyLimit must be >= 0")
    if model.capabilities.context < 0:
        problems.error((*where, "capabilities", "context"), "capabilities.context must be >= 0")
    try:
        urlsplit(model.proxy)
    except ValueError as exc:
        problems.error((*where, "proxy"), f"model {model_id}: invalid proxy URL: {exc}")
    if not model.filters.strip_params:
        model.filters.strip_params = model.filters.strip_params_legacy
    if model_id == "comfyui_auto":
        model.compat.ignore_websockets = True


def _check_cmd(
    model: ModelConfig, model_id: str, key: str, *, required: bool, problems: Problems
) -> None:
    text = model.cmd if key == "cmd" else model.cmd_stop
    if not required and not text.strip():
        return
    try:
        parse_cmd(text)
    except CmdParseError as exc:
        hint = "; cmd is required" if str(exc) == "empty command" else ""
        problems.error(("models", model_id, key), f"model {model_id}: {key}: {exc}{hint}")


def normalise_routing(config: Config, problems: Problems) -> None:
    """Fold legacy top-level ``groups``/``matrix`` into ``routing.router`` and check it."""
    router = config.routing.router
    legacy = config.matrix is not None or bool(config.groups)
    modern = (
        "use" in router.model_fields_set
        or router.settings.matrix is not None
        or bool(router.settings.groups)
    )
    settings_path: KeyPath = ("routing", "router", "settings")
    if legacy and modern:
        problems.error(
            ("routing", "router"),
            "config uses both the legacy top-level 'matrix'/'groups' keys and the new "
            "'routing.router' block; please migrate the top-level keys into "
            "'routing.router' and remove them",
        )
        return
    if legacy:
        if config.matrix is not None and config.groups:
            problems.error(("matrix",), "config cannot use both 'groups' and 'matrix'")
            return
        router.use = "matrix" if config.matrix is not None else "group"
        router.settings.matrix = config.matrix
        router.settings.groups = config.groups or {}
        config.groups, config.matrix = None, None
        settings_path = ()
    if router.use == "group":
        _validate_groups(config, router.settings.groups, (*settings_path, "groups"), problems)
    elif router.use == "matrix":
        if router.settings.matrix is None:
            problems.error(
                ("routing", "router", "use"),
                "routing.router.use is 'matrix' but routing.router.settings.matrix is not set",
            )
        else:
            validate_matrix(router.settings.matrix, config, (*settings_path, "matrix"), problems)
    else:
        problems.error(
            ("routing", "router", "use"),
            f'routing.router.use: unknown router "{router.use}" (valid: group, matrix)',
        )
    scheduler = config.routing.scheduler
    if scheduler.use != "fifo":
        problems.error(
            ("routing", "scheduler", "use"),
            f'routing.scheduler.use: unknown scheduler "{scheduler.use}" (valid: fifo)',
        )
    priority: dict[str, int] = {}
    for name, value in scheduler.settings.fifo.priority.items():
        model_id = config.resolve_model(name)
        if model_id is None:
            problems.error(
                ("routing", "scheduler", "settings", "fifo", "priority", name),
                f'routing.scheduler.settings.fifo.priority references unknown model "{name}"',
            )
        else:
            priority[model_id] = value
    scheduler.settings.fifo.priority = priority


def _validate_groups(
    config: Config, groups: dict[str, Group], path: KeyPath, problems: Problems
) -> None:
    """Members may be aliases (deviation 7): they become model IDs here."""
    used_by: dict[str, str] = {}
    for group_id, group in groups.items():
        members: list[str] = []
        for i, name in enumerate(group.members):
            where = (*path, group_id, "members", i)
            model_id = config.resolve_model(name)
            if model_id is None:
                close = closest_name(name, [*config.models, *config.alias_to_id])
                hint = (
                    f'did you mean "{close}"?' if close else "members must be model IDs or aliases"
                )
                problems.error(where, f'no model config for "{name}"; {hint}')
                continue
            if model_id in members:
                problems.error(
                    where, f"duplicate model member {model_id} found in group: {group_id}"
                )
                continue
            if model_id in used_by:
                problems.error(
                    where,
                    f"model member {model_id} is used in multiple groups: "
                    f"{used_by[model_id]} and {group_id}",
                )
                continue
            used_by[model_id] = group_id
            members.append(model_id)
        group.members = members
    ungrouped = [m for m in sorted(config.models) if m not in used_by]
    if ungrouped and DEFAULT_GROUP not in groups:
        groups[DEFAULT_GROUP] = Group(members=ungrouped)


def validate_matrix(matrix: Matrix, config: Config, path: KeyPath, problems: Problems) -> None:
    """The non-DSL rules of router.md §5.1; the DSL checks hook in at the end."""
    if not matrix.sets:
        problems.error((*path, "sets"), "matrix must define at least one set")
    for key, model_id in matrix.vars.items():
        where = (*path, "vars", key)
        if not MATRIX_VAR_KEY.match(key):
            problems.error(
                where, f"var key \"{key}\" must be 1-32 characters of letters, digits, '.' or '-'"
            )
        if model_id not in config.models:
            problems.error(
                where,
                f'var key "{key}" references unknown model "{model_id}"; '
                "vars must name model IDs, not aliases",
            )
    for key, cost in matrix.evict_costs.items():
        where = (*path, "evict_costs", key)
        if cost <= 0:
            problems.error(where, f'evict_cost for "{key}" must be a positive integer, got {cost}')
        if key not in matrix.vars and key not in config.models:
            problems.error(where, f'evict_costs: unknown var or model "{key}"')
    # DSL checks (config/matrix_dsl.py): parse errors, unknown identifiers (vars first,
    # then model IDs), undefined "+ref" targets and cycles, each with its column.
    for problem in check_sets(matrix.sets, matrix.vars, config.models.keys()):
        problems.error((*path, "sets", problem.set_name), str(problem))
