"""Resolve the requested name and rewrite the body for the upstream (router.md §7).

Names resolve as: a model ID, then an alias, then the legacy ``profile:model`` slug
(design.md deviation 4), which only applies when the whole name is neither a model
nor an alias. JSON bodies then get, in order: ``useModelName``, ``stripParams``,
``setParams`` and ``setParamsByID[<requested name>]``. An alias with no rewrite to do
forwards the body byte for byte.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from llamaswap.config.schema import Config, Filters, ModelConfig


@dataclass(frozen=True, slots=True)
class Resolved:
    model_id: str
    requested: str
    """The name filters key off: as sent, or the bare model after a profile slug."""
    profile: str | None = None
    forward_name: str | None = None
    """What the upstream's ``model`` becomes; None leaves the body alone."""


def resolve_name(config: Config, name: str) -> Resolved | None:
    """The local model a request name addresses, or None (not local)."""
    model_id = config.resolve_model(name)
    profile: str | None = None
    requested = name
    if model_id is None:
        prefix, sep, rest = name.partition(":")
        members = config.profiles[prefix].members if sep and prefix in config.profiles else []
        bare_id = config.resolve_model(rest) if members else None
        if bare_id is None or bare_id not in members:
            return None
        model_id, profile, requested = bare_id, prefix, rest
    use_name = config.models[model_id].use_model_name
    if use_name:
        forward: str | None = use_name
    elif profile is not None:
        forward = requested
    else:
        forward = None
    return Resolved(model_id, requested, profile, forward)


def _paths(spec: str) -> list[str]:
    return sorted({p.strip() for p in spec.split(",") if p.strip() and p.strip() != "model"})


def _delete(obj: dict[str, Any], path: str) -> None:
    *parents, leaf = path.split(".")
    node: Any = obj
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(leaf, None)


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = obj
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[leaf] = copy.deepcopy(value)


def has_filter_rewrite(filters: Filters, requested: str, forward_name: str | None) -> bool:
    return bool(
        forward_name is not None
        or _paths(filters.strip_params)
        or _paths(filters.strip_params_legacy)
        or filters.set_params
        or filters.set_params_by_id.get(requested)
    )


def apply_filters(
    filters: Filters, requested: str, forward_name: str | None, obj: dict[str, Any]
) -> bytes | None:
    """``obj`` after the ``model`` rewrite and the filters keyed by ``requested``, or
    None when nothing applies (forward the original bytes). Shared by models and peers."""
    if not has_filter_rewrite(filters, requested, forward_name):
        return None
    if forward_name is not None:
        obj["model"] = forward_name
    for path in sorted(
        set(_paths(filters.strip_params)) | set(_paths(filters.strip_params_legacy))
    ):
        _delete(obj, path)
    for params in (filters.set_params, filters.set_params_by_id.get(requested) or {}):
        for key in sorted(params):
            if key != "model":
                _set(obj, key, params[key])
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def has_json_rewrite(model: ModelConfig, resolved: Resolved) -> bool:
    return has_filter_rewrite(model.filters, resolved.requested, resolved.forward_name)


def rewrite_json(model: ModelConfig, resolved: Resolved, obj: dict[str, Any]) -> bytes | None:
    """The rewritten body, or None when nothing applies (forward the original bytes)."""
    return apply_filters(model.filters, resolved.requested, resolved.forward_name, obj)


@dataclass(frozen=True, slots=True)
class UpstreamTarget:
    """``/upstream/<model>/<rest>`` split: the model and the raw path to forward."""

    name: str
    resolved: Resolved
    rest: str
    """Raw (still percent-encoded) remainder, starting with ``/`` or empty."""


def split_upstream_path(config: Config, raw_tail: str) -> UpstreamTarget | None:
    """Longest leading run of path segments that names a local model (IDs may hold
    ``/``, also as ``%2F``). ``raw_tail`` is the raw path after ``/upstream/``."""
    segments = raw_tail.split("/")
    for k in range(len(segments), 0, -1):
        name = unquote("/".join(segments[:k]))
        if not name:
            continue
        resolved = resolve_name(config, name)
        if resolved is not None:
            rest = "/".join(segments[k:])
            return UpstreamTarget(name, resolved, "/" + rest if k < len(segments) else "")
    return None
