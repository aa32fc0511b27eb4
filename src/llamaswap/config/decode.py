"""Typed decode of the expanded document, with pydantic errors in our format.

A pydantic dump is never shown to a user: each error becomes one line naming the key
path, what was expected and what was found. Keys the schema does not know are each
named in one warning (design.md deviation 9); free-form maps are typed ``dict`` and
so are never walked.
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from llamaswap.config.errors import KeyPath, Problems, closest_name
from llamaswap.config.schema import Config, Profile

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "a boolean (true or false)",
    "bool_parsing": "a boolean (true or false)",
    "string_type": "a string",
    "dict_type": "a mapping",
    "list_type": "a list",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def decode(document: dict[str, Any], problems: Problems) -> Config | None:
    """Build the typed Config; ``None`` when a type error was reported."""
    legacy_profiles = _pop_legacy_profiles(document)
    _pop_loader_fields(document, problems)
    try:
        config = Config.model_validate(document, by_alias=True, by_name=False)
    except ValidationError as exc:
        # No typed config to walk: name unknown keys from the raw document instead,
        # so a typo's warning still comes with the errors.
        warn_unknown_raw(Config, document, (), problems)
        seen: set[str] = set()
        for err in exc.errors():
            path = tuple(p for p in err["loc"] if isinstance(p, str | int))
            line = problems.line(path, describe(err))
            if line not in seen:
                seen.add(line)
                problems.errors.append(line)
        return None
    for name, members in legacy_profiles.items():
        config.profiles[name] = Profile(members=members)
    return config


def describe(err: Any) -> str:
    """One pydantic error as ``expected X, found Y``."""
    kind = err["type"]
    if kind == "missing":
        return "required key is missing"
    found = found_text(err.get("input"))
    if kind == "literal_error":
        return f"expected one of {err['ctx']['expected']}, found {found}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, found {found}"
    return f"{err['msg'][:1].lower()}{err['msg'][1:]}, found {found}"


def found_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _pop_legacy_profiles(document: dict[str, Any]) -> dict[str, list[str]]:
    """List-form profiles (deviation 4) leave the document; they become Profile.members."""
    profiles = document.get("profiles")
    if not isinstance(profiles, dict):
        return {}
    legacy: dict[str, list[str]] = {}
    for name, value in list(profiles.items()):
        if isinstance(value, list):
            legacy[name] = [str(m) for m in value]
            del profiles[name]
    return legacy


def _pop_loader_fields(document: dict[str, Any], problems: Problems) -> None:
    """Attributes the loader fills in (``id``, ``port``, ...) are unknown keys in YAML."""
    for key in ("source_files", "alias_to_id"):
        if key in document:
            del document[key]
            problems.warn((key,), "unknown key; it is ignored")
    models = document.get("models")
    for model_id, model in (models or {}).items() if isinstance(models, dict) else ():
        for key in ("id", "port"):
            if isinstance(model, dict) and key in model:
                del model[key]
                problems.warn(("models", model_id, key), "unknown key; it is ignored")
    profiles = document.get("profiles")
    for name, profile in (profiles or {}).items() if isinstance(profiles, dict) else ():
        if isinstance(profile, dict) and "members" in profile:
            del profile["members"]
            problems.warn(("profiles", name, "members"), "unknown key; it is ignored")


def unknown_key_message(key: object, model: type[BaseModel]) -> str:
    """The unknown-key warning, naming the closest known key when one is close."""
    known = [info.alias or name for name, info in model.model_fields.items() if not info.exclude]
    close = closest_name(str(key), known)
    hint = f"did you mean {close!r}?" if close else "check the spelling"
    return f"unknown key; it is ignored ({hint})"


def warn_unknown_keys(node: BaseModel, path: KeyPath, problems: Problems) -> None:
    """One warning per key the schema does not know, at any depth."""
    for key in node.model_extra or {}:
        problems.warn((*path, key), unknown_key_message(key, type(node)))
    for name, info in type(node).model_fields.items():
        value = getattr(node, name)
        where = (*path, info.alias or name)
        if isinstance(value, BaseModel):
            warn_unknown_keys(value, where, problems)
        elif isinstance(value, dict):
            for key, child in value.items():
                if isinstance(child, BaseModel):
                    warn_unknown_keys(child, (*where, key), problems)
        elif isinstance(value, list):
            for i, child in enumerate(value):
                if isinstance(child, BaseModel):
                    warn_unknown_keys(child, (*where, i), problems)


def warn_unknown_raw(model: type[BaseModel], node: Any, path: KeyPath, problems: Problems) -> None:
    """:func:`warn_unknown_keys` over the raw document, for when decoding failed: the
    keys of ``node`` checked against ``model``'s fields, nested models followed through
    ``X | None``, ``dict[str, X]`` and ``list[X]``; values of the wrong shape skipped."""
    if not isinstance(node, dict):
        return
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    for key, value in node.items():
        info = fields.get(key)
        if info is None:
            problems.warn((*path, key), unknown_key_message(key, model))
            continue
        _warn_raw_value(info.annotation, value, (*path, key), problems)


def _warn_raw_value(annotation: Any, value: Any, path: KeyPath, problems: Problems) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        warn_unknown_raw(annotation, value, path, problems)
        return
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        for key, child in value.items():
            _warn_raw_value(args[1], child, (*path, key), problems)
    elif origin is list and args and isinstance(value, list):
        for i, child in enumerate(value):
            _warn_raw_value(args[0], child, (*path, i), problems)
    elif origin in (Union, UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # ``X | None``
            _warn_raw_value(options[0], value, path, problems)
