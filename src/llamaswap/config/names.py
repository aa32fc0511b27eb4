"""The model namespace: aliases, peers, selectors, profiles and preload names.

Every name a request may use must resolve one way only: local IDs, then aliases
(``setParamsByID`` keys included), then peer models; fully qualified peer names are
reserved (features.md §2.7-2.9).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from llamaswap.config.errors import Problems
from llamaswap.config.matrix_dsl import DslError, compile_sets
from llamaswap.config.schema import Config


def register_aliases(config: Config, problems: Problems) -> None:
    """Fill ``alias_to_id``: explicit aliases first, then ``setParamsByID`` keys."""
    config.alias_to_id = {}
    for model_id in sorted(config.models):
        for i, alias in enumerate(config.models[model_id].aliases):
            if alias in config.alias_to_id:
                problems.error(
                    ("models", model_id, "aliases", i),
                    f"duplicate alias {alias} found in model: {model_id}",
                )
            else:
                config.alias_to_id[alias] = model_id
    for model_id in sorted(config.models):
        model = config.models[model_id]
        for key in model.filters.set_params_by_id:
            where = ("models", model_id, "filters", "setParamsByID", key)
            owner = config.alias_to_id.get(key)
            if key == model_id or owner == model_id:
                continue
            if key in config.models:
                problems.error(
                    where,
                    f"model {model_id} filters.setParamsByID: key '{key}' conflicts with an "
                    "existing model ID",
                )
            elif owner is not None:
                problems.error(
                    where,
                    f"duplicate alias '{key}' in model {model_id} filters.setParamsByID, "
                    f"already used by model {owner}",
                )
            else:
                config.alias_to_id[key] = model_id
                model.aliases.append(key)


def peer_names(config: Config) -> tuple[dict[str, tuple[str, str]], dict[str, set[str]]]:
    """Fully qualified ``peer/model`` names, and bare model name -> peers listing it."""
    fqns: dict[str, tuple[str, str]] = {}
    bare: dict[str, set[str]] = {}
    for peer_id in sorted(config.peers):
        for model in config.peers[peer_id].models:
            fqns.setdefault(f"{peer_id}/{model}", (peer_id, model))
            bare.setdefault(model, set()).add(peer_id)
    return fqns, bare


def resolves_to_peer(config: Config, name: str) -> bool:
    """A ``peer/model`` name, or a bare model name exactly one peer lists (a name two
    peers list is ambiguous and needs the qualified form)."""
    fqns, bare = peer_names(config)
    return name in fqns or len(bare.get(name, ())) == 1


def validate_peers(config: Config, problems: Problems) -> None:
    """Each peer needs a proxy and models; ``peer/model`` names are reserved, so no
    model ID, alias, selector or profile pin may take one."""
    seen: dict[str, tuple[str, str]] = {}
    for peer_id in sorted(config.peers):
        peer = config.peers[peer_id]
        if not peer.proxy:
            problems.error(("peers", peer_id, "proxy"), "proxy is required")
        else:
            try:
                urlsplit(peer.proxy)
            except ValueError as exc:
                problems.error(
                    ("peers", peer_id, "proxy"), f"invalid peer proxy URL ({peer.proxy}): {exc}"
                )
        if not peer.models:
            problems.error(("peers", peer_id, "models"), "peer models can not be empty")
        peer.models = list(dict.fromkeys(peer.models))
        for model in peer.models:
            fqn = f"{peer_id}/{model}"
            if fqn in seen:
                other_peer, other_model = seen[fqn]
                problems.error(
                    ("peers", peer_id, "models"),
                    f'peer model name "{fqn}" is ambiguous between peers.{other_peer} model '
                    f'"{other_model}" and peers.{peer_id} model "{model}"',
                )
            seen.setdefault(fqn, (peer_id, model))
    for fqn in sorted(seen):
        reserved = "conflicts with fully qualified peer model name"
        if fqn in config.models:
            problems.error(("models", fqn), f'model ID "{fqn}" {reserved}')
        if fqn in config.alias_to_id:
            owner = config.alias_to_id[fqn]
            problems.error(("models", owner, "aliases"), f'model {owner} alias "{fqn}" {reserved}')
        if fqn in config.selectors:
            problems.error(("selectors", fqn), f'selector ID "{fqn}" {reserved}')
        for name, profile in config.profiles.items():
            if fqn in profile.pins:
                problems.error(
                    ("profiles", name, "pins", fqn), f'profile {name} pin "{fqn}" {reserved}'
                )


def validate_selectors(config: Config, problems: Problems) -> None:
    """Selector names must not shadow another name; targets must resolve (no chaining),
    and spillover targets must be able to run side by side under the active router."""
    fqns, _ = peer_names(config)
    groups = config.routing.router.settings.groups
    group_of = {m: gid for gid, group in groups.items() for m in group.members}
    for selector_id, selector in config.selectors.items():
        where = ("selectors", selector_id)
        if not selector_id.strip():
            problems.error(("selectors",), "selectors: selector names cannot be empty")
        if selector_id in config.models:
            problems.error(
                where, f'selectors.{selector_id}: name conflicts with model ID "{selector_id}"'
            )
        elif selector_id in config.alias_to_id:
            problems.error(
                where, f'selectors.{selector_id}: name conflicts with model alias "{selector_id}"'
            )
        elif selector_id in fqns:
            problems.error(
                where, f'selectors.{selector_id}: name conflicts with peer model "{selector_id}"'
            )
        if not selector.targets:
            problems.error(
                (*where, "targets"),
                f"selectors.{selector_id}.targets must contain at least one entry",
            )
        local: list[str] = []
        resolved: list[str] = []
        for i, target in enumerate(selector.targets):
            at = (*where, "targets", i)
            model_id = config.resolve_model(target)
            if target in config.selectors:
                problems.error(
                    at,
                    f'selectors.{selector_id}.targets[{i}] references selector "{target}"; '
                    "selector chaining is not supported",
                )
            elif model_id is None and not resolves_to_peer(config, target):
                problems.error(
                    at, f'selectors.{selector_id}.targets[{i}] references unknown model "{target}"'
                )
            elif model_id is None and selector.strategy == "warm":
                problems.error(
                    at,
                    f"selectors.{selector_id}.targets[{i}] must resolve to a local model "
                    'for strategy "warm"',
                )
            else:
                resolved.append(model_id or _peer_identity(config, target))
                if model_id is not None:
                    local.append(model_id)
        if selector.strategy != "spillover":
            continue
        if selector.settings.spillover < 1:
            problems.error(
                (*where, "settings", "spillover"),
                f"selectors.{selector_id}.settings.spillover must be >= 1",
            )
        duplicates = sorted({t for t in resolved if resolved.count(t) > 1})
        for target in duplicates:
            problems.error(
                (*where, "targets"),
                f'selectors.{selector_id}.targets contains duplicate resolved model "{target}"',
            )
        if len(set(local)) > 1 and config.routing.router.use == "group":
            shared = {group_of.get(m) for m in local}
            group_id = next(iter(shared))
            if len(shared) != 1 or group_id is None or groups[group_id].swap:
                problems.error(
                    (*where, "targets"),
                    f"selectors.{selector_id} spillover targets must share one routing group "
                    "with swap: false",
                )
        matrix_mode = config.routing.router.use == "matrix"
        if len(set(local)) > 1 and matrix_mode and not _matrix_can_co_run(config, set(local)):
            problems.error(
                (*where, "targets"),
                f"selectors.{selector_id} spillover targets must all be in one expanded matrix set",
            )


def _matrix_can_co_run(config: Config, models: set[str]) -> bool:
    """Whether one expanded matrix set holds every model (a broken matrix is reported
    by ``validate_matrix``; it does not add a second error here)."""
    matrix = config.routing.router.settings.matrix
    if matrix is None:
        return True
    try:
        expanded = compile_sets(matrix.sets, matrix.vars, set(config.models))
    except DslError:
        return True
    return any(models <= alt for each in expanded for alt in each.alternatives)


def _peer_identity(config: Config, name: str) -> str:
    fqns, bare = peer_names(config)
    if name in fqns:
        return "/".join(fqns[name])
    return f"{next(iter(bare[name]))}/{name}"


def validate_profiles(config: Config, problems: Problems) -> None:
    """Map-form pins, and legacy list-form members resolved to IDs (deviation 4)."""
    for name, profile in config.profiles.items():
        where = ("profiles", name)
        if not name.strip():
            problems.error(("profiles",), "profiles: profile names cannot be empty")
        if "members" in profile.model_fields_set:
            members: list[str] = []
            for i, member in enumerate(profile.members):
                model_id = config.resolve_model(member)
                if model_id is None:
                    problems.error(
                        (*where, i), f'profile {name} references unknown model "{member}"'
                    )
                elif model_id not in members:
                    members.append(model_id)
            if not profile.members:
                problems.error(where, f"profile {name} must list at least one model")
            profile.members = members
            continue
        if not profile.pins:
            problems.error(
                (*where, "pins"), f"profiles.{name}.pins must contain at least one entry"
            )
        for pin, target in profile.pins.items():
            if not pin.strip():
                problems.error((*where, "pins"), f"profiles.{name}.pins: pin names cannot be empty")
            if not target:
                continue
            known = (
                config.resolve_model(target) is not None
                or target in config.selectors
                or resolves_to_peer(config, target)
            )
            if not known:
                problems.error(
                    (*where, "pins", pin),
                    f'profiles.{name}.pins.{pin} references unknown model "{target}"',
                )


def resolve_preload(config: Config, problems: Problems) -> None:
    """Preload names become model IDs; names that match no local model warn (deviation 9)."""
    preload: list[str] = []
    for i, raw in enumerate(config.hooks.on_startup.preload):
        name = raw.strip()
        if not name:
            continue
        model_id = config.resolve_model(name)
        where = ("hooks", "on_startup", "preload", i)
        if model_id is None:
            kind = "is a peer model" if resolves_to_peer(config, name) else "matches no model"
            problems.warn(where, f'preload model "{name}" {kind}; it is not preloaded')
        elif model_id not in preload:
            preload.append(model_id)
    config.hooks.on_startup.preload = preload
