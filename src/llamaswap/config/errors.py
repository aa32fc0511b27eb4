"""Config errors in design.md's format: ``<file>: <key.path>: <message>[; <hint>]``.

Loading collects every problem it can before giving up, so a user fixes a broken
config in one pass instead of one restart per mistake.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence

KeyPath = tuple[str | int, ...]
"""A location in the YAML document: mapping keys and sequence indices."""


def format_path(path: Sequence[str | int]) -> str:
    """``("models", "qwen", "ttl")`` -> ``models.qwen.ttl``; indices as ``[i]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` is most likely a typo of, for a "did you mean" hint."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return close[0] if close else None


class ConfigError(Exception):
    """The config cannot be used; ``errors`` holds one formatted line per problem.

    ``warnings`` are the lines collected before loading gave up (an unknown key often
    explains the error: a ``proxxy:`` typo leaves ``proxy`` at its default)."""

    def __init__(self, errors: list[str], warnings: list[str] | None = None) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)
        self.warnings = list(warnings or ())

    def __str__(self) -> str:
        return "\n".join(self.errors)

    def __repr__(self) -> str:
        return f"ConfigError(errors={self.errors!r}, warnings={self.warnings!r})"


class Problems:
    """Collects errors and warnings, each tagged with the file its key came from."""

    def __init__(self, locate: Callable[[KeyPath], str]) -> None:
        self._locate = locate
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def line(self, path: KeyPath, message: str) -> str:
        where = format_path(path)
        prefix = f"{self._locate(path)}: "
        return f"{prefix}{where}: {message}" if where else f"{prefix}{message}"

    def error(self, path: KeyPath, message: str) -> None:
        self.errors.append(self.line(path, message))

    def warn(self, path: KeyPath, message: str) -> None:
        self.warnings.append(self.line(path, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigError(self.errors, self.warnings)
