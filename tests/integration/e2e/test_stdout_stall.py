"""A stdout nobody reads must not stall the proxy (stdout_writer.py).

The real CLI runs with its stdout on a pipe this test never reads while a model
prints megabytes (``logToStdout: both`` sends it all to stdout). The pipe fills at
64 KiB, the writer thread blocks, the queue fills and drops; requests keep being
answered. Reading the pipe afterwards shows how much output was dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.support.ports import free_port, free_port_block
from tests.support.wait import async_wait_until, wait_until

from .conftest import SCRIPT, TAG_VAR, chat_body, demo_cmd

pytestmark = pytest.mark.timeout(60)


@dataclass
class Unread:
    """A running CLI whose stdout pipe nobody reads (yet)."""

    url: str
    proc: subprocess.Popen[bytes]
    stderr_path: Path


def _tagged(tag: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(TAG_VAR) == tag and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


@pytest.fixture
def unread_cli(tmp_path: Path) -> Iterator[Unread]:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"""startPort: {free_port_block(4)}
logToStdout: both
models:
  chatty:
    cmd: {demo_cmd("chatty", "--output-bytes", "3000000")}
    proxy: http://127.0.0.1:${{PORT}}
"""
    )
    tag = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env[TAG_VAR] = tag
    port = free_port()
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [str(SCRIPT), "-config", str(config), "-listen", f"127.0.0.1:{port}"],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
        )
    try:
        yield Unread(f"http://127.0.0.1:{port}", proc, stderr_path)
    finally:
        if proc.poll() is None:
            proc.kill()
        assert proc.stdout is not None
        proc.stdout.close()
        proc.wait(10)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not _tagged(tag), timeout=10, interval=0.05)
        for left in _tagged(tag):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(left.pid), signal.SIGKILL)


async def test_a_stdout_nobody_reads_does_not_stall_the_proxy(unread_cli: Unread) -> None:
    """With megabytes of output queued for an unread stdout, llamaswap still answers;
    once stdout is read again it says how much was dropped."""
    cli = unread_cli
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:

        async def healthy() -> bool:
            assert cli.proc.poll() is None, cli.stderr_path.read_text()
            try:
                async with session.get(cli.url + "/health") as resp:
                    return resp.status == 200
            except aiohttp.ClientError:
                return False

        await async_wait_until(healthy, timeout=20, interval=0.05)
        for i in range(10):  # the first one starts the chatty model
            async with session.post(
                cli.url + "/v1/chat/completions", json=chat_body("chatty")
            ) as resp:
                assert resp.status == 200, f"request {i}: {await resp.text()}"
        async with session.get(cli.url + "/logs") as resp:
            assert resp.status == 200
    assert cli.proc.stdout is not None
    cli.proc.send_signal(signal.SIGTERM)
    output = await asyncio.wait_for(asyncio.to_thread(cli.proc.stdout.read), 30)
    assert await asyncio.to_thread(cli.proc.wait, 10) == 0
    assert b"bytes of output were dropped" in output, output[-2000:]
    assert b"shutdown complete" in output, output[-2000:]
