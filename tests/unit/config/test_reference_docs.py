"""Meta-tests: the docs and the annotated example cover every key and flag."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel
from ruamel.yaml import YAML

from llamaswap.cli import BOOL_FLAGS, STRING_FLAGS
from llamaswap.config.loader import load_config
from llamaswap.config.schema import Config

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "configuration.md"
ANNOTATED = ROOT / "examples" / "annotated.yaml"
PLACEHOLDERS = {
    "models": "<id>",
    "groups": "<group>",
    "profiles": "<name>",
    "selectors": "<id>",
    "peers": "<peer>",
}
LEGACY = ("logRequests", "groups", "matrix", "strip_params", "healthCheckTimeout")
"""Keys that get a deprecation note or are folded away; annotated.yaml only mentions them."""


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model type inside ``annotation`` and whether it sits in a dict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _nested_model(arg)
            if found[0] is not None:
                return found
    if origin is dict:
        value = get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value, True
    return None, False


def schema_paths(model: type[BaseModel] = Config, prefix: str = "") -> Iterator[str]:
    """Every YAML key path the schema knows, with ``<id>``-style placeholders."""
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        key = info.alias or name
        path = f"{prefix}{key}"
        yield path
        nested, in_dict = _nested_model(info.annotation)
        if nested is not None:
            child = f"{path}.{PLACEHOLDERS.get(key, '<name>')}." if in_dict else f"{path}."
            yield from schema_paths(nested, child)


def test_schema_walk_finds_nested_keys() -> None:
    paths = set(schema_paths())
    assert "models.<id>.timeouts.idleConn" in paths
    assert "routing.router.settings.groups.<group>.members" in paths


@pytest.mark.parametrize("path", sorted(set(schema_paths())))
def test_docs_mention_every_config_key(path: str) -> None:
    assert f"`{path}`" in DOCS.read_text(encoding="utf-8"), f"{path} is not documented"


@pytest.mark.parametrize("flag", sorted({*STRING_FLAGS, *BOOL_FLAGS}))
def test_docs_mention_every_cli_flag(flag: str) -> None:
    assert f"`-{flag}`" in DOCS.read_text(encoding="utf-8")


def test_annotated_example_loads_without_warnings() -> None:
    loaded = load_config(str(ANNOTATED))
    assert loaded.warnings == []


def _has_path(node: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    if not isinstance(node, dict):
        return False
    head, rest = parts[0], parts[1:]
    if re.fullmatch(r"<\w+>", head):
        return any(_has_path(child, rest) for child in node.values())
    return head in node and _has_path(node[head], rest)


def test_annotated_example_uses_every_current_key() -> None:
    document = YAML(typ="safe", pure=True).load(ANNOTATED.read_text(encoding="utf-8"))
    text = ANNOTATED.read_text(encoding="utf-8")
    missing = []
    for path in schema_paths():
        parts = path.split(".")
        if parts[0] in LEGACY or parts[-1] in LEGACY:
            assert parts[-1] in text, f"legacy key {path} is not mentioned"
        elif not _has_path(document, parts):
            missing.append(path)
    assert missing == []
