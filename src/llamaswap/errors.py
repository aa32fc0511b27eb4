"""Exceptions that carry their HTTP meaning.

Any layer may raise these; only ``server/errors.py`` renders them (JSON envelope,
text/plain or HTML by ``Accept``), with status -> (type, code) from router.md §0.
Kept at the package root because router/ and process/ raise them and must not import
server/.
"""

from __future__ import annotations


class LlamaSwapError(Exception):
    """An error answered to the client with ``status`` and ``message``."""

    status: int = 500

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.code = code
        """Overrides the status table's code (e.g. ``concurrency_limit``)."""
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class BadRequest(LlamaSwapError):
    status = 400


class NotFound(LlamaSwapError):
    status = 404


class Conflict(LlamaSwapError):
    status = 409


class TooManyRequests(LlamaSwapError):
    """The concurrency-limit 429: exact body and ``Retry-After: 1`` (router.md §2.2)."""

    status = 429

    def __init__(self) -> None:
        super().__init__(
            "Too many requests", code="concurrency_limit", headers={"Retry-After": "1"}
        )


class BadGateway(LlamaSwapError):
    status = 502


class ServiceUnavailable(LlamaSwapError):
    status = 503


class UnspecificError(LlamaSwapError):
    """Scheduler/swap failures: 500 ``unspecific error: <reason>``."""

    status = 500

    def __init__(self, reason: str) -> None:
        super().__init__(f"unspecific error: {reason}")
        self.reason = reason
