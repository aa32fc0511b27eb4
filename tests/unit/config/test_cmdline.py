"""cmd parsing: router.md §1.9 plus design.md deviation 5."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llamaswap.config.cmdline import (
    CmdParseError,
    parse_cmd,
    split_posix,
    strip_comment_lines,
)

REFERENCE = """python model1.py \\
    -a "double quotes" \\
    --arg2 'single quotes'
    -s
    # comment 1
    --arg3 123 \\

      # comment 2
    --arg4 '"string in string"'


    # this will get stripped out as well as the white space above
    -c "'single quoted'"
"""


def test_reference_case_from_upstream_tests() -> None:
    assert parse_cmd(REFERENCE) == [
        "python", "model1.py", "-a", "double quotes", "--arg2", "single quotes", "-s",
        "--arg3", "123", "--arg4", '"string in string"', "-c", "'single quoted'",
    ]  # fmt: skip


def test_hash_mid_line_is_an_ordinary_word() -> None:
    assert parse_cmd("srv --foo # bar") == ["srv", "--foo", "#", "bar"]


def test_newlines_separate_arguments_without_backslashes() -> None:
    assert parse_cmd("srv\n  --a 1\n  --b 2\n") == ["srv", "--a", "1", "--b", "2"]


def test_carriage_return_counts_as_whitespace() -> None:
    assert parse_cmd("srv \\\r\n  --port 1\r\n") == ["srv", "--port", "1"]


def test_quotes_concatenate_with_adjacent_text() -> None:
    assert parse_cmd("srv --a=\"x y\"'z'") == ["srv", "--a=x yz"]


def test_empty_quotes_give_an_empty_argument() -> None:
    assert parse_cmd("srv '' \"\"") == ["srv", "", ""]


def test_double_quotes_escape_only_dollar_backtick_quote_backslash() -> None:
    assert parse_cmd(r'srv "\$ \` \" \\ \n"') == ["srv", '$ ` " \\ \\n']


def test_single_quotes_have_no_escapes() -> None:
    assert parse_cmd(r"srv 'a\b'") == ["srv", "a\\b"]


def test_unquoted_backslash_escapes_next_character() -> None:
    assert parse_cmd(r"srv a\ b \$x") == ["srv", "a b", "$x"]


def test_backslash_newline_inside_double_quotes_is_removed_by_the_splitter() -> None:
    assert split_posix('srv "a\\\nb"') == ["srv", "ab"]


def test_line_continuation_runs_before_quoting() -> None:
    assert parse_cmd('srv "a\\\nb"') == ["srv", "a \nb"]


@pytest.mark.parametrize("text", ["srv 'abc", 'srv "abc', 'srv "a\\"'])
def test_unterminated_quote_is_an_error(text: str) -> None:
    with pytest.raises(CmdParseError, match="unterminated"):
        parse_cmd(text)


@pytest.mark.parametrize("text", ["", "   ", "# only a comment\n", "\\\n"])
def test_empty_command_is_an_error(text: str) -> None:
    with pytest.raises(CmdParseError, match="empty command"):
        parse_cmd(text)


def test_comment_stripping_keeps_other_lines_verbatim() -> None:
    text = "srv \\\n  # gone ${x}\n\n  --a 1 \\"
    assert strip_comment_lines(text) == "srv \\\n\n  --a 1 \\"


args = st.lists(st.text(st.characters(exclude_characters="\n\x00"), max_size=12), min_size=1)


@given(args)
def test_posix_single_quoting_round_trips(argv: list[str]) -> None:
    assert parse_cmd(" ".join(shlex.quote(a) for a in argv)) == argv


def _double_quote(arg: str) -> str:
    escaped = "".join("\\" + c if c in '$`"\\' else c for c in arg)
    return f'"{escaped}"'


@given(args)
def test_posix_double_quoting_round_trips(argv: list[str]) -> None:
    assert parse_cmd("\t".join(_double_quote(a) for a in argv)) == argv
