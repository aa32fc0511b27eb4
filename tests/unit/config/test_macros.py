"""Macro expansion and ${PORT} allocation (features.md §2.1 step 3, router.md §1.11)."""

from __future__ import annotations

from pathlib import Path

from llamaswap.config.loader import load_config
from llamaswap.config.macros import allocate_ports

from .conftest import Errors, Load, one_error


def test_global_macro_expands_in_model_fields(load: Load) -> None:
    config = load(
        """
        macros: {bin: /opt/srv}
        models: {m: {cmd: "${bin} --port ${PORT}", name: "via ${bin}"}}
        """
    ).config
    assert config.models["m"].cmd == "/opt/srv --port 5800"
    assert config.models["m"].name == "via /opt/srv"


def test_model_macro_overrides_global_macro(load: Load) -> None:
    config = load(
        """
        macros: {ctx: 4096}
        models:
          m: {cmd: "srv -c ${ctx} --port ${PORT}", macros: {ctx: 8192}}
          n: {cmd: "srv -c ${ctx} --port ${PORT}"}
        """
    ).config
    assert config.models["m"].cmd == "srv -c 8192 --port 5800"
    assert config.models["n"].cmd == "srv -c 4096 --port 5801"


def test_macro_may_use_macros_declared_before_it(load: Load) -> None:
    config = load(
        """
        macros:
          bin: /opt/srv
          base: "${bin} --port ${PORT}"
          full: "${base} -ngl 99"
        models: {m: {cmd: "${full} -m ${MODEL_ID}.gguf"}}
        """
    ).config
    assert config.models["m"].cmd == "/opt/srv --port 5800 -ngl 99 -m m.gguf"


def test_macro_using_a_later_macro_is_left_unknown(errors: Errors) -> None:
    lines = errors(
        """
        macros:
          early: "${late}"
          late: x
        models: {m: {cmd: "srv ${early}", proxy: "http://h:1"}}
        """
    )
    assert one_error(lines, "unknown macro '${late}' found in m.cmd").endswith(
        ": models.m.cmd: unknown macro '${late}' found in m.cmd"
    )


def test_exact_macro_value_keeps_its_type(load: Load) -> None:
    config = load(
        """
        macros: {ctx: 8192, fast: true, temp: 0.5}
        models:
          m:
            cmd: srv --port ${PORT}
            metadata: {ctx: "${ctx}", fast: "${fast}", temp: "${temp}", port: "${PORT}",
                       text: "ctx=${ctx}"}
        """
    ).config
    assert config.models["m"].metadata == {
        "ctx": 8192, "fast": True, "temp": 0.5, "port": 5800, "text": "ctx=8192"
    }  # fmt: skip


def test_model_id_macro_is_the_model_key(load: Load) -> None:
    config = load("models: {qwen: {cmd: 'docker run --name ${MODEL_ID}', proxy: 'http://h:1'}}")
    assert config.config.models["qwen"].cmd == "docker run --name qwen"


def test_ports_are_allocated_in_sorted_model_id_order(load: Load) -> None:
    config = load(
        """
        startPort: 9000
        models:
          zeta: {cmd: "srv --port ${PORT}"}
          alpha: {cmd: "srv --port ${PORT}"}
          fixed: {cmd: srv --port 7000, proxy: "http://127.0.0.1:7000"}
        """
    ).config
    assert config.models["alpha"].port == 9000
    assert config.models["zeta"].port == 9001
    assert config.models["fixed"].port is None
    assert config.models["zeta"].proxy == "http://localhost:9001"


def test_start_port_may_use_a_global_macro(load: Load) -> None:
    config = load("macros: {base: 7000}\nstartPort: ${base}\nmodels: {m: {cmd: 's ${PORT}'}}")
    assert config.config.models["m"].port == 7000


def test_previous_ports_are_kept_and_new_models_take_free_numbers() -> None:
    assert allocate_ports(["a", "b", "c"], 5800, {"b": 5800, "c": 5805}) == {
        "a": 5801,
        "b": 5800,
        "c": 5805,
    }


def test_load_config_accepts_previous_ports(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("models: {a: {cmd: 's ${PORT}'}, b: {cmd: 's ${PORT}'}}")
    config = load_config(str(path), previous_ports={"b": 5800}).config
    assert (config.models["a"].port, config.models["b"].port) == (5801, 5800)


def test_default_proxy_uses_the_allocated_port(load: Load) -> None:
    assert load("models: {m: {cmd: 's ${PORT}'}}").config.models["m"].proxy == (
        "http://localhost:5800"
    )


def test_fixed_port_without_proxy_is_an_error(errors: Errors) -> None:
    lines = errors("models: {m: {cmd: 'srv --port 9000'}}")
    assert len(lines) == 1
    assert "models.m.proxy: model m: proxy uses ${PORT} but cmd does not" in lines[0]


def test_pid_macro_is_kept_in_cmd_stop(load: Load) -> None:
    model = load("models: {m: {cmd: 's ${PORT}', cmdStop: 'kill -TERM ${PID}'}}").config.models
    assert model["m"].cmd_stop == "kill -TERM ${PID}"


def test_pid_macro_in_cmd_is_unknown(errors: Errors) -> None:
    lines = errors("models: {m: {cmd: 'srv ${PID}', proxy: 'http://h:1'}}")
    one_error(lines, "unknown macro '${PID}' found in m.cmd")


def test_comment_lines_are_stripped_before_expansion(load: Load) -> None:
    config = load(
        """
        models:
          m:
            cmd: |
              srv --port 9000
              # --other ${undefined} --port ${PORT}
            proxy: http://h:9000
        """
    ).config
    assert config.models["m"].cmd == "srv --port 9000\n"
    assert config.models["m"].port is None


def test_unknown_macro_is_an_error_naming_model_and_field(errors: Errors) -> None:
    lines = errors("models: {m: {cmd: 'srv', proxy: 'http://h:1', name: '${nope}'}}")
    assert lines[0].endswith(": models.m.name: unknown macro '${nope}' found in m.name")


def test_port_left_in_a_field_should_have_been_substituted(errors: Errors) -> None:
    lines = errors("models: {m: {cmd: 'srv', proxy: 'http://h:1', name: 'on ${PORT}'}}")
    one_error(lines, "macro '${PORT}' should have been substituted in m.name")


def test_reserved_macro_name_is_an_error(errors: Errors) -> None:
    lines = errors("macros: {PORT: 1}\nmodels: {}")
    assert lines[0].endswith(": macros.PORT: macro name 'PORT' is reserved")


def test_invalid_macro_name_is_an_error(errors: Errors) -> None:
    one_error(errors("macros: {'a b': 1}"), "contains invalid characters")


def test_too_long_macro_name_is_an_error(errors: Errors) -> None:
    one_error(errors(f"macros: {{{'x' * 64}: 1}}"), "exceeds maximum length of 63")


def test_non_scalar_macro_value_is_an_error(errors: Errors) -> None:
    one_error(errors("macros: {m: [1, 2]}"), "must be a scalar type")


def test_self_referencing_macro_is_an_error(errors: Errors) -> None:
    one_error(errors("macros: {m: 'x ${m}'}"), "macro 'm' contains self-reference")


def test_set_params_by_id_keys_are_expanded(load: Load) -> None:
    config = load(
        """
        models:
          gpt:
            cmd: s ${PORT}
            filters: {setParamsByID: {"${MODEL_ID}:high": {effort: high}}}
        """
    ).config
    assert config.models["gpt"].filters.set_params_by_id == {"gpt:high": {"effort": "high"}}


def test_set_params_by_id_keys_expanding_to_the_same_text_are_an_error(errors: Errors) -> None:
    lines = errors(
        """
        models:
          m:
            cmd: s ${PORT}
            filters: {setParamsByID: {"${MODEL_ID}:x": {a: 1}, "m:x": {a: 2}}}
        """
    )
    one_error(lines, "expands to 'm:x'")


def test_global_macros_apply_to_top_level_values(load: Load) -> None:
    config = load(
        """
        macros: {key: abc}
        apiKeys: ["${key}"]
        peers: {p: {proxy: "https://x", apiKey: "${key}", models: [a]}}
        """
    ).config
    assert config.api_keys == ["abc"]
    assert config.peers["p"].api_key == "abc"


def test_unknown_macro_in_a_top_level_value_is_an_error(errors: Errors) -> None:
    lines = errors("apiKeys: ['${nope}']")
    assert lines[0].endswith(": apiKeys[0]: unknown macro '${nope}'")
