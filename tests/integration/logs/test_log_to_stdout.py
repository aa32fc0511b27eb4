"""``logToStdout`` through the real CLI: what reaches stdout, and what ``/logs`` shows."""

from __future__ import annotations

import pytest

from tests.integration.e2e.conftest import Llamaswap, StartLlamaswap, demo_cmd
from tests.support.wait import async_wait_until

ACCESS = '"POST /v1/chat/completions HTTP/1.1" 200'
UPSTREAM = "demo m1: ready after"


async def streamed(ls: Llamaswap, logger: str, want: str) -> str:
    """Read ``/logs/stream/<logger>`` until ``want``: the line has been through every
    monitor by then, so stdout already has it if it ever will."""
    async with ls.session.get(f"{ls.url}/logs/stream/{logger}") as resp:
        assert resp.status == 200
        seen = ""
        while want not in seen:
            chunk = await resp.content.readany()
            assert chunk, f"{logger} stream ended before {want!r}: {seen!r}"
            seen += chunk.decode(errors="replace")
    return seen


async def on_stdout(ls: Llamaswap, text: str) -> None:
    """Wait (with a deadline) until ``text`` reached llamaswap's stdout."""

    def printed() -> bool:
        return text in ls.output()

    await async_wait_until(
        printed, timeout=10, message=lambda: f"{text!r} never reached stdout:\n{ls.output()}"
    )


@pytest.mark.parametrize(
    ("mode", "proxy_printed", "upstream_printed"),
    [
        ("proxy", True, False),
        ("upstream", False, True),
        ("both", True, True),
        ("none", False, False),
    ],
)
async def test_log_to_stdout_prints_what_it_names_and_logs_shows_the_same(
    llamaswap: StartLlamaswap, mode: str, proxy_printed: bool, upstream_printed: bool
) -> None:
    """stdout and ``/logs`` carry our lines and/or the models' output per logToStdout;
    ``/logs/stream/proxy`` and ``/logs/stream/upstream`` keep both whatever it says."""
    ls = await llamaswap(
        f"""
logToStdout: {mode}
models:
  m1:
    cmd: {demo_cmd("m1")}
"""
    )
    reply = await ls.chat("m1")
    assert reply.status == 200, reply.text
    await streamed(ls, "upstream", UPSTREAM)
    await streamed(ls, "proxy", ACCESS)

    # stdout is written by a background thread: wait for what must appear there.
    for text, want in ((ACCESS, proxy_printed), (UPSTREAM, upstream_printed)):
        if want:
            await on_stdout(ls, text)
    stdout = ls.output()
    logs = (await ls.get("/logs")).text
    for text, want in ((ACCESS, proxy_printed), (UPSTREAM, upstream_printed)):
        assert (text in stdout) is want, f"logToStdout={mode}: {text!r} on stdout:\n{stdout}"
        assert (text in logs) is want, f"logToStdout={mode}: {text!r} in /logs:\n{logs}"
    assert stdout.count(UPSTREAM) == int(upstream_printed), "a model's line printed twice"
    if not proxy_printed:
        assert "[INFO]" not in stdout, f"logToStdout={mode} printed our lines:\n{stdout}"
    if mode == "none":
        assert logs == ""
