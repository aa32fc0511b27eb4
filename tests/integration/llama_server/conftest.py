"""Fixtures for tests against a real llama.cpp ``llama-server`` (marker ``llama_server``).

The binary comes from ``LLAMA_SERVER`` (a path) or ``PATH``. Without one these tests skip
and say how to get one; with ``REQUIRE_LLAMA_SERVER=1`` (CI) they fail instead, so a CI
run can never pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.integration.llama_server.servers import (
    ServerProcess,
    kill_processes_using,
    llama_server_argv,
)
from tests.support.gguf import write_tiny_gguf
from tests.support.ports import free_port

HOW_TO_ENABLE = (
    "llama-server not found: set LLAMA_SERVER=/path/to/llama-server or put it on PATH "
    "(build one with ../shared/tools/build-llama-server.sh, which prints its path)"
)


def find_llama_server() -> Path | None:
    """``LLAMA_SERVER`` if set, else ``llama-server`` on ``PATH``."""
    configured = os.environ.get("LLAMA_SERVER", "").strip()
    if configured:
        return Path(configured)
    found = shutil.which("llama-server")
    return Path(found) if found else None


@pytest.fixture(scope="session")
def llama_server_bin() -> Path:
    """The llama-server binary; skips (or fails under REQUIRE_LLAMA_SERVER=1) without one."""
    binary = find_llama_server()
    if binary is None:
        if os.environ.get("REQUIRE_LLAMA_SERVER") == "1":
            pytest.fail(f"REQUIRE_LLAMA_SERVER=1 but {HOW_TO_ENABLE}")
        pytest.skip(HOW_TO_ENABLE)
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"LLAMA_SERVER={binary} is not an executable file")
    return binary


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> Iterator[Path]:
    """A fresh model file per test: its path also identifies this test's llama-servers."""
    path = write_tiny_gguf(tmp_path / "tiny.gguf")
    yield path
    kill_processes_using(path)


@pytest.fixture
def llama_server(llama_server_bin: Path, tiny_gguf: Path, tmp_path: Path) -> Iterator[str]:
    """llama-server alone on a free port (chat and embeddings); yields its base URL."""
    port = free_port()
    argv = llama_server_argv(
        llama_server_bin, tiny_gguf, port, ("--embeddings", "--pooling", "mean")
    )
    proc = ServerProcess(argv, tmp_path / "llama-server.log")
    try:
        proc.wait_http_ok(f"http://127.0.0.1:{port}/health")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate(timeout=10)
        proc.kill_group()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client with a whole-request deadline, so a hung server fails the test, not CI."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session
