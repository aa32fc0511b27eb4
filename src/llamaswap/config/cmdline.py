"""Turn a ``cmd``/``cmdStop`` text into argv the way llama-swap does (router.md §1.9).

No shell is ever involved. Deviation 5 of design.md: an unterminated quote and an
empty command are errors (reported at config load), and ``\\r`` counts as whitespace
so configs saved with CRLF line ends work.
"""

from __future__ import annotations

_WHITESPACE = frozenset(" \t\n\r")
_DQUOTE_ESCAPABLE = frozenset('$`"\\')


class CmdParseError(ValueError):
    """The command text cannot be turned into an argv list."""


def strip_comment_lines(text: str) -> str:
    """Drop lines whose trimmed text starts with ``#``; keep every other line verbatim."""
    return "\n".join(line for line in text.split("\n") if not line.strip().startswith("#"))


def join_continuations(text: str) -> str:
    """Drop comment lines and join ``\\``-continued lines, as llama-swap does at start."""
    lines: list[str] = []
    for line in text.split("\n"):
        trimmed = line.strip()
        if trimmed.startswith("#"):
            continue
        if trimmed.endswith("\\"):
            lines.append(trimmed[:-1] + " ")
        else:
            lines.append(line)
    return "\n".join(lines)


def parse_cmd(text: str) -> list[str]:
    """Split ``text`` into argv: comments, continuations, then POSIX quoting."""
    args = split_posix(join_continuations(text))
    if not args:
        raise CmdParseError("empty command")
    return args


def split_posix(text: str) -> list[str]:
    """POSIX-shell word splitting without expansion; ``#`` mid-line is an ordinary word."""
    args: list[str] = []
    word: list[str] = []
    in_word = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _WHITESPACE:
            if in_word:
                args.append("".join(word))
                word, in_word = [], False
            i += 1
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise CmdParseError("unterminated single quote")
            word.append(text[i + 1 : end])
            in_word, i = True, end + 1
        elif c == '"':
            i = _read_double_quoted(text, i + 1, word)
            in_word = True
        elif c == "\\":
            if i + 1 < n and text[i + 1] != "\n":
                word.append(text[i + 1])
                in_word = True
            i += 2
        else:
            word.append(c)
            in_word, i = True, i + 1
    if in_word:
        args.append("".join(word))
    return args


def _read_double_quoted(text: str, i: int, word: list[str]) -> int:
    """Append the body of a ``"..."`` starting at ``i``; return the index after it."""
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt in _DQUOTE_ESCAPABLE:
                word.append(nxt)
                i += 2
                continue
            if nxt == "\n":
                i += 2
                continue
        word.append(c)
        i += 1
    raise CmdParseError("unterminated double quote")
