"""Fixtures: a LocalRouter over real demo-upstream subprocesses, always shut down.

Configs go through the real loader; each model gets its own free port and a ``cmd``
that runs ``python -m llamaswap.demo``. Teardown shuts every router down (killing
process groups) even when the test failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Coroutine
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pytest

from llamaswap.config.loader import load_config
from llamaswap.process.state import ProcessState
from llamaswap.router.api import RequestInfo, Router
from llamaswap.router.factory import build_router
from llamaswap.router.local import LocalRouter
from tests.support.ports import free_ports


def demo_models(names: str, args: dict[str, str] | None = None, **keys: str) -> str:
    """A ``models:`` YAML block: one demo upstream per comma-separated name.

    ``args`` adds demo switches per model; ``keys`` adds raw YAML lines to every model."""
    ports = free_ports(len(names.split(",")))
    lines = ["models:"]
    for name, port in zip(names.split(","), ports, strict=True):
        extra = (args or {}).get(name, "")
        lines += [
            f"  {name}:",
            f"    cmd: {sys.executable} -m llamaswap.demo --port {port} {extra}",
            f"    proxy: http://127.0.0.1:{port}",
        ]
        lines += [f"    {key}: {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def as_router(router: LocalRouter) -> Router:
    """Typing check: mypy fails here if LocalRouter drifts from the agreed seam."""
    return router


class MakeRouter(Protocol):
    def __call__(
        self, yaml_text: str, *, transitions: list[tuple[str, str]] | None = None
    ) -> Awaitable[LocalRouter]: ...


@pytest.fixture
async def make_router(tmp_path: Path) -> AsyncIterator[MakeRouter]:
    routers: list[LocalRouter] = []

    async def make(
        yaml_text: str, *, transitions: list[tuple[str, str]] | None = None
    ) -> LocalRouter:
        """``transitions`` collects ``(model, new_state)`` for every state change."""
        path = tmp_path / f"config{len(routers)}.yaml"
        path.write_text(yaml_text)

        def record(model_id: str, _old: ProcessState, new: ProcessState) -> None:
            if transitions is not None:
                transitions.append((model_id, new.value))

        router = build_router(load_config(str(path)).config, on_process_state=record)
        routers.append(router)
        await router.start()
        return router

    yield make
    for router in routers:
        with contextlib.suppress(RuntimeError):
            await router.shutdown(5)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class Call(Protocol):
    def __call__(
        self,
        router: LocalRouter,
        model: str,
        *,
        done: list[str] | None = None,
        hold: asyncio.Event | None = None,
        delay: float = 0.0,
    ) -> Coroutine[Any, Any, str]: ...


@pytest.fixture
def call(session: aiohttp.ClientSession) -> Call:
    """One request the way the HTTP handler makes it: admit, lease, proxy, close."""

    async def run(
        router: LocalRouter,
        model: str,
        *,
        done: list[str] | None = None,
        hold: asyncio.Event | None = None,
        delay: float = 0.0,
    ) -> str:
        ticket = await router.admit(RequestInfo(model, path="/v1/chat/completions"))
        try:
            lease = await ticket.wait_lease()
            async with session.post(
                f"{lease.base_url}/v1/chat/completions",
                json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
                headers={"X-Demo-Delay": str(delay)},
            ) as resp:
                assert resp.status == 200, await resp.text()
                await resp.read()
            if hold is not None:
                await hold.wait()
            if done is not None:
                done.append(model)
            return model
        finally:
            await ticket.close()

    return run
