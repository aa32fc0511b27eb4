"""Fixtures that write YAML to a temporary file and run the real loader on it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from llamaswap.config.errors import ConfigError
from llamaswap.config.loader import LoadedConfig, load_config

Load = Callable[[str], LoadedConfig]
Errors = Callable[[str], list[str]]


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[[str], str]:
    def write(text: str) -> str:
        path = tmp_path / "config.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def load(config_file: Callable[[str], str]) -> Load:
    """Load YAML text; fails the test with the error lines if it does not load."""

    def run(text: str) -> LoadedConfig:
        try:
            return load_config(config_file(text))
        except ConfigError as exc:  # pragma: no cover - only on a failing test
            pytest.fail(f"config did not load:\n{exc}")

    return run


@pytest.fixture
def errors(config_file: Callable[[str], str]) -> Errors:
    """The error lines of a config that must not load."""

    def run(text: str) -> list[str]:
        with pytest.raises(ConfigError) as info:
            load_config(config_file(text))
        return info.value.errors

    return run


def one_error(lines: list[str], needle: str) -> str:
    """The single line containing ``needle``; fails with every line otherwise."""
    found = [line for line in lines if needle in line]
    assert len(found) == 1, f"want one line with {needle!r}, got:\n" + "\n".join(lines)
    return found[0]
