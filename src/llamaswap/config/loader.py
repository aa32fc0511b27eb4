"""``load_config``: the whole pipeline of features.md §2.1, in order.

sources + merge -> ``${env.X}`` (per file, in sources) -> macros and ports -> typed
decode -> unknown-key warnings -> validation/normalisation. Errors are collected
through every stage that can still run (a type error stops before validation) and
raised together as one ``ConfigError``, which also carries the warnings collected so
far; nothing is started.

What consumers can rely on afterwards: ``models[id].id == id``; ``cmd``/``cmdStop``
are comment-stripped and expanded (``${PID}`` kept); ``proxy`` is final; ``port`` is
the allocated port or None; ``alias_to_id`` is complete; ``routing`` is canonical
(legacy ``groups``/``matrix`` folded in and cleared, group members and fifo priority
keys are model IDs, ungrouped models sit in the ``(default)`` group in group mode);
legacy list profiles have ``members``; preload names are model IDs;
``filters.strip_params`` already falls back to the legacy ``strip_params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llamaswap.config.decode import decode, warn_unknown_keys
from llamaswap.config.errors import ConfigError, Problems
from llamaswap.config.macros import expand_macros
from llamaswap.config.names import (
    register_aliases,
    resolve_preload,
    validate_peers,
    validate_profiles,
    validate_selectors,
)
from llamaswap.config.schema import Config, Filters
from llamaswap.config.sources import load_sources
from llamaswap.config.validate import normalise_routing, normalise_top_level, validate_model

TOP_LEVEL_KEYS = frozenset(
    info.alias or name for name, info in Config.model_fields.items() if not info.exclude
)


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    warnings: list[str]


def load_config(
    config_path: str | None,
    config_dir: str | None = None,
    *,
    previous_ports: Mapping[str, int] | None = None,
) -> LoadedConfig:
    """Load, merge, expand and validate; ``previous_ports`` lets a reload keep ports."""
    if not config_path and not config_dir:
        raise ConfigError(["no config source given: use -config and/or -config-dir"])
    sources = load_sources(config_path, config_dir)
    problems = Problems(sources.locate)
    document = sources.document
    ports = expand_macros(
        document, problems, known_top_level=TOP_LEVEL_KEYS, previous_ports=previous_ports
    )
    config = decode(document, problems)
    if config is None:
        problems.raise_if_any()
    assert config is not None
    # Warnings first: an unknown key often explains an error below, so they travel
    # with the ConfigError too.
    warn_unknown_keys(config, (), problems)
    config.source_files = list(sources.files)
    _note_deprecations(config, problems)
    normalise_top_level(config, problems)
    for model_id in sorted(config.models):
        validate_model(config, model_id, ports.get(model_id), problems)
    register_aliases(config, problems)
    normalise_routing(config, problems)
    validate_peers(config, problems)
    validate_selectors(config, problems)
    validate_profiles(config, problems)
    resolve_preload(config, problems)
    problems.raise_if_any()
    return LoadedConfig(config=config, warnings=list(problems.warnings))


def _note_deprecations(config: Config, problems: Problems) -> None:
    """Legacy keys llama-swap accepts: a note each instead of an unknown-key warning."""
    if "log_requests" in config.model_fields_set:
        problems.warn(
            ("logRequests",), "deprecated and ignored; access lines are always logged at INFO"
        )
    for model_id, model in config.models.items():
        if "health_check_timeout" in model.model_fields_set:
            problems.warn(
                ("models", model_id, "healthCheckTimeout"),
                "deprecated and ignored; the top-level healthCheckTimeout applies to every model",
            )
        _note_strip_params(model.filters, ("models", model_id, "filters"), problems)
    for peer_id, peer in config.peers.items():
        _note_strip_params(peer.filters, ("peers", peer_id, "filters"), problems)


def _note_strip_params(filters: Filters, path: tuple[str, ...], problems: Problems) -> None:
    if "strip_params_legacy" not in filters.model_fields_set:
        return
    if filters.strip_params:
        problems.warn((*path, "strip_params"), "deprecated and ignored because stripParams is set")
    else:
        problems.warn((*path, "strip_params"), "deprecated spelling; use stripParams")
