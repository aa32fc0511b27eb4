"""Top-level, per-model and routing rules (features.md §2.2-2.6, router.md §8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import Errors, Load, one_error

M = "cmd: 'srv --port ${PORT}'"


def test_health_check_timeout_below_15_is_raised_to_15(load: Load) -> None:
    config = load(f"healthCheckTimeout: 5\nmodels: {{m: {{{M}, healthCheckTimeout: 99}}}}").config
    assert config.health_check_timeout == 15
    assert config.models["m"].health_check_timeout == 15


def test_log_level_is_trimmed_lowercased_and_unknown_means_info(load: Load) -> None:
    assert load("logLevel: ' DEBUG '").config.log_level == "debug"
    assert load("logLevel: loud").config.log_level == "info"


def test_bad_log_to_stdout_is_an_error(errors: Errors) -> None:
    one_error(errors("logToStdout: file"), "logToStdout must be one of")


def test_metrics_max_in_memory_non_positive_means_1000(load: Load) -> None:
    assert load("metricsMaxInMemory: 0").config.metrics_max_in_memory == 1000


def test_negative_global_ttl_is_an_error(errors: Errors) -> None:
    one_error(errors("globalTTL: -1"), "globalTTL must be >= 0")


def test_negative_unload_timeout_is_an_error(errors: Errors) -> None:
    one_error(errors("unloadTimeout: -1"), "unloadTimeout must be >= 0")


def test_zero_unload_timeout_means_10(load: Load) -> None:
    assert load("unloadTimeout: 0").config.unload_timeout == 10


def test_start_port_below_1_is_an_error(errors: Errors) -> None:
    one_error(errors("startPort: 0"), "startPort must be greater than 1")


def test_empty_api_key_is_an_error(errors: Errors) -> None:
    one_error(errors("apiKeys: ['']"), "empty api key found in apiKeys")


def test_api_key_with_space_is_an_error(errors: Errors) -> None:
    line = one_error(errors("apiKeys: [ok, 'a b']"), "api key cannot contain spaces")
    assert ": apiKeys[1]: apiKeys[1]: api key cannot contain spaces" in line


def test_invalid_ignore_paths_regex_is_an_error(errors: Errors) -> None:
    one_error(errors("upstream: {ignorePaths: ['(']}"), "upstream.ignorePaths: invalid regular")


def test_empty_ignore_paths_keeps_the_default(load: Load) -> None:
    paths = load("upstream: {ignorePaths: []}").config.upstream.ignore_paths
    assert paths == [r".*\.(js|json|css|png|gif|jpg|jpeg|ico|txt)$"]


def test_performance_every_below_5s_is_an_error(errors: Errors) -> None:
    one_error(errors("performance: {every: 1s}"), "performance: every must be at least 5s")


def test_performance_every_bare_number_is_nanoseconds(errors: Errors) -> None:
    one_error(errors("performance: {every: 30}"), "performance: every must be at least 5s")


def test_performance_every_accepts_go_durations(load: Load) -> None:
    assert load("performance: {every: 1m30s}").config.performance.every_seconds == 90


def test_session_id_headers_are_trimmed_and_deduplicated(load: Load) -> None:
    config = load("ui: {activity: {session_id: [' X-A ', x-a, '', X-B]}}").config
    assert config.ui.activity.session_id == ["X-A", "X-B"]


def test_store_path_must_not_be_empty(errors: Errors) -> None:
    one_error(errors("store: {path: ''}"), "store.path must not be empty")


def test_store_path_in_missing_directory_is_an_error(errors: Errors, tmp_path: Path) -> None:
    one_error(errors(f"store: {{path: '{tmp_path}/no/such/a.db'}}"), "is not writable")


def test_store_path_that_is_a_directory_is_an_error(errors: Errors, tmp_path: Path) -> None:
    one_error(errors(f"store: {{path: '{tmp_path}'}}"), "is not a regular file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_store_path_not_writable_is_an_error(errors: Errors, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    db.write_text("")
    db.chmod(0o444)
    one_error(errors(f"store: {{path: '{db}'}}"), "is not writable")


def test_negative_max_wait_is_an_error(errors: Errors) -> None:
    one_error(errors("routing: {scheduler: {settings: {fifo: {maxWait: -1}}}}"), "maxWait")


def test_max_wait_defaults_to_120(load: Load) -> None:
    assert load("models: {}").config.routing.scheduler.settings.fifo.max_wait == 120


def test_model_ttl_below_minus_one_is_an_error(errors: Errors) -> None:
    line = one_error(errors(f"models: {{m: {{{M}, ttl: -5}}}}"), "invalid TTL value -5")
    assert line.endswith(
        "models.m.ttl: invalid TTL value -5; use -1 (globalTTL), 0 (never) or seconds"
    )


def test_model_ttl_minus_one_uses_global_ttl(load: Load) -> None:
    config = load(f"globalTTL: 300\nmodels: {{m: {{{M}}}}}").config
    assert config.effective_ttl("m") == 300


def test_negative_model_unload_timeout_is_an_error(errors: Errors) -> None:
    one_error(
        errors(f"models: {{m: {{{M}, unloadTimeout: -1}}}}"), "invalid unloadTimeout value -1"
    )


def test_negative_concurrency_limit_is_an_error(errors: Errors) -> None:
    one_error(errors(f"models: {{m: {{{M}, concurrencyLimit: -1}}}}"), "concurrencyLimit must be")


def test_negative_capabilities_context_is_an_error(errors: Errors) -> None:
    one_error(errors(f"models: {{m: {{{M}, capabilities: {{context: -1}}}}}}"), "context must be")


def test_invalid_capability_modality_is_an_error(errors: Errors) -> None:
    line = one_error(errors(f"models: {{m: {{{M}, capabilities: {{in: [video]}}}}}}"), "video")
    assert "models.m.capabilities.in[0]: expected one of 'text', 'audio' or 'image'" in line


def test_unterminated_quote_in_cmd_is_a_load_error_naming_the_model(errors: Errors) -> None:
    line = one_error(errors("models: {m: {cmd: 'srv \"x', proxy: 'http://h:1'}}"), "unterminated")
    assert line.endswith(": models.m.cmd: model m: cmd: unterminated double quote")


def test_empty_cmd_is_a_load_error_naming_the_model(errors: Errors) -> None:
    one_error(errors("models: {m: {proxy: 'http://h:1'}}"), "model m: cmd: empty command")


def test_unterminated_quote_in_cmd_stop_is_a_load_error(errors: Errors) -> None:
    one_error(
        errors(f'models: {{m: {{{M}, cmdStop: "kill \'${{PID}}"}}}}'), "cmdStop: unterminated"
    )


def test_legacy_strip_params_is_used_when_strip_params_is_empty(load: Load) -> None:
    config = load(f"models: {{m: {{{M}, filters: {{strip_params: 'a,b'}}}}}}").config
    assert config.models["m"].filters.strip_params == "a,b"


def test_comfyui_auto_always_ignores_websockets(load: Load) -> None:
    config = load(f"models: {{comfyui_auto: {{{M}}}}}").config
    assert config.models["comfyui_auto"].compat.ignore_websockets is True
    assert config.effective_concurrency_limit("comfyui_auto") == 50


def test_model_ids_are_filled_in(load: Load) -> None:
    assert load(f"models: {{m: {{{M}}}}}").config.models["m"].id == "m"


TWO = f"models: {{a: {{{M}, aliases: [aa]}}, b: {{{M}}}, c: {{{M}}}}}\n"


def test_legacy_groups_are_folded_into_routing(load: Load) -> None:
    config = load(TWO + "groups: {g: {members: [a, b], swap: false}}").config
    router = config.routing.router
    assert router.use == "group"
    assert router.settings.groups["g"].members == ["a", "b"]
    assert router.settings.groups["g"].swap is False
    assert config.groups is None


def test_ungrouped_models_go_into_the_default_group(load: Load) -> None:
    groups = load(TWO + "groups: {g: {members: [a]}}").config.routing.router.settings.groups
    assert groups["(default)"].members == ["b", "c"]
    assert groups["(default)"].swap
    assert groups["(default)"].exclusive


def test_group_member_alias_resolves_to_the_model_id(load: Load) -> None:
    groups = load(TWO + "groups: {g: {members: [aa, b]}}").config.routing.router.settings.groups
    assert groups["g"].members == ["a", "b"]


def test_unknown_group_member_is_an_error_naming_it(errors: Errors) -> None:
    line = one_error(errors(TWO + "groups: {g: {members: [zz]}}"), 'no model config for "zz"')
    assert ": groups.g.members[0]: " in line


def test_misspelt_group_member_error_suggests_the_closest_model(errors: Errors) -> None:
    line = one_error(
        errors(f"models: {{llama: {{{M}}}}}\ngroups: {{g: {{members: [lama]}}}}"),
        'no model config for "lama"',
    )
    assert line.endswith('did you mean "llama"?')


def test_duplicate_group_member_is_an_error(errors: Errors) -> None:
    one_error(
        errors(TWO + "groups: {g: {members: [a, aa]}}"),
        "duplicate model member a found in group: g",
    )


def test_model_in_two_groups_is_an_error(errors: Errors) -> None:
    lines = errors(TWO + "groups: {g: {members: [a]}, h: {members: [a]}}")
    one_error(lines, "model member a is used in multiple groups: g and h")


def test_legacy_keys_with_routing_block_is_an_error(errors: Errors) -> None:
    lines = errors(TWO + "groups: {g: {members: [a]}}\nrouting: {router: {use: group}}")
    one_error(lines, "please migrate the top-level keys")


def test_groups_and_matrix_together_is_an_error(errors: Errors) -> None:
    lines = errors(TWO + "groups: {g: {members: [a]}}\nmatrix: {sets: {s: a}}")
    one_error(lines, "config cannot use both 'groups' and 'matrix'")


def test_unknown_router_is_an_error(errors: Errors) -> None:
    one_error(errors("routing: {router: {use: magic}}"), "routing.router.use: unknown router")


def test_matrix_router_without_matrix_settings_is_an_error(errors: Errors) -> None:
    lines = errors("routing: {router: {use: matrix}}")
    one_error(lines, "routing.router.settings.matrix is not set")


def test_unknown_scheduler_is_an_error(errors: Errors) -> None:
    one_error(
        errors("routing: {scheduler: {use: lifo}}"), "routing.scheduler.use: unknown scheduler"
    )


def test_priority_keys_resolve_to_model_ids(load: Load) -> None:
    config = load(TWO + "routing: {scheduler: {settings: {fifo: {priority: {aa: 5}}}}}").config
    assert config.routing.scheduler.settings.fifo.priority == {"a": 5}


def test_priority_for_unknown_model_is_an_error(errors: Errors) -> None:
    lines = errors(TWO + "routing: {scheduler: {settings: {fifo: {priority: {zz: 5}}}}}")
    one_error(lines, "routing.scheduler.settings.fifo.priority references unknown model")


def test_legacy_matrix_is_folded_into_routing(load: Load) -> None:
    config = load(TWO + "matrix: {vars: {x: a}, sets: {s: 'x & b'}}").config
    assert config.routing.router.use == "matrix"
    matrix = config.routing.router.settings.matrix
    assert matrix is not None
    assert matrix.sets == {"s": "x & b"}


def test_matrix_without_sets_is_an_error(errors: Errors) -> None:
    one_error(errors(TWO + "matrix: {vars: {x: a}}"), "matrix must define at least one set")


def test_matrix_var_key_pattern_is_enforced(errors: Errors) -> None:
    lines = errors(TWO + "matrix: {vars: {a_b: a}, sets: {s: a}}")
    one_error(lines, "must be 1-32 characters of letters, digits, '.' or '-'")


def test_matrix_var_must_name_a_model_id_not_an_alias(errors: Errors) -> None:
    lines = errors(TWO + "matrix: {vars: {x: aa}, sets: {s: a}}")
    one_error(lines, 'var key "x" references unknown model "aa"')


def test_matrix_evict_cost_must_be_positive(errors: Errors) -> None:
    lines = errors(TWO + "matrix: {evict_costs: {a: 0}, sets: {s: a}}")
    one_error(lines, 'evict_cost for "a" must be a positive integer, got 0')


def test_matrix_evict_cost_key_must_be_var_or_model(errors: Errors) -> None:
    lines = errors(TWO + "matrix: {evict_costs: {zz: 2}, sets: {s: a}}")
    one_error(lines, 'evict_costs: unknown var or model "zz"')


def test_matrix_errors_under_routing_name_the_routing_path(errors: Errors) -> None:
    lines = errors(TWO + "routing: {router: {use: matrix, settings: {matrix: {sets: {}}}}}")
    line = one_error(lines, "matrix must define at least one set")
    assert ": routing.router.settings.matrix.sets: " in line
