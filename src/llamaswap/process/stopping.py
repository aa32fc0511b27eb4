"""The stop procedure (router.md §1.5): graceful, then forced, and nothing left behind.

1. Snapshot the child's descendants (to find any that leave the group via ``setsid``).
2. Run ``cmdStop`` (``${PID}`` substituted, own group, the model's environment) or,
   without one, SIGTERM the whole group. Neither may block the caller.
3. Wait up to the graceful window for the child (and a running ``cmdStop``) to finish.
4. SIGKILL the child's group and the ``cmdStop``'s group at that deadline.
5. After exit, SIGKILL what is left in the group and every snapshotted descendant,
   and stop reading the pipes a bounded time later.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

from llamaswap.config.cmdline import CmdParseError, parse_cmd
from llamaswap.process.child import Child, spawn
from llamaswap.process.groups import kill_stragglers, snapshot_descendants
from llamaswap.process.logs import LogBuffer

log = logging.getLogger("llamaswap.process")

KILL_WAIT = 5.0
"""How long to wait for the kernel to reap a SIGKILLed child before giving up on it."""
PIPE_GRACE = 1.0
"""How long output may keep flowing after exit before the pipes are closed."""


async def start_cmd_stop(
    child: Child, cmd_stop: str, env: Mapping[str, str], logs: LogBuffer, tag: str
) -> Child | None:
    """Spawn ``cmdStop`` for ``child``; None when there is none or it cannot run."""
    if not cmd_stop.strip():
        return None
    try:
        argv = parse_cmd(cmd_stop.replace("${PID}", str(child.pid)))
    except CmdParseError as e:
        log.warning("<%s> cmdStop unusable (%s); sending SIGTERM instead", tag, e)
        return None
    try:
        stopper = await spawn(argv, env, logs=logs)
    except OSError as e:
        log.warning("<%s> failed to run cmdStop %r: %s; sending SIGTERM instead", tag, argv, e)
        return None
    log.debug("<%s> cmdStop started (pid %d): %s", tag, stopper.pid, " ".join(argv))
    return stopper


async def terminate(
    child: Child,
    *,
    grace: float,
    cmd_stop: str,
    env: Mapping[str, str],
    logs: LogBuffer,
    tag: str,
) -> None:
    """Stop ``child`` and everything it started; returns in bounded time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, grace)
    descendants = snapshot_descendants(child.pid)
    stopper = None
    if not child.exited:
        stopper = await start_cmd_stop(child, cmd_stop, env, logs, tag)
        child.stopper = stopper
        if stopper is None:
            child.signal_group(signal.SIGTERM)
    try:
        if not await child.wait_exit(deadline - loop.time()):
            log.info("<%s> did not stop within %gs; sending SIGKILL", tag, grace)
            child.kill_now()
        if stopper is not None and not await stopper.wait_exit(deadline - loop.time()):
            log.warning("<%s> cmdStop still running at the deadline; killing it", tag)
            stopper.kill_now()
        if not await child.wait_exit(KILL_WAIT):
            log.error("<%s> pid %d survived SIGKILL for %gs", tag, child.pid, KILL_WAIT)
        if stopper is not None:
            await stopper.wait_exit(KILL_WAIT)
    finally:
        if not child.exited:
            child.kill_now()  # cancelled mid-stop: never leave it running
        if stopper is not None and not stopper.exited:
            stopper.kill_now()
        child.stopper = None
        killed = kill_stragglers(descendants)
        if killed:
            log.info("<%s> killed %d process(es) that left the process group", tag, killed)
        await child.release(PIPE_GRACE)
        if stopper is not None:
            await stopper.release(PIPE_GRACE)


async def reap(child: Child, tag: str) -> None:
    """Clean up after a child that exited on its own (crash): group leftovers, pipes."""
    await child.release(PIPE_GRACE)
    log.debug("<%s> pid %d reaped (exit code %s)", tag, child.pid, child.returncode)
