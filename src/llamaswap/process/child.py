"""One spawned OS process: its own group, output into a LogBuffer, exit as an event.

A ``SubprocessProtocol`` rather than ``asyncio.subprocess.Process``: the loop hands us
output as it arrives (no reader task that a slow consumer could stall) and tells us
the moment the child exits, even while a grandchild keeps the pipe open (asyncio's
``Process.wait()`` on CPython waits for the pipes too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence

from llamaswap.process.groups import parent_death_preexec, signal_group
from llamaswap.process.logs import LogBuffer
from llamaswap.process.registry import register_group, unregister_group
from llamaswap.stdout_writer import STDOUT

log = logging.getLogger("llamaswap.process")


def build_env(entries: Sequence[str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment plus the model's ``KEY=value`` entries (later entries win)."""
    env = dict(os.environ if base is None else base)
    for entry in entries:
        key, sep, value = entry.partition("=")
        if sep and key:
            env[key] = value
        else:
            log.warning("ignoring env entry without KEY=: %r", entry)
    return env


class _ChildProtocol(asyncio.SubprocessProtocol):
    def __init__(
        self, logs: LogBuffer, echo: bool, on_exit: Callable[[Child], None] | None
    ) -> None:
        self.logs = logs
        self.echo = echo
        self.on_exit = on_exit
        self.owner: Child | None = None
        """Set by :func:`spawn` once the transport exists."""
        self.exited = asyncio.Event()
        self.pipe_closed = asyncio.Event()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        chunk = data.encode() if isinstance(data, str) else data
        self.logs.write(chunk)
        if self.echo:
            STDOUT.write(chunk)  # queued: a stalled stdout must not stall the loop

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.pipe_closed.set()

    def process_exited(self) -> None:
        self.exited.set()
        if self.on_exit is not None and self.owner is not None:
            self.on_exit(self.owner)


class Child:
    """A live (or just exited) child process and the group it leads."""

    def __init__(
        self,
        argv: list[str],
        transport: asyncio.SubprocessTransport,
        protocol: _ChildProtocol,
    ) -> None:
        self.argv = argv
        self._transport = transport
        self._protocol = protocol
        pid = transport.get_pid()
        assert pid is not None, "a spawned transport always has a pid"
        self.pid: int = pid
        self.pgid: int = pid
        """``start_new_session`` makes the child its group's (and session's) leader."""
        self.stopper: Child | None = None
        """A running ``cmdStop`` for this child; killed with it at the deadline."""
        register_group(self.pgid)

    @property
    def exited(self) -> bool:
        return self._protocol.exited.is_set()

    @property
    def returncode(self) -> int | None:
        return self._transport.get_returncode()

    async def wait_exit(self, within: float | None = None) -> bool:
        """True once the child has exited; False if ``within`` seconds passed first."""
        if self.exited:
            return True
        try:
            async with asyncio.timeout(within):
                await self._protocol.exited.wait()
        except TimeoutError:
            return False
        return True

    def signal_group(self, sig: int) -> bool:
        """Signal the whole group; fall back to the child alone if the group is gone."""
        if signal_group(self.pgid, sig):
            return True
        if self.exited:
            return False
        with contextlib.suppress(ProcessLookupError):
            self._transport.send_signal(sig)
            return True
        return False

    def kill_now(self) -> None:
        """SIGKILL the group and any running ``cmdStop`` at once (deadline, shutdown)."""
        self.signal_group(signal.SIGKILL)
        if self.stopper is not None:
            self.stopper.kill_now()

    async def release(self, pipe_grace: float) -> None:
        """After exit: kill what is left in the group, then close the pipes.

        A grandchild that escaped the group may hold our pipe open; after
        ``pipe_grace`` seconds we stop reading it anyway, so this always returns.
        """
        if self.exited:
            signal_group(self.pgid, signal.SIGKILL)
        try:
            async with asyncio.timeout(pipe_grace):
                await self._protocol.pipe_closed.wait()
        except TimeoutError:
            log.debug("pid %d: output pipe still open after exit; closing it", self.pid)
        finally:
            self._transport.close()
            if self.exited:
                unregister_group(self.pgid)


async def spawn(
    argv: list[str],
    env: Mapping[str, str],
    *,
    logs: LogBuffer,
    echo: bool = False,
    on_exit: Callable[[Child], None] | None = None,
) -> Child:
    """Start ``argv`` (no shell) in a new session; raises ``OSError`` if it cannot run.

    stdout and stderr both go to ``logs``; stdin is ``/dev/null``. ``on_exit`` is
    called from the event loop as soon as the child exits.
    """
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ChildProtocol(logs, echo, on_exit),
        *argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env),
        start_new_session=True,
        preexec_fn=parent_death_preexec(),
    )
    child = Child(argv, transport, protocol)
    protocol.owner = child
    if protocol.exited.is_set() and on_exit is not None:
        loop.call_soon(on_exit, child)  # it exited before we could name it
    return child
