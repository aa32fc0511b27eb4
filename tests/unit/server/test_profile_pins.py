"""The active profile (features.md §2.7) and renaming a request's model in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamaswap.config.loader import load_config
from llamaswap.config.schema import Config
from llamaswap.errors import NotFound
from llamaswap.server.model_field import replace_form_model, replace_query_model
from llamaswap.server.profiles import ActiveProfile

CONFIG = """
models:
  m1: {cmd: "x --port ${PORT}"}
  "org/m2": {cmd: "x --port ${PORT}"}
profiles:
  fast:
    description: quick
    pins: {a: m1, a/b: org/m2, off: null, "x y": m1}
  legacy: [m1]
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return load_config(str(path)).config


def test_no_profile_is_active_at_first_and_no_pins_apply(config: Config) -> None:
    profile = ActiveProfile(config)
    assert profile.active is None
    assert dict(profile.pins) == {}
    assert profile.rewrite_upstream_tail("a/health") is None


def test_activation_reports_change_and_notifies_listeners_once(config: Config) -> None:
    profile = ActiveProfile(config)
    seen: list[str | None] = []
    profile.on_change(seen.append)
    assert profile.activate("fast") is True
    assert profile.activate("fast") is False
    assert profile.activate("") is True
    assert seen == ["fast", None]


def test_unknown_and_legacy_list_profiles_cannot_be_activated(config: Config) -> None:
    profile = ActiveProfile(config)
    for name in ("nope", "legacy"):
        with pytest.raises(NotFound) as caught:
            profile.activate(name)
        assert caught.value.message == f'profile "{name}" not found'
    assert profile.active is None


def test_api_listing_shows_map_profiles_with_disabled_pins_as_empty(config: Config) -> None:
    listing = ActiveProfile(config).api_listing()
    assert listing == {
        "active": None,
        "profiles": [
            {
                "id": "fast",
                "description": "quick",
                "pins": {"a": "m1", "a/b": "org/m2", "off": "", "x y": "m1"},
            }
        ],
    }


@pytest.mark.parametrize(
    ("tail", "rewritten"),
    [
        ("a", "m1"),
        ("a/", "m1/"),
        ("a/health", "m1/health"),
        ("a/b/health", "org/m2/health"),
        ("a%2Fb/health", "org/m2/health"),
        ("x%20y/z%20w", "m1/z%20w"),
        ("off/health", ""),
        ("ab/health", None),
        ("m1/health", None),
    ],
)
def test_upstream_tail_takes_the_longest_matching_pin(
    config: Config, tail: str, rewritten: str | None
) -> None:
    profile = ActiveProfile(config)
    profile.activate("fast")
    assert profile.rewrite_upstream_tail(tail) == rewritten


def test_query_model_is_replaced_and_other_params_kept() -> None:
    assert replace_query_model("/p?model=a&x=1&x=2", "b/c") == "/p?model=b%2Fc&x=1&x=2"
    assert replace_query_model("/p?x=%20", "b") == "/p?x=%20", "no model: left byte for byte"
    assert replace_query_model("/p", "b") == "/p"


def test_form_model_is_replaced_only_when_present() -> None:
    assert replace_form_model(b"model=a&t=x+y", "b") == b"model=b&t=x+y"
    assert replace_form_model(b"t=%7E", "b") == b"t=%7E"
