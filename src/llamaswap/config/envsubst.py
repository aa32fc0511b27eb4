"""``${env.NAME}`` substitution on the raw YAML text, before it is parsed.

Only names referenced outside YAML comments must be set: the text is parsed once
(comments vanish) to find them, then every occurrence is replaced textually, as
llama-swap does. Values are escaped for double-quoted YAML scalars. A problem names
the key path where the name is first used (design.md "Config error format").
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from llamaswap.config.errors import KeyPath, format_path

ENV_MACRO = re.compile(r"\$\{env\.([a-zA-Z_][a-zA-Z0-9_]*)\}")


def substitute_env(text: str, environ: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """Return the substituted text and the error messages (empty when all went well).

    Each message starts with where the name is first used: the key path of the scalar
    that holds it (``models.m.cmd: ``), or ``line N: `` when the text does not parse.
    """
    env = os.environ if environ is None else environ
    places = _first_places(text)
    errors: list[str] = []
    for name, where in places.items():
        value = env.get(name)
        if value is None:
            errors.append(f"{where}: environment variable '{name}' is not set")
            continue
        if any(ch in value for ch in "\n\r\x00"):
            errors.append(
                f"{where}: environment variable '{name}' contains newlines or null bytes, "
                "which are not allowed in YAML substitution"
            )
            continue
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        text = text.replace("${env." + name + "}", escaped)
    return text, errors


def _first_places(text: str) -> dict[str, str]:
    """Each referenced name (outside comments) and where it first appears."""
    try:
        document = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return _first_lines(text)
    places: dict[str, str] = {}
    for path, scalar in _strings(document, ()):
        for name in ENV_MACRO.findall(scalar):
            places.setdefault(name, format_path(path) or "<document>")
    return places


def _first_lines(text: str) -> dict[str, str]:
    places: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for name in ENV_MACRO.findall(line):
            places.setdefault(name, f"line {number}")
    return places


def _strings(node: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """Every key and string value of the document with its key path (a key counts as
    part of the entry it names)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            child = (*path, _key_text(key))
            if isinstance(key, str):
                yield child, key
            yield from _strings(value, child)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _strings(item, (*path, i))


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "" if key is None else str(key)
