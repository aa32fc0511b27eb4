"""The command line's Go ``flag`` grammar (features.md §1), driven in-process."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from llamaswap.cli import Options, main, parse_args
from llamaswap.logformat import GO_LAYOUTS, GoStyleFormatter, reset_logging


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    yield
    reset_logging()


def test_one_or_two_dashes_and_equals_or_space_are_accepted() -> None:
    want = parse_args(["-config", "a.yaml", "-listen=:9000"])
    assert parse_args(["--config=a.yaml", "--listen", ":9000"]) == want
    assert (want.config, want.listen) == ("a.yaml", ":9000")


def test_defaults_are_empty_and_false() -> None:
    assert parse_args([]) == Options("", "", "", "", "", version=False, watch_config=False)


@pytest.mark.parametrize(
    ("arg", "value"),
    [
        ("-watch-config", True),
        ("--watch-config=true", True),
        ("-watch-config=1", True),
        ("-watch-config=T", True),
        ("-watch-config=false", False),
        ("-watch-config=FALSE", False),
        ("-watch-config=0", False),
    ],
)
def test_booleans_are_bare_or_take_go_bool_values(arg: str, value: bool) -> None:
    assert parse_args([arg]).watch_config is value


def test_later_flag_wins() -> None:
    assert parse_args(["-watch-config", "-watch-config=false"]).watch_config is False


def test_bool_flag_does_not_consume_the_next_argument() -> None:
    opts = parse_args(["-watch-config", "false", "-config", "x.yaml"])
    assert opts.watch_config is True
    assert opts.config == "", "parsing stops at the first non-flag argument, as in Go"


def test_double_dash_ends_flag_parsing() -> None:
    assert parse_args(["--", "-config", "x"]).config == ""


def test_string_value_may_start_with_a_dash() -> None:
    assert parse_args(["-config", "-weird.yaml"]).config == "-weird.yaml"


@pytest.mark.parametrize("flag", ["-h", "-help", "--help", "--h"])
def test_help_prints_usage_and_exits_0(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([flag]) == 0
    err = capsys.readouterr().err
    assert err.startswith("Usage of llama-swap:")
    for name in ("-config", "-config-dir", "-listen", "-tls-cert-file", "-tls-key-file"):
        assert f"  {name} string" in err
    assert "  -watch-config\n" in err
    assert "  -version\n" in err


@pytest.mark.parametrize("argv", [["-conf", "x"], ["-nope"], ["---config=x"]])
def test_unknown_or_abbreviated_flag_prints_usage_and_exits_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "Usage of llama-swap:" in capsys.readouterr().err


def test_unknown_flag_message_matches_go(capsys: pytest.CaptureFixture[str]) -> None:
    main(["-nope"])
    assert capsys.readouterr().err.startswith("flag provided but not defined: -nope\n")


def test_string_flag_without_value_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-config"]) == 2
    assert "flag needs an argument: -config" in capsys.readouterr().err


def test_bad_bool_value_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-version=yes"]) == 2
    assert 'invalid boolean value "yes" for -version' in capsys.readouterr().err


def test_version_prints_version_commit_and_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("version: ")
    assert "), built at " in out


def test_missing_config_and_config_dir_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 1
    assert "[ERROR] no config specified" in capsys.readouterr().out


def test_tls_needs_both_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-config", "x.yaml", "-tls-cert-file", "c.pem"]) == 1
    out = capsys.readouterr().out
    assert "both -tls-cert-file and -tls-key-file must be provided for TLS" in out


def test_config_errors_are_logged_one_per_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("startPort: 0\nglobalTTL: -1\n")
    assert main(["-config", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert sorted(lines) == [
        f"[ERROR] {path}: globalTTL: globalTTL must be >= 0; use 0 to never unload",
        f"[ERROR] {path}: startPort: startPort must be greater than 1; found 0",
    ]


def test_a_typo_warning_is_logged_before_the_error_it_explains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown-key warnings survive a failed load: `proxxy` is named before the error."""
    path = tmp_path / "typo.yaml"
    path.write_text(
        "models:\n  m:\n    cmd: server --port 9000\n    proxxy: http://127.0.0.1:${PORT}\n"
    )
    assert main(["-config", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"[WARN] {path}: models.m.proxxy: unknown key; it is ignored (did you mean 'proxy'?)"
    ), lines
    assert len(lines) > 1, lines
    assert all(line.startswith(f"[ERROR] {path}: ") for line in lines[1:]), lines
    assert any("but cmd does not" in line for line in lines[1:]), lines


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("llamaswap", logging.WARNING, __file__, 1, message, None, None)


def test_log_lines_have_go_level_names_and_no_timestamp_by_default() -> None:
    assert GoStyleFormatter("").format(_record("hi")) == "[WARN] hi"


def test_unknown_time_format_means_no_timestamp() -> None:
    assert GoStyleFormatter("iso").format(_record("hi")) == "[WARN] hi"


def test_go_time_layouts_render_like_go() -> None:
    t = datetime(2006, 1, 2, 15, 4, 5, 120000, tzinfo=timezone(timedelta(hours=-7)))
    assert GO_LAYOUTS["rfc3339"](t) == "2006-01-02T15:04:05-07:00"
    assert GO_LAYOUTS["rfc3339nano"](t) == "2006-01-02T15:04:05.12-07:00"
    assert GO_LAYOUTS["kitchen"](t) == "3:04PM"
    assert GO_LAYOUTS["stampmilli"](t) == "Jan  2 15:04:05.120"
    assert GO_LAYOUTS["rfc1123z"](t) == "Mon, 02 Jan 2006 15:04:05 -0700"
    assert GO_LAYOUTS["ansic"](t) == "Mon Jan  2 15:04:05 2006"
