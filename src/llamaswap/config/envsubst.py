"""``${env.NAME}`` substitution on the raw YAML text, before it is parsed.

Only names referenced outside YAML comments must be set: the text is parsed once
(comments vanish) to find them, then every occurrence is replaced textually, as
llama-swap does. Values are escaped for double-quoted YAML scalars.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

ENV_MACRO = re.compile(r"\$\{env\.([a-zA-Z_][a-zA-Z0-9_]*)\}")


def substitute_env(text: str, environ: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """Return the substituted text and the error messages (empty when all went well)."""
    env = os.environ if environ is None else environ
    names = list(dict.fromkeys(ENV_MACRO.findall(_text_outside_comments(text))))
    errors: list[str] = []
    for name in names:
        value = env.get(name)
        if value is None:
            errors.append(f"environment variable '{name}' is not set")
            continue
        if any(ch in value for ch in "\n\r\x00"):
            errors.append(
                f"environment variable '{name}' contains newlines or null bytes, "
                "which are not allowed in YAML substitution"
            )
            continue
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        text = text.replace("${env." + name + "}", escaped)
    return text, errors


def _text_outside_comments(text: str) -> str:
    """Every key and string value of the document; the raw text if it does not parse."""
    try:
        document = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return text
    return "\n".join(_strings(document))


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
