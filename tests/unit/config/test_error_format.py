"""design.md "Config error format": ``<file>: <key.path>: <message>[; <hint>]``."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamaswap.config.errors import ConfigError, format_path
from llamaswap.config.loader import load_config

from .conftest import Errors


def test_key_paths_use_dots_and_bracketed_indices() -> None:
    assert format_path(("models", "qwen", "aliases", 2)) == "models.qwen.aliases[2]"


def test_config_error_str_is_its_lines_joined_by_newlines() -> None:
    err = ConfigError(["a: x: one", "a: y: two"])
    assert str(err) == "a: x: one\na: y: two"
    assert err.errors == ["a: x: one", "a: y: two"]


def test_error_line_names_file_key_message_and_hint(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("models: {qwen: {cmd: 'srv ${PORT}', ttl: -5}}")
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert info.value.errors == [
        f"{path}: models.qwen.ttl: invalid TTL value -5; use -1 (globalTTL), 0 (never) or seconds"
    ]


def test_type_errors_name_key_expected_and_found(errors: Errors) -> None:
    lines = errors("globalTTL: soon\nmodels: {m: {cmd: x, proxy: 'http://h:1', unlisted: maybe}}")
    text = [line.split(": ", 1)[1] for line in lines]
    assert sorted(text) == [
        "globalTTL: expected an integer, found 'soon'",
        "models.m.unlisted: expected a boolean (true or false), found 'maybe'",
    ]


def test_wrong_container_type_is_reported_plainly(errors: Errors) -> None:
    lines = errors("models: [a, b]")
    assert [line.split(": ", 1)[1] for line in lines] == [
        "models: expected a mapping, found a list"
    ]


def test_all_validation_errors_are_reported_together(errors: Errors) -> None:
    lines = errors(
        """
        startPort: 0
        globalTTL: -1
        models:
          a: {cmd: "srv ${PORT}", ttl: -9}
          b: {cmd: "srv 'x", proxy: "http://h:1"}
        """
    )
    assert len(lines) == 4, "\n".join(lines)
