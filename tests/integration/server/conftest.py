"""Fixtures for server tests: the echo upstream as a real subprocess, and real
aiohttp servers on free loopback ports, all torn down even when a test fails."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from llamaswap.config.loader import load_config
from llamaswap.config.schema import Config
from llamaswap.router.factory import build_router
from llamaswap.router.local import LocalRouter
from llamaswap.server.app import build_app
from tests.support.ports import free_port, free_port_block
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True, slots=True)
class Upstream:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _healthy(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=0.5) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def echo_upstream_cmd(port: int | str) -> list[str]:
    return [sys.executable, "-m", "tests.integration.server.echo_upstream", "--port", str(port)]


@pytest.fixture
def echo_upstream() -> Iterator[Upstream]:
    port = free_port()
    proc = subprocess.Popen(echo_upstream_cmd(port), cwd=REPO, start_new_session=True)
    try:
        wait_until(
            lambda: proc.poll() is None and _healthy(port),
            timeout=20,
            message=lambda: f"echo upstream not healthy (exit={proc.poll()})",
        )
        yield Upstream(port, proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve_app() -> AsyncIterator[Serve]:
    """Run an app on a free port with handler cancellation, as the real runner does."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        runners.append(runner)
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        auto_decompress=False, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        yield session


async def read_first_chunk(resp: aiohttp.ClientResponse) -> bytes:
    async with asyncio.timeout(10):
        return await resp.content.readany()


@dataclass(frozen=True, slots=True)
class Stack:
    """A running llamaswap: real loader, real router with real processes, real app."""

    url: str
    config: Config
    router: LocalRouter
    runner: web.AppRunner


StartStack = Callable[[str], Awaitable[Stack]]


def demo_cmd(*switches: str) -> str:
    """A model ``cmd`` running the demo upstream on the allocated port."""
    return " ".join([sys.executable, "-m", "llamaswap.demo", "--port", "${PORT}", *switches])


@pytest.fixture
async def llamaswap(tmp_path: Path) -> AsyncIterator[StartStack]:
    """Start llamaswap from YAML text (``startPort`` is filled in with a free block)."""
    routers: list[LocalRouter] = []
    runners: list[web.AppRunner] = []

    async def start(yaml_text: str) -> Stack:
        path = tmp_path / f"config{len(routers)}.yaml"
        path.write_text(f"startPort: {free_port_block(16)}\n" + yaml_text)
        config = load_config(str(path)).config
        router = build_router(config)
        routers.append(router)
        await router.start()
        runner = web.AppRunner(build_app(config, router), handler_cancellation=True)
        await runner.setup()
        runners.append(runner)
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return Stack(f"http://127.0.0.1:{port}", config, router, runner)

    try:
        yield start
    finally:
        for runner in reversed(runners):
            if runner.server is not None:  # a test may have shut it down already
                await runner.cleanup()
        for router in routers:
            with contextlib.suppress(RuntimeError):  # a test may have shut it down already
                await router.shutdown(10)
