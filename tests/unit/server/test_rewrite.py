"""Name resolution (aliases, legacy profile slugs) and JSON body rewrites (router.md §7)."""

from __future__ import annotations

import json
from typing import Any

from llamaswap.config.schema import Config, Profile
from llamaswap.server.rewrite import resolve_name, rewrite_json, split_upstream_path


def make_config(models: dict[str, dict[str, Any]], **top: Any) -> Config:
    config = Config.model_validate({"models": models, **top})
    for model_id, model in config.models.items():
        model.id = model_id
        for alias in model.aliases:
            config.alias_to_id[alias] = model_id
        for key in model.filters.set_params_by_id:
            if key != model_id:
                config.alias_to_id[key] = model_id
    return config


def rewritten(config: Config, name: str, body: dict[str, Any]) -> dict[str, Any] | None:
    resolved = resolve_name(config, name)
    assert resolved is not None
    data = rewrite_json(config.models[resolved.model_id], resolved, body)
    return None if data is None else dict(json.loads(data))


def test_alias_resolves_to_model_and_body_is_left_alone() -> None:
    config = make_config({"qwen": {"cmd": "x", "aliases": ["gpt-4"]}})
    resolved = resolve_name(config, "gpt-4")
    assert resolved is not None
    assert (resolved.model_id, resolved.forward_name, resolved.profile) == ("qwen", None, None)
    assert rewritten(config, "gpt-4", {"model": "gpt-4"}) is None


def test_unknown_name_does_not_resolve() -> None:
    assert resolve_name(make_config({"a": {"cmd": "x"}}), "b") is None


def test_use_model_name_sets_model() -> None:
    config = make_config({"q": {"cmd": "x", "aliases": ["al"], "useModelName": "Qwen/Q"}})
    assert rewritten(config, "al", {"model": "al", "x": 1}) == {"model": "Qwen/Q", "x": 1}


def test_filters_apply_in_order_strip_then_set_then_set_by_id() -> None:
    config = make_config(
        {
            "m": {
                "cmd": "x",
                "filters": {
                    "stripParams": "temperature, a.b, model, top_k",
                    "setParams": {"top_p": 0.5, "model": "never", "c.d": 1},
                    "setParamsByID": {"m:high": {"top_p": 0.9, "effort": "high"}},
                },
            }
        }
    )
    body = {"model": "m:high", "temperature": 1, "a": {"b": 2, "k": 3}, "top_k": 4}
    assert rewritten(config, "m:high", body) == {
        "model": "m:high",
        "a": {"k": 3},
        "top_p": 0.9,
        "c": {"d": 1},
        "effort": "high",
    }


def test_legacy_strip_params_key_is_accepted() -> None:
    config = make_config({"m": {"cmd": "x", "filters": {"strip_params": "seed"}}})
    assert rewritten(config, "m", {"model": "m", "seed": 1}) == {"model": "m"}


def test_profile_slug_resolves_to_member_and_strips_slug() -> None:
    config = make_config({"qwen": {"cmd": "x"}, "llama": {"cmd": "y"}})
    config.profiles["coding"] = Profile(members=["qwen", "llama"])
    resolved = resolve_name(config, "coding:qwen")
    assert resolved is not None
    assert (resolved.model_id, resolved.profile, resolved.forward_name) == (
        "qwen",
        "coding",
        "qwen",
    )
    assert rewritten(config, "coding:qwen", {"model": "coding:qwen"}) == {"model": "qwen"}


def test_name_that_is_an_alias_wins_over_profile_slug() -> None:
    config = make_config({"gpt": {"cmd": "x", "filters": {"setParamsByID": {"p:high": {}}}}})
    config.profiles["p"] = Profile(members=["gpt"])
    resolved = resolve_name(config, "p:high")
    assert resolved is not None
    assert (resolved.model_id, resolved.profile) == ("gpt", None)


def test_profile_slug_for_non_member_does_not_resolve() -> None:
    config = make_config({"a": {"cmd": "x"}, "b": {"cmd": "y"}})
    config.profiles["p"] = Profile(members=["a"])
    assert resolve_name(config, "p:b") is None


def test_upstream_path_takes_longest_model_prefix() -> None:
    config = make_config({"org": {"cmd": "x"}, "org/model": {"cmd": "y"}})
    target = split_upstream_path(config, "org/model/v1/models")
    assert target is not None
    assert (target.resolved.model_id, target.rest) == ("org/model", "/v1/models")
    target = split_upstream_path(config, "org/other/x")
    assert target is not None
    assert (target.resolved.model_id, target.rest) == ("org", "/other/x")


def test_upstream_path_accepts_encoded_slash_and_keeps_rest_raw() -> None:
    config = make_config({"org/model": {"cmd": "y"}})
    target = split_upstream_path(config, "org%2Fmodel/a%20b/c")
    assert target is not None
    assert (target.resolved.model_id, target.rest) == ("org/model", "/a%20b/c")


def test_upstream_path_without_trailing_slash_has_empty_rest() -> None:
    config = make_config({"m": {"cmd": "y"}})
    target = split_upstream_path(config, "m")
    assert target is not None
    assert target.rest == ""
    target = split_upstream_path(config, "m/")
    assert target is not None
    assert target.rest == "/"
    assert split_upstream_path(config, "nope/x") is None
