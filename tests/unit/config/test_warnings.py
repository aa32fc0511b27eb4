"""Unknown keys and legacy keys: one warning each (design.md deviation 9)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llamaswap.config.errors import ConfigError
from llamaswap.config.loader import load_config

from .conftest import Load

M = "cmd: 'srv --port ${PORT}'"


def messages(loaded_warnings: list[str]) -> list[str]:
    """Warnings without their ``<file>: `` prefix."""
    return [w.split(": ", 1)[1] for w in loaded_warnings]


def test_unknown_top_level_key_is_named_in_one_warning(load: Load) -> None:
    assert messages(load("healthCheckTimout: 30").warnings) == [
        "healthCheckTimout: unknown key; it is ignored (did you mean 'healthCheckTimeout'?)"
    ]


def test_unknown_key_three_levels_deep_is_named(load: Load) -> None:
    warnings = load(f"models: {{m: {{{M}, timeouts: {{conect: 5}}}}}}").warnings
    assert messages(warnings) == [
        "models.m.timeouts.conect: unknown key; it is ignored (did you mean 'connect'?)"
    ]


def test_unknown_keys_in_routing_and_peers_are_named(load: Load) -> None:
    warnings = load(
        "routing: {scheduler: {settings: {fifo: {maxwait: 3}}}}\n"
        "peers: {p: {proxy: 'https://x', models: [a], filter: {}}}"
    ).warnings
    assert sorted(messages(warnings)) == [
        "peers.p.filter: unknown key; it is ignored (did you mean 'filters'?)",
        "routing.scheduler.settings.fifo.maxwait: unknown key; it is ignored "
        "(did you mean 'maxWait'?)",
    ]


def test_python_attribute_names_are_unknown_keys(load: Load) -> None:
    loaded = load(f"models: {{m: {{{M}, cmd_stop: 'x', port: 1}}}}")
    assert sorted(messages(loaded.warnings)) == [
        "models.m.cmd_stop: unknown key; it is ignored (did you mean 'cmdStop'?)",
        "models.m.port: unknown key; it is ignored",
    ]
    assert loaded.config.models["m"].cmd_stop == ""
    assert loaded.config.models["m"].port == 5800


def test_free_form_maps_are_not_checked(load: Load) -> None:
    loaded = load(
        f"""
        macros: {{anything: 1}}
        models:
          m:
            {M}
            env: ["A=1"]
            macros: {{whatever: 2}}
            metadata: {{free: {{form: true}}}}
            filters: {{setParams: {{any: 1}}, setParamsByID: {{"m:x": {{any: 2}}}}}}
        routing: {{scheduler: {{settings: {{fifo: {{priority: {{m: 3}}}}}}}}}}
        selectors: {{s: {{strategy: pin, targets: [m], metadata: {{free: 1}}}}}}
        profiles: {{p: {{pins: {{anything: m}}}}}}
        matrix: {{vars: {{v: m}}, evict_costs: {{v: 2}}, sets: {{any: v}}}}
        """
    )
    assert loaded.warnings == []


def test_log_requests_gets_a_deprecation_note(load: Load) -> None:
    assert messages(load("logRequests: true").warnings) == [
        "logRequests: deprecated and ignored; access lines are always logged at INFO"
    ]


def test_per_model_health_check_timeout_gets_a_deprecation_note(load: Load) -> None:
    warnings = load(f"models: {{m: {{{M}, healthCheckTimeout: 30}}}}").warnings
    assert messages(warnings) == [
        "models.m.healthCheckTimeout: deprecated and ignored; the top-level "
        "healthCheckTimeout applies to every model"
    ]


def test_strip_params_legacy_spelling_is_ignored_when_strip_params_is_set(load: Load) -> None:
    filters = "filters: {stripParams: a, strip_params: b}"
    loaded = load(f"models: {{m: {{{M}, {filters}}}}}")
    assert messages(loaded.warnings) == [
        "models.m.filters.strip_params: deprecated and ignored because stripParams is set"
    ]
    assert loaded.config.models["m"].filters.strip_params == "a"


def test_unknown_keys_are_still_named_when_a_type_error_stops_the_load(
    config_file: Callable[[str], str],
) -> None:
    """No typed config to walk after a type error: the warnings come from the raw
    document and travel with the ConfigError, at any depth, legacy forms included."""
    path = config_file(
        """
        globalTTL: soon
        healthCheckTimout: 30
        models:
          m: {cmd: "srv ${PORT}", proxxy: "http://x", timeouts: {conect: 5}}
        groups:
          g: {members: [m], swapp: true}
        routing: {router: {settings: {matrix: {vars: {v: m}, sets: {s: v}, evict: 1}}}}
        """
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.errors == [f"{path}: globalTTL: expected an integer, found 'soon'"]
    assert sorted(messages(info.value.warnings)) == [
        "groups.g.swapp: unknown key; it is ignored (did you mean 'swap'?)",
        "healthCheckTimout: unknown key; it is ignored (did you mean 'healthCheckTimeout'?)",
        "models.m.proxxy: unknown key; it is ignored (did you mean 'proxy'?)",
        "models.m.timeouts.conect: unknown key; it is ignored (did you mean 'connect'?)",
        "routing.router.settings.matrix.evict: unknown key; it is ignored (check the spelling)",
    ]
