"""Aliases, peers, selectors, profiles and preload names (features.md §2.3, §2.7-2.9)."""

from __future__ import annotations

from .conftest import Errors, Load, one_error

M = "cmd: 'srv --port ${PORT}'"
TWO = f"models: {{a: {{{M}, aliases: [aa]}}, b: {{{M}}}}}\n"
PEER = "peers: {p: {proxy: 'https://x/api', models: [gpt, a]}}\n"


def test_aliases_map_to_their_model(load: Load) -> None:
    config = load(TWO).config
    assert config.alias_to_id == {"aa": "a"}
    assert config.resolve_model("aa") == "a"


def test_duplicate_alias_is_an_error(errors: Errors) -> None:
    lines = errors(f"models: {{a: {{{M}, aliases: [x]}}, b: {{{M}, aliases: [x]}}}}")
    one_error(lines, "duplicate alias x found in model: b")


def test_set_params_by_id_keys_become_aliases(load: Load) -> None:
    config = load(
        f"models: {{a: {{{M}, filters: {{setParamsByID: {{'a:hi': {{x: 1}}}}}}}}}}"
    ).config
    assert config.alias_to_id["a:hi"] == "a"
    assert "a:hi" in config.models["a"].aliases


def test_set_params_by_id_key_equal_to_another_model_id_is_an_error(errors: Errors) -> None:
    lines = errors(TWO.replace("aliases: [aa]", "filters: {setParamsByID: {b: {x: 1}}}"))
    one_error(lines, "key 'b' conflicts with an existing model ID")


def test_set_params_by_id_key_equal_to_another_models_alias_is_an_error(errors: Errors) -> None:
    lines = errors(TWO.replace("b: {", "b: {filters: {setParamsByID: {aa: {x: 1}}}, "))
    one_error(
        lines, "duplicate alias 'aa' in model b filters.setParamsByID, already used by model a"
    )


def test_peer_without_proxy_is_an_error(errors: Errors) -> None:
    one_error(errors("peers: {p: {models: [x]}}"), "peers.p.proxy: proxy is required")


def test_peer_without_models_is_an_error(errors: Errors) -> None:
    one_error(errors("peers: {p: {proxy: 'https://x'}}"), "peer models can not be empty")


def test_peer_default_response_header_timeout_is_60(load: Load) -> None:
    assert load(PEER).config.peers["p"].timeouts.response_header == 60


def test_model_id_equal_to_peer_fqn_is_an_error(errors: Errors) -> None:
    lines = errors(f"models: {{'p/gpt': {{{M}}}}}\n" + PEER)
    one_error(lines, 'model ID "p/gpt" conflicts with fully qualified peer model name')


def test_alias_equal_to_peer_fqn_is_an_error(errors: Errors) -> None:
    lines = errors(f"models: {{a: {{{M}, aliases: [p/gpt]}}}}\n" + PEER)
    one_error(lines, 'model a alias "p/gpt" conflicts with fully qualified peer model name')


def test_ambiguous_peer_fqn_is_an_error(errors: Errors) -> None:
    lines = errors(
        "peers: {p: {proxy: 'https://x', models: [q/r]}, p/q: {proxy: 'https://y', models: [r]}}"
    )
    one_error(lines, 'peer model name "p/q/r" is ambiguous')


def test_selector_resolves_targets(load: Load) -> None:
    config = load(TWO + PEER + "selectors: {s: {strategy: pin, targets: [aa, p/gpt, gpt]}}").config
    assert config.selectors["s"].targets == ["aa", "p/gpt", "gpt"]


def test_selector_named_like_a_model_is_an_error(errors: Errors) -> None:
    one_error(
        errors(TWO + "selectors: {a: {strategy: pin, targets: [b]}}"),
        "name conflicts with model ID",
    )


def test_selector_without_strategy_is_an_error(errors: Errors) -> None:
    one_error(
        errors(TWO + "selectors: {s: {targets: [a]}}"),
        "selectors.s.strategy: required key is missing",
    )


def test_selector_unknown_strategy_is_an_error(errors: Errors) -> None:
    one_error(errors(TWO + "selectors: {s: {strategy: fast, targets: [a]}}"), "expected one of")


def test_selector_needs_targets(errors: Errors) -> None:
    one_error(
        errors(TWO + "selectors: {s: {strategy: pin, targets: []}}"),
        "must contain at least one entry",
    )


def test_selector_unknown_target_is_an_error(errors: Errors) -> None:
    one_error(
        errors(TWO + "selectors: {s: {strategy: pin, targets: [zz]}}"),
        'references unknown model "zz"',
    )


def test_selector_chaining_is_an_error(errors: Errors) -> None:
    lines = errors(
        TWO + "selectors: {s: {strategy: pin, targets: [a]}, t: {strategy: pin, targets: [s]}}"
    )
    one_error(lines, "selector chaining is not supported")


def test_warm_selector_targets_must_be_local(errors: Errors) -> None:
    lines = errors(TWO + PEER + "selectors: {s: {strategy: warm, targets: [a, p/gpt]}}")
    one_error(lines, 'must resolve to a local model for strategy "warm"')


def test_spillover_below_one_is_an_error(errors: Errors) -> None:
    lines = errors(
        TWO + "selectors: {s: {strategy: spillover, targets: [a], settings: {spillover: 0}}}"
    )
    one_error(lines, "settings.spillover must be >= 1")


def test_spillover_duplicate_resolved_targets_are_an_error(errors: Errors) -> None:
    lines = errors(TWO + "selectors: {s: {strategy: spillover, targets: [a, aa]}}")
    one_error(lines, 'duplicate resolved model "a"')


def test_spillover_local_targets_must_share_a_non_swapping_group(errors: Errors) -> None:
    lines = errors(TWO + "selectors: {s: {strategy: spillover, targets: [a, b]}}")
    one_error(lines, "must share one routing group with swap: false")


def test_spillover_targets_in_a_non_swapping_group_load(load: Load) -> None:
    load(TWO + "groups: {g: {members: [a, b], swap: false}}\n"
         "selectors: {s: {strategy: spillover, targets: [a, b]}}")  # fmt: skip


def test_spillover_targets_outside_one_matrix_set_are_an_error(errors: Errors) -> None:
    lines = errors(TWO + "matrix: {sets: {one: 'a | b'}}\n"
                   "selectors: {s: {strategy: spillover, targets: [a, b]}}")  # fmt: skip
    one_error(lines, "spillover targets must all be in one expanded matrix set")


def test_spillover_targets_in_one_matrix_set_load(load: Load) -> None:
    load(TWO + "matrix: {sets: {both: 'a & b'}}\n"
         "selectors: {s: {strategy: spillover, targets: [a, b]}}")  # fmt: skip


def test_profile_pins_load(load: Load) -> None:
    config = load(
        TWO + PEER + "profiles: {fast: {description: d, pins: {a: b, gpt: p/gpt, off: ~}}}"
    )
    assert config.config.profiles["fast"].pins == {"a": "b", "gpt": "p/gpt", "off": None}


def test_profile_without_pins_is_an_error(errors: Errors) -> None:
    one_error(errors(TWO + "profiles: {fast: {description: d}}"), "profiles.fast.pins must contain")


def test_profile_pin_to_unknown_target_is_an_error(errors: Errors) -> None:
    one_error(
        errors(TWO + "profiles: {f: {pins: {a: zz}}}"),
        'profiles.f.pins.a references unknown model "zz"',
    )


def test_profile_pin_equal_to_peer_fqn_is_an_error(errors: Errors) -> None:
    lines = errors(TWO + PEER + "profiles: {f: {pins: {p/gpt: a}}}")
    one_error(lines, 'profile f pin "p/gpt" conflicts with fully qualified peer model name')


def test_legacy_list_profile_keeps_members_as_model_ids(load: Load) -> None:
    profile = load(TWO + "profiles: {coding: [aa, b]}").config.profiles["coding"]
    assert profile.members == ["a", "b"]
    assert profile.pins == {}


def test_legacy_list_profile_with_unknown_member_is_an_error(errors: Errors) -> None:
    line = one_error(errors(TWO + "profiles: {coding: [a, zz]}"), 'unknown model "zz"')
    assert ": profiles.coding[1]: " in line


def test_both_profile_forms_may_appear_in_one_file(load: Load) -> None:
    profiles = load(TWO + "profiles: {coding: [a], fast: {pins: {a: b}}}").config.profiles
    assert profiles["coding"].members == ["a"]
    assert profiles["fast"].pins == {"a": "b"}


def test_preload_names_resolve_to_ids_and_blanks_drop(load: Load) -> None:
    config = load(TWO + "hooks: {on_startup: {preload: [' aa ', '', b]}}").config
    assert config.hooks.on_startup.preload == ["a", "b"]


def test_unknown_preload_name_is_dropped_with_one_warning(load: Load) -> None:
    loaded = load(TWO + PEER + "hooks: {on_startup: {preload: [zz, gpt, a]}}")
    assert loaded.config.hooks.on_startup.preload == ["a"]
    assert [w.split(": ", 1)[1] for w in loaded.warnings] == [
        'hooks.on_startup.preload[0]: preload model "zz" matches no model; it is not preloaded',
        'hooks.on_startup.preload[1]: preload model "gpt" is a peer model; it is not preloaded',
    ]
