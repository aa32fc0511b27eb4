"""Build identity, shared by ``-version`` and ``GET /api/version``.

A packager may overwrite ``COMMIT`` and ``BUILD_DATE`` at build time (llama-swap sets
them with linker flags); from a source checkout they stay ``unknown``.
"""

from __future__ import annotations

from llamaswap import __version__

VERSION = __version__
COMMIT = "unknown"
BUILD_DATE = "unknown"


def version_line() -> str:
    """What ``-version`` prints (features.md §1)."""
    return f"version: {VERSION} ({COMMIT}), built at {BUILD_DATE}"


def version_info() -> dict[str, str]:
    """The ``/api/version`` body."""
    return {"version": VERSION, "commit": COMMIT, "build_date": BUILD_DATE}
