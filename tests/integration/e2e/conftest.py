"""End-to-end fixtures: the real ``llama-swap`` console script as a subprocess.

``llamaswap`` writes a config, starts ``<venv>/bin/llama-swap -config ... -listen
127.0.0.1:<free port>`` with its output in a file, waits for ``/health`` and yields a
:class:`Llamaswap` client. Every process the CLI starts inherits a unique environment
tag, so teardown can prove that no upstream of *this* test survived: it SIGTERMs the
CLI, SIGKILLs it if needed, then waits for every tagged process to disappear. The
CLI's output is attached to every failing test's report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import psutil
import pytest

from tests.support.ports import free_port, free_port_block
from tests.support.wait import async_wait_until

SCRIPT = Path(sys.executable).parent / "llama-swap"
TAG_VAR = "LLAMASWAP_E2E_TAG"
OUTPUT_KEY = pytest.StashKey[Path]()


def demo_cmd(name: str, *switches: str, port: str = "${PORT}") -> str:
    """A model ``cmd`` running the bundled demo upstream under this interpreter."""
    return " ".join(
        [sys.executable, "-m", "llamaswap.demo", "--port", port, "--model-name", name, *switches]
    )


@dataclass(slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float
    finished_at: float

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


def chat_body(model: str, *, stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }


@dataclass
class Llamaswap:
    """A running ``llama-swap`` CLI and a small HTTP client for it."""

    url: str
    proc: asyncio.subprocess.Process
    tag: str
    output_path: Path
    session: aiohttp.ClientSession

    # --- output ---------------------------------------------------------------------------

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def starts(self, model: str) -> int:
        """How many times the CLI logged starting ``model``'s upstream."""
        return len(re.findall(rf"<{re.escape(model)}> started pid \d+", self.output()))

    async def wait_output(self, text: str, *, within: float = 10.0) -> None:
        await async_wait_until(
            lambda: text in self.output(),
            timeout=within,
            interval=0.02,
            message=lambda: f"{text!r} never logged; output:\n{self.output()}",
        )

    # --- HTTP -----------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        t0 = time.monotonic()
        async with self.session.request(
            method, self.url + path, json=json_body, headers=headers
        ) as resp:
            body = await resp.read()
            now = time.monotonic()
            return Reply(resp.status, dict(resp.headers), body, now - t0, now)

    async def get(self, path: str) -> Reply:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return await self.request("POST", path, json_body=body, **kw)

    async def chat(
        self,
        model: str,
        *,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> Reply:
        return await self.post(
            "/v1/chat/completions", chat_body(model, stream=stream, **extra), headers=headers
        )

    async def running(self) -> dict[str, str]:
        """``/running`` as ``{model: state}``."""
        reply = await self.get("/running")
        assert reply.status == 200, reply.text
        return {row["model"]: row["state"] for row in reply.json()["running"]}

    async def wait_running(
        self,
        want: Mapping[str, str] | Callable[[dict[str, str]], bool],
        *,
        within: float = 15.0,
    ) -> dict[str, str]:
        """Poll ``/running`` until it equals ``want`` (or ``want(running)`` holds)."""
        last: dict[str, str] = {}

        async def check() -> bool:
            nonlocal last
            last = await self.running()
            return want(last) if callable(want) else last == dict(want)

        await async_wait_until(
            check,
            timeout=within,
            interval=0.05,
            message=lambda: f"/running: got {last}, want {want}; output:\n{self.output()}",
        )
        return last

    # --- processes ------------------------------------------------------------------------

    def children(self) -> list[psutil.Process]:
        """Every live process carrying this test's tag, except the CLI itself."""
        found = []
        for proc in psutil.process_iter(["pid"]):
            if proc.pid == self.proc.pid:
                continue
            try:
                if proc.environ().get(TAG_VAR) == self.tag and proc.status() != "zombie":
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def send_signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait_exit(self, *, within: float) -> int:
        try:
            async with asyncio.timeout(within):
                return await self.proc.wait()
        except TimeoutError:
            raise AssertionError(
                f"llama-swap still running after {within}s; output:\n{self.output()}"
            ) from None

    async def wait_no_children(self, *, within: float = 10.0) -> None:
        await async_wait_until(
            lambda: not self.children(),
            timeout=within,
            interval=0.05,
            message=lambda: (
                f"upstream processes left: {[(p.pid, p.cmdline()) for p in self.children()]}"
                f"; output:\n{self.output()}"
            ),
        )


class StartLlamaswap(Protocol):
    """Start the CLI on ``yaml_text``; ``env`` adds environment variables, ``host`` is
    the ``-listen`` host (the client always talks to 127.0.0.1)."""

    def __call__(
        self, yaml_text: str, *, env: Mapping[str, str] | None = None, host: str = "127.0.0.1"
    ) -> Awaitable[Llamaswap]: ...


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the CLI's output to the report of a failing test."""
    report = yield
    path = item.stash.get(OUTPUT_KEY, None)
    if report.failed and path is not None and path.exists():
        report.sections.append(("llama-swap output", path.read_text(errors="replace")))
    return report


async def _stop(ls: Llamaswap) -> list[str]:
    """Teardown: SIGTERM (SIGKILL after 15 s), then every tagged process must go.

    Returns what went wrong; leftovers are killed so nothing outlives the test."""
    problems = []
    if ls.proc.returncode is None:
        ls.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(15):
                await ls.proc.wait()
        except TimeoutError:
            ls.proc.kill()
            await ls.proc.wait()
            problems.append("llama-swap ignored SIGTERM for 15s; SIGKILLed")
    with contextlib.suppress(AssertionError):
        await ls.wait_no_children(within=10)
    if left := ls.children():
        problems.append(
            f"upstream processes outlived llama-swap: {[(p.pid, p.cmdline()) for p in left]}"
        )
        for proc in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
            with contextlib.suppress(psutil.Error):
                proc.kill()
    return problems


Launch = Callable[..., Awaitable["Llamaswap"]]
"""``await launch("-config", path, ..., env={...}, host="127.0.0.1")``."""


@contextlib.asynccontextmanager
async def cli_launcher(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Launch]:
    """Start the CLI with any flags on a free port and wait until it is healthy; on exit
    stop every CLI started and fail the test if any of their processes outlived it."""
    if not SCRIPT.exists():  # pragma: no cover - the dev install always has it
        pytest.skip(f"{SCRIPT} is not installed")
    started: list[Llamaswap] = []
    session = aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=60))

    async def launch(
        *args: str, env: Mapping[str, str] | None = None, host: str = "127.0.0.1"
    ) -> Llamaswap:
        output = tmp_path / f"llama-swap{len(started)}.log"
        request.node.stash[OUTPUT_KEY] = output
        tag = uuid.uuid4().hex
        child_env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        child_env.update(env or {})
        child_env[TAG_VAR] = tag
        port = free_port()
        with output.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                str(SCRIPT),
                *args,
                "-listen",
                f"{host}:{port}",
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_env,
                cwd=tmp_path,
            )
        ls = Llamaswap(f"http://127.0.0.1:{port}", proc, tag, output, session)
        started.append(ls)

        async def healthy() -> bool:
            if proc.returncode is not None:
                raise AssertionError(f"llama-swap exited {proc.returncode}:\n{ls.output()}")
            try:
                async with session.get(ls.url + "/health") as resp:
                    return resp.status == 200
            except aiohttp.ClientError:
                return False

        await async_wait_until(
            healthy,
            timeout=20,
            interval=0.02,
            message=lambda: f"llama-swap never healthy; output:\n{ls.output()}",
        )
        return ls

    try:
        yield launch
    finally:
        await session.close()
        problems = [p for ls in started for p in await _stop(ls)]
        if problems:
            outputs = "\n".join(ls.output() for ls in started)
            pytest.fail("; ".join(problems) + f"\noutput:\n{outputs}")


@pytest.fixture
async def llamaswap(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StartLlamaswap]:
    """Start the CLI with a YAML config; ``startPort`` is set to a free block unless given."""
    configs = 0

    async with cli_launcher(request, tmp_path) as launch:

        async def start(
            yaml_text: str, *, env: Mapping[str, str] | None = None, host: str = "127.0.0.1"
        ) -> Llamaswap:
            nonlocal configs
            config = tmp_path / f"config{configs}.yaml"
            configs += 1
            if "startPort:" not in yaml_text:
                yaml_text = f"startPort: {free_port_block(12)}\n{yaml_text}"
            config.write_text(yaml_text)
            return await launch("-config", str(config), env=env, host=host)

        yield start
