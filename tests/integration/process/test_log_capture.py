"""Upstream output lands in the model's bounded log, and slow readers never stall it."""

from __future__ import annotations

import asyncio

import pytest

from llamaswap.process.logs import HISTORY_BYTES
from llamaswap.process.state import ProcessState
from llamaswap.stdout_writer import STDOUT
from tests.integration.process.support import Harness, python_cmd
from tests.support.wait import async_wait_until


async def test_output_is_kept_in_a_bounded_history(harness: Harness) -> None:
    """300 KB of output leaves exactly the last 100 KiB, ending with the ready line."""
    proc = harness.make(switches=["--output-bytes", "300000"])
    await harness.ready(proc)
    history = proc.logs.history()
    assert len(history) == HISTORY_BYTES
    assert history.startswith(b"demo filler") or b"demo filler" in history[:200]
    assert b"demo demo: ready after" in history


async def test_a_reader_that_never_reads_does_not_block_the_child(harness: Harness) -> None:
    """A stuck subscriber loses chunks (counted) while the upstream still starts."""
    proc = harness.make(switches=["--output-bytes", "300000"])
    sub = proc.logs.subscribe(max_chunks=2)
    await harness.ready(proc)
    assert proc.state is ProcessState.READY
    assert sub.dropped > 0
    proc.logs.unsubscribe(sub)
    assert await sub.get() is None


async def test_echo_to_stdout_copies_output_to_our_stdout(
    harness: Harness, capfd: pytest.CaptureFixture[str]
) -> None:
    """With echo on (logToStdout upstream/both) the child's output also reaches stdout."""
    code = 'import time; print("echo-marker-42", flush=True); time.sleep(60)'
    proc = harness.make(python_cmd(code), check_endpoint="none", echo=True)
    await harness.ready(proc)
    await async_wait_until(lambda: b"echo-marker-42" in proc.logs.history(), timeout=10)
    assert await asyncio.to_thread(STDOUT.flush, 10), "stdout writer did not catch up"
    assert "echo-marker-42" in capfd.readouterr().out
