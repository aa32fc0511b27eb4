"""No llama-server survives llamaswap, whichever way llamaswap ends."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.integration.llama_server.servers import (
    ModelSpec,
    ServerProcess,
    llamaswap_config,
    processes_using,
    running_llamaswap,
)
from tests.support.ports import free_ports
from tests.support.wait import async_wait_until

pytestmark = pytest.mark.llama_server


@pytest.fixture
def loaded(
    llama_server_bin: Path, tiny_gguf: Path, tmp_path: Path
) -> Iterator[tuple[str, ServerProcess]]:
    """A llamaswap with one llama-server model configured; yields (base URL, process)."""
    listen, port = free_ports(2)
    config = llamaswap_config(llama_server_bin, tiny_gguf, [ModelSpec("chat", port)])
    with running_llamaswap(config, tmp_path, listen, tiny_gguf) as proc:
        yield f"http://127.0.0.1:{listen}", proc


async def load_chat(http: aiohttp.ClientSession, url: str, proc: ServerProcess) -> None:
    body = {"model": "chat", "prompt": "hi", "max_tokens": 1}
    async with http.post(f"{url}/v1/completions", json=body) as resp:
        assert resp.status == 200, f"{await resp.text()}\n{proc.output()}"


async def test_sigterm_stops_llama_server_before_llamaswap_exits(
    http: aiohttp.ClientSession, loaded: tuple[str, ServerProcess], tiny_gguf: Path
) -> None:
    """Graceful shutdown stops every model: exit 0 and no llama-server left behind."""
    url, proc = loaded
    await load_chat(http, url, proc)
    assert processes_using(tiny_gguf), "llama-server did not start"
    proc.popen.send_signal(signal.SIGTERM)
    await async_wait_until(lambda: proc.popen.poll() is not None, timeout=30)
    assert proc.popen.returncode == 0, proc.describe()
    left = processes_using(tiny_gguf)
    assert not left, f"llama-server outlived llamaswap: {left}"


async def test_sigkilled_llamaswap_takes_llama_server_down_with_it(
    http: aiohttp.ClientSession, loaded: tuple[str, ServerProcess], tiny_gguf: Path
) -> None:
    """Children get a parent-death signal, so even SIGKILL leaves no orphan."""
    url, proc = loaded
    await load_chat(http, url, proc)
    assert processes_using(tiny_gguf), "llama-server did not start"
    proc.popen.send_signal(signal.SIGKILL)
    await async_wait_until(
        lambda: not processes_using(tiny_gguf),
        timeout=10,
        message=lambda: f"orphaned: {processes_using(tiny_gguf)}",
    )
