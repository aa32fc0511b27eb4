"""``${env.NAME}`` substitution before parsing (features.md §2.1 step 2)."""

from __future__ import annotations

import pytest

from llamaswap.config.envsubst import substitute_env

from .conftest import Errors, Load


def test_env_macro_is_replaced_everywhere(load: Load, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LS_TEST_KEY", "sekrit")
    monkeypatch.setenv("LS_TEST_BIN", "/opt/srv")
    config = load(
        """
        apiKeys: ["${env.LS_TEST_KEY}"]
        models: {m: {cmd: "${env.LS_TEST_BIN} --port ${PORT}"}}
        """
    ).config
    assert config.api_keys == ["sekrit"]
    assert config.models["m"].cmd == "/opt/srv --port 5800"


def test_unset_env_var_is_an_error(errors: Errors, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LS_TEST_UNSET", raising=False)
    lines = errors("apiKeys: ['${env.LS_TEST_UNSET}']")
    assert lines[0].endswith(": environment variable 'LS_TEST_UNSET' is not set")


def test_unset_env_var_error_names_the_key_path_of_its_first_use(
    errors: Errors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """design.md format: `<file>: <key.path>: environment variable 'NOPE' is not set`."""
    monkeypatch.delenv("LS_TEST_NOPE", raising=False)
    lines = errors(
        """
        # ${env.LS_TEST_NOPE} in a comment does not count
        models:
          m:
            cmd: "srv --port ${PORT}"
            env: ["A=1", "KEY=${env.LS_TEST_NOPE}"]
          n:
            cmd: "srv ${env.LS_TEST_NOPE}"
        """
    )
    assert len(lines) == 1, lines
    file, _, rest = lines[0].partition(": ")
    assert file.endswith(".yaml"), lines
    assert rest == "models.m.env[1]: environment variable 'LS_TEST_NOPE' is not set"


def test_env_var_error_names_the_line_when_the_yaml_does_not_parse() -> None:
    """A document that does not parse still says where the name is used."""
    _, problems = substitute_env("a: 1\nb: [${env.LS_TEST_NOPE}\n", {})
    assert problems == ["line 2: environment variable 'LS_TEST_NOPE' is not set"]


def test_env_macro_only_in_a_comment_need_not_be_set(
    load: Load, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LS_TEST_UNSET", raising=False)
    load("# uses ${env.LS_TEST_UNSET} some day\nmodels: {}\n")


def test_env_value_with_newline_is_rejected() -> None:
    _, problems = substitute_env("a: ${env.X}", {"X": "one\ntwo"})
    assert problems == [
        "a: environment variable 'X' contains newlines or null bytes, "
        "which are not allowed in YAML substitution"
    ]


def test_env_value_quotes_and_backslashes_are_escaped() -> None:
    text, problems = substitute_env('a: "${env.X}"', {"X": 'say "hi" \\o/'})
    assert problems == []
    assert text == 'a: "say \\"hi\\" \\\\o/"'
