"""Command-line switches of the demo upstream.

Every misbehaviour an integration test needs (slow start, crash, ignored SIGTERM,
escaping grandchildren, slow or closing streams) is one switch, so tests describe the
upstream they want in the model's ``cmd`` line.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemoOptions:
    host: str
    port: int
    model_name: str
    startup_delay: float
    """Seconds to wait before listening at all (connection refused meanwhile)."""
    healthy_after: float
    """Seconds after listening during which ``/health`` answers 503 "Loading model"."""
    never_healthy: bool
    exit_at_start: int | None
    """Exit with this code right after ``startup_delay``, never listening."""
    crash_after: float | None
    """Exit abruptly (code ``crash_code``) this many seconds after listening."""
    crash_code: int
    ignore_sigterm: bool
    sigterm_delay: float
    """On SIGTERM, keep serving this many seconds, then exit 0 (a slow shutdown)."""
    fork_grandchild: bool
    """Start a long-lived grandchild that stays in our process group."""
    setsid_grandchild: bool
    """Start a long-lived grandchild in its own session (leaves our process group)."""
    grandchild_pid_file: str | None
    """Append each grandchild's PID (one per line) to this file."""
    pid_file: str | None
    request_delay: float
    """Seconds before answering each inference request."""
    stream_chunks: int
    stream_interval: float
    close_after_stream: bool
    """Send ``Connection: close`` and drop the connection after each SSE response,
    as llama-server does."""
    output_bytes: int
    """Write this many bytes of filler to stdout at start (log-capture tests)."""


def parse_options(argv: list[str] | None = None) -> DemoOptions:
    p = argparse.ArgumentParser(
        prog="python -m llamaswap.demo",
        description="Fake OpenAI-compatible upstream for llamaswap demos and tests.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--model-name", default="demo")
    p.add_argument("--startup-delay", type=float, default=0.0)
    p.add_argument("--healthy-after", type=float, default=0.0)
    p.add_argument("--never-healthy", action="store_true")
    p.add_argument("--exit-at-start", type=int, default=None, metavar="CODE")
    p.add_argument("--crash-after", type=float, default=None, metavar="SECONDS")
    p.add_argument("--crash-code", type=int, default=3)
    p.add_argument("--ignore-sigterm", action="store_true")
    p.add_argument("--sigterm-delay", type=float, default=0.0)
    p.add_argument("--fork-grandchild", action="store_true")
    p.add_argument("--setsid-grandchild", action="store_true")
    p.add_argument("--grandchild-pid-file", default=None)
    p.add_argument("--pid-file", default=None)
    p.add_argument("--request-delay", type=float, default=0.0)
    p.add_argument("--stream-chunks", type=int, default=8)
    p.add_argument("--stream-interval", type=float, default=0.0)
    p.add_argument("--close-after-stream", action="store_true")
    p.add_argument("--output-bytes", type=int, default=0)
    a = p.parse_args(argv)
    return DemoOptions(
        host=a.host,
        port=a.port,
        model_name=a.model_name,
        startup_delay=a.startup_delay,
        healthy_after=a.healthy_after,
        never_healthy=a.never_healthy,
        exit_at_start=a.exit_at_start,
        crash_after=a.crash_after,
        crash_code=a.crash_code,
        ignore_sigterm=a.ignore_sigterm,
        sigterm_delay=a.sigterm_delay,
        fork_grandchild=a.fork_grandchild,
        setsid_grandchild=a.setsid_grandchild,
        grandchild_pid_file=a.grandchild_pid_file,
        pid_file=a.pid_file,
        request_delay=a.request_delay,
        stream_chunks=a.stream_chunks,
        stream_interval=a.stream_interval,
        close_after_stream=a.close_after_stream,
        output_bytes=a.output_bytes,
    )
