"""-config / -config-dir loading and the merge rules of features.md §2.1 step 1."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llamaswap.config.errors import ConfigError
from llamaswap.config.loader import load_config

from .conftest import Load, one_error


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_config_dir_files_merge_after_config_file(tmp_path: Path) -> None:
    main = write(tmp_path / "main.yaml", "models: {a: {cmd: srv a, proxy: 'http://h:1'}}")
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    write(conf_d / "b.yml", "models: {b: {cmd: srv b, proxy: 'http://h:2'}}")
    write(conf_d / "notes.txt", "not: yaml: at: all")
    config = load_config(main, str(conf_d)).config
    assert sorted(config.models) == ["a", "b"]
    assert config.source_files == [main, str(conf_d / "b.yml")]


def test_config_dir_is_read_in_sorted_filename_order(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", "apiKeys: [second]")
    write(tmp_path / "a.yaml", "apiKeys: [first]")
    config = load_config(None, str(tmp_path)).config
    assert config.api_keys == ["first", "second"]


def test_sequences_concatenate_across_sources(tmp_path: Path) -> None:
    main = write(tmp_path / "main.yaml", "apiKeys: [k1]")
    conf_d = tmp_path / "d"
    conf_d.mkdir()
    write(conf_d / "x.yaml", "apiKeys: [k2]")
    assert load_config(main, str(conf_d)).config.api_keys == ["k1", "k2"]


def test_same_model_in_two_sources_is_an_error_naming_the_second_file(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "models: {m: {cmd: srv, proxy: 'http://h:1'}}")
    second = write(tmp_path / "b.yaml", "models: {m: {cmd: srv, proxy: 'http://h:1'}}")
    with pytest.raises(ConfigError) as info:
        load_config(None, str(tmp_path))
    line = one_error(info.value.errors, "duplicate models")
    assert line.startswith(f'{second}: models.m: duplicate models "m" found in {second}')
    assert "already defined in another config source" in line


def test_other_mappings_merge_recursively(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "ui: {activity: {session_id: [X-A]}}\nperformance: {every: 10s}")
    write(tmp_path / "b.yaml", "performance: {disabled: true}")
    config = load_config(None, str(tmp_path)).config
    assert config.performance.every == "10s"
    assert config.performance.disabled is True


def test_equal_scalars_in_two_sources_are_fine(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "globalTTL: 30")
    write(tmp_path / "b.yaml", "globalTTL: 30")
    assert load_config(None, str(tmp_path)).config.global_ttl == 30


def test_different_scalars_conflict(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "globalTTL: 30")
    b = write(tmp_path / "b.yaml", "globalTTL: 60")
    with pytest.raises(ConfigError) as info:
        load_config(None, str(tmp_path))
    assert one_error(info.value.errors, 'conflict at "globalTTL"').startswith(f"{b}: globalTTL:")


def test_same_value_with_different_type_conflicts(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "sendLoadingState: true")
    write(tmp_path / "b.yaml", "sendLoadingState: 1")
    with pytest.raises(ConfigError, match="conflict at"):
        load_config(None, str(tmp_path))


def test_null_side_yields_to_the_other(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "globalTTL:")
    write(tmp_path / "b.yaml", "globalTTL: 60")
    assert load_config(None, str(tmp_path)).config.global_ttl == 60


def test_mismatched_node_kinds_conflict(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "apiKeys: [a]")
    write(tmp_path / "b.yaml", "apiKeys: {x: 1}")
    with pytest.raises(ConfigError, match="a mapping here, a sequence in"):
        load_config(None, str(tmp_path))


def test_config_file_inside_config_dir_is_an_error(tmp_path: Path) -> None:
    main = write(tmp_path / "main.yaml", "models: {}")
    with pytest.raises(ConfigError, match="also inside -config-dir"):
        load_config(main, str(tmp_path))


def test_empty_and_comment_only_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "")
    write(tmp_path / "b.yaml", "# nothing here\n")
    config = load_config(None, str(tmp_path)).config
    assert config.models == {}
    assert config.health_check_timeout == 120


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError, match="top level of a config file must be a mapping"):
        load_config(path)


def test_missing_config_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.errors[0].startswith(f"{missing}: cannot read config file")


def test_invalid_yaml_reports_the_parser_error_with_position(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", "models:\n  a: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors[0].startswith(f"{path}: invalid YAML:")
    assert "line" in info.value.errors[0]


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", "globalTTL: 1\nglobalTTL: 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(path)


def test_error_in_a_config_dir_file_names_that_file(tmp_path: Path) -> None:
    main = write(tmp_path / "main.yaml", "models: {a: {cmd: srv, proxy: 'http://h:1'}}")
    conf_d = tmp_path / "d"
    conf_d.mkdir()
    extra = write(conf_d / "x.yaml", "models: {b: {cmd: srv, proxy: 'http://h:2', ttl: -7}}")
    with pytest.raises(ConfigError) as info:
        load_config(main, str(conf_d))
    assert info.value.errors == [
        f"{extra}: models.b.ttl: invalid TTL value -7; use -1 (globalTTL), 0 (never) or seconds"
    ]


def test_yaml_is_1_2_so_on_and_no_stay_strings(load: Load) -> None:
    loaded = load("models: {m: {cmd: srv, proxy: 'http://h:1', name: on, description: no}}")
    model = loaded.config.models["m"]
    assert (model.name, model.description) == ("on", "no")


def test_anchors_aliases_and_merge_keys_work(load: Load) -> None:
    config = load(
        """
        x-base: &base
          cmd: srv --port ${PORT}
          ttl: 30
        models:
          a: {<<: *base, ttl: 5}
          b: *base
        """
    ).config
    assert config.models["a"].ttl == 5
    assert config.models["b"].ttl == 30
    assert config.models["a"].port == 5800
    assert config.models["b"].port == 5801
