"""A SIGKILLed llamaswap runs no cleanup: the kernel must take its upstreams down."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

from tests.integration.process.support import demo_cmd, is_dead
from tests.support.ports import free_port
from tests.support.wait import async_wait_until

OWNER = textwrap.dedent(
    """
    import asyncio, sys
    from llamaswap.config.schema import ModelConfig
    from llamaswap.process.process import Process

    async def main() -> None:
        model = ModelConfig.model_validate({"cmd": sys.argv[1], "proxy": sys.argv[2]})
        proc = Process("m", model, health_check_timeout=15, unload_timeout=5, ttl=0)
        await proc.ensure_ready()
        print(proc.pid, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


async def test_children_die_when_the_owner_is_sigkilled() -> None:
    """PR_SET_PDEATHSIG: the demo dies once the process owning its Process is SIGKILLed."""
    port = free_port()
    owner = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        OWNER,
        demo_cmd(port, "--ignore-sigterm"),
        f"http://127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
    )
    child_pid = None
    try:
        assert owner.stdout is not None
        line = await asyncio.wait_for(owner.stdout.readline(), timeout=20)
        child_pid = int(line)
        assert not is_dead(child_pid)
        owner.send_signal(signal.SIGKILL)
        await asyncio.wait_for(owner.wait(), timeout=10)
        await async_wait_until(lambda: is_dead(child_pid), timeout=10)
    finally:
        if owner.returncode is None:
            owner.kill()
            await owner.wait()
        if child_pid is not None and not is_dead(child_pid):
            os.kill(child_pid, signal.SIGKILL)
