"""The process actor's subprocess, exit and signal paths again, on uvloop.

uvloop implements child processes itself (libuv), so exit notification, pipes,
``preexec_fn`` and sessions are re-checked here rather than assumed.
"""

from __future__ import annotations

import asyncio

import uvloop

from llamaswap.process.state import ProcessState
from tests.integration.process.support import Harness
from tests.integration.process.test_lifecycle import (
    test_a_normal_cycle_emits_exactly_four_transitions,
    test_crash_while_ready_goes_straight_to_stopped,
    test_crash_while_starting_fails_waiters_at_once,
    test_spawn_failure_names_the_command,
    test_stop_while_starting_aborts_the_start,
)
from tests.integration.process.test_stop import (
    test_forked_and_setsid_grandchildren_are_gone_after_stop,
    test_ignored_sigterm_gets_sigkill_after_unload_timeout,
    test_kill_all_process_groups_kills_every_child_at_once,
)

__all__ = [
    "test_a_normal_cycle_emits_exactly_four_transitions",
    "test_crash_while_ready_goes_straight_to_stopped",
    "test_crash_while_starting_fails_waiters_at_once",
    "test_forked_and_setsid_grandchildren_are_gone_after_stop",
    "test_ignored_sigterm_gets_sigkill_after_unload_timeout",
    "test_kill_all_process_groups_kills_every_child_at_once",
    "test_spawn_failure_names_the_command",
    "test_stop_while_starting_aborts_the_start",
]


async def test_these_tests_really_run_on_uvloop(harness: Harness) -> None:
    """Guard: the folder's loop factory is in effect."""
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
    proc = harness.make()
    await harness.ready(proc)
    assert proc.state is ProcessState.READY
