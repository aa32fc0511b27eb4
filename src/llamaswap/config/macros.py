"""Macro expansion on the merged, untyped document (features.md §2.1 step 3).

Order matters and follows llama-swap: comment lines leave ``cmd``/``cmdStop`` first,
a missing ``proxy`` becomes ``http://localhost:${PORT}``, each model's scope is
``MODEL_ID`` + global macros + model macros substituted from the last declared to the
first (so a macro may use earlier ones), then ``${PORT}`` is allocated in sorted
model-ID order. A value that is exactly ``${name}`` keeps the macro's type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from llamaswap.config.cmdline import strip_comment_lines
from llamaswap.config.errors import KeyPath, Problems
from llamaswap.config.sources import scalar_text

MACRO_REF = re.compile(r"\$\{([a-zA-Z0-9_.-]+)\}")
MACRO_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
RESERVED = ("PID", "PORT", "MODEL_ID")
DEFAULT_PROXY = "http://localhost:${PORT}"
DEFAULT_START_PORT = 5800

Scope = list[tuple[str, Any]]


def expand_macros(
    document: dict[str, Any],
    problems: Problems,
    *,
    known_top_level: frozenset[str],
    previous_ports: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Expand every macro in place; return the ``${PORT}`` allocation (model ID -> port)."""
    global_scope = declared_macros(document.get("macros"), ("macros",), problems)
    for key in list(document):
        if key not in ("models", "macros"):
            document[key] = substitute(document[key], global_scope)
    for key in known_top_level - {"models", "macros"}:
        if key in document:
            _report_leftovers(document[key], (key,), problems)
    models = document.get("models")
    if not isinstance(models, dict):
        return {}
    for model_id in sorted(models):
        if models[model_id] is None:
            models[model_id] = {}
        if isinstance(models[model_id], dict):
            _expand_model(model_id, models[model_id], global_scope, problems)
    users = [m for m in sorted(models) if _uses_port(models[m], "cmd")]
    port_reported: set[str] = set()
    for model_id in sorted(models):
        if _uses_port(models[model_id], "proxy") and model_id not in users:
            port_reported.add(model_id)
            problems.error(
                ("models", model_id, "proxy"),
                f"model {model_id}: proxy uses ${{PORT}} but cmd does not - ${{PORT}} is only "
                "available when used in cmd; set proxy to the URL your fixed port serves",
            )
    start = document.get("startPort", DEFAULT_START_PORT)
    if not isinstance(start, int) or isinstance(start, bool) or start < 1:
        start = DEFAULT_START_PORT  # validation reports the bad value
    ports = allocate_ports(users, start, previous_ports)
    for model_id, port in ports.items():
        _substitute_model(models[model_id], [("PORT", port)])
    for model_id in sorted(models):
        if isinstance(models[model_id], dict):
            _check_model_leftovers(model_id, models[model_id], problems, port_reported)
    return ports


def allocate_ports(
    users: list[str], start: int, previous: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Ports for the models whose cmd uses ``${PORT}``, counting up from ``start``.

    A model with a known previous port keeps it (so a reload does not restart it); the
    others, in sorted order, take the next numbers not already taken.
    """
    kept = {m: previous[m] for m in users if previous and m in previous}
    taken = set(kept.values())
    result: dict[str, int] = {}
    counter = start
    for model_id in sorted(users):
        if model_id in kept:
            result[model_id] = kept[model_id]
            continue
        while counter in taken:
            counter += 1
        result[model_id] = counter
        taken.add(counter)
        counter += 1
    return result


def declared_macros(raw: Any, path: KeyPath, problems: Problems) -> Scope:
    """Validated ``(name, value)`` pairs in declaration order; bad ones are reported."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        problems.error(path, f"expected a mapping of macro names to values, found {raw!r}")
        return []
    scope: Scope = []
    for name, value in raw.items():
        where = (*path, name)
        if len(name) >= 64:
            problems.error(where, f"macro name '{name}' exceeds maximum length of 63 characters")
        elif not MACRO_NAME.match(name):
            problems.error(
                where,
                f"macro name '{name}' contains invalid characters, must match "
                "pattern ^[a-zA-Z0-9_-]+$",
            )
        elif name in RESERVED:
            problems.error(where, f"macro name '{name}' is reserved")
        elif value is None or isinstance(value, dict | list):
            kind = "null" if value is None else type(value).__name__
            problems.error(
                where,
                f"macro '{name}' has invalid type {kind}, must be a scalar type "
                "(string, int, float, or bool)",
            )
        elif isinstance(value, str) and "${" + name + "}" in value:
            problems.error(where, f"macro '{name}' contains self-reference")
        else:
            scope.append((name, value))
    return scope


def substitute(value: Any, scope: Scope) -> Any:
    """Apply ``scope`` from its last entry to its first; mapping keys stay as they are."""
    for name, macro_value in reversed(scope):
        value = _substitute_one(value, "${" + name + "}", macro_value)
    return value


def _substitute_one(value: Any, slug: str, macro_value: Any) -> Any:
    if isinstance(value, str):
        if value == slug:
            return macro_value
        return value.replace(slug, scalar_text(macro_value)) if slug in value else value
    if isinstance(value, dict):
        return {k: _substitute_one(v, slug, macro_value) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_one(v, slug, macro_value) for v in value]
    return value


def _expand_model(
    model_id: str, model: dict[str, Any], global_scope: Scope, problems: Problems
) -> None:
    for key in ("cmd", "cmdStop"):
        if isinstance(model.get(key), str):
            model[key] = strip_comment_lines(model[key])
    if model.get("proxy") is None:
        model["proxy"] = DEFAULT_PROXY
    own = declared_macros(model.get("macros"), ("models", model_id, "macros"), problems)
    scope: Scope = [("MODEL_ID", model_id), *global_scope]
    for name, value in own:
        index = next((i for i, (n, _) in enumerate(scope) if n == name), None)
        if index is None:
            scope.append((name, value))
        else:
            scope[index] = (name, value)
    by_id = _set_params_by_id(model)
    seen: dict[str, str] = {}
    for original in by_id or {}:
        expanded = scalar_text(substitute(original, scope))
        if expanded in seen:
            problems.error(
                ("models", model_id, "filters", "setParamsByID", original),
                f"key '{original}' expands to '{expanded}', the same as key '{seen[expanded]}'",
            )
        seen.setdefault(expanded, original)
    _substitute_model(model, scope)


def _substitute_model(model: dict[str, Any], scope: Scope) -> None:
    for key in list(model):
        if key != "macros":
            model[key] = substitute(model[key], scope)
    by_id = _set_params_by_id(model)
    if by_id is not None:
        model["filters"]["setParamsByID"] = {
            scalar_text(substitute(k, scope)): v for k, v in by_id.items()
        }


def _set_params_by_id(model: dict[str, Any]) -> dict[str, Any] | None:
    filters = model.get("filters")
    if isinstance(filters, dict) and isinstance(filters.get("setParamsByID"), dict):
        by_id: dict[str, Any] = filters["setParamsByID"]
        return by_id
    return None


def _uses_port(model: Any, key: str) -> bool:
    return isinstance(model, dict) and "${PORT}" in str(model.get(key) or "")


def _strings(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _strings(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _strings(child, (*path, i))


def _report_leftovers(value: Any, path: KeyPath, problems: Problems) -> None:
    for where, text in _strings(value, path):
        for name in MACRO_REF.findall(text):
            problems.error(where, _leftover_message(name, None))


def _check_model_leftovers(
    model_id: str, model: dict[str, Any], problems: Problems, port_reported: set[str]
) -> None:
    for key, value in model.items():
        if key == "macros":
            continue
        for where, text in _strings(value, (key,)):
            field = ".".join(str(p) for p in where)
            for name in MACRO_REF.findall(text):
                if name == "PID" and where == ("cmdStop",):
                    continue
                if name == "PORT" and where == ("proxy",) and model_id in port_reported:
                    continue
                problems.error(
                    ("models", model_id, *where), _leftover_message(name, f"{model_id}.{field}")
                )
    by_id = _set_params_by_id(model)
    for key in by_id or {}:
        for name in MACRO_REF.findall(key):
            problems.error(
                ("models", model_id, "filters", "setParamsByID", key),
                f"unknown macro '${{{name}}}' found in model {model_id} filters.setParamsByID key",
            )


def _leftover_message(name: str, where: str | None) -> str:
    if name.startswith("env."):
        return f"environment variable '{name[4:]}' is not set"
    if where is None:
        return f"unknown macro '${{{name}}}'"
    if name in ("PORT", "MODEL_ID"):
        return f"macro '${{{name}}}' should have been substituted in {where}"
    return f"unknown macro '${{{name}}}' found in {where}"
