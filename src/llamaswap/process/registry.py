"""Every process group we started and have not yet cleaned up.

A second SIGINT/SIGTERM must not wait for graceful stops: the runner calls
:func:`kill_all_process_groups` and exits.
"""

from __future__ import annotations

import os
import signal

from llamaswap.process.groups import kill_stragglers, signal_group, snapshot_descendants

_live_groups: set[int] = set()


def register_group(pgid: int) -> None:
    _live_groups.add(pgid)


def unregister_group(pgid: int) -> None:
    _live_groups.discard(pgid)


def live_groups() -> frozenset[int]:
    return frozenset(_live_groups)


def kill_all_process_groups() -> None:
    """SIGKILL every live group we started and every descendant of ours (fast exit).

    Synchronous and quick: meant for the second SIGINT/SIGTERM, just before exiting.
    """
    stragglers = snapshot_descendants(os.getpid())
    for pgid in list(_live_groups):
        signal_group(pgid, signal.SIGKILL)
    kill_stragglers(stragglers)
    _live_groups.clear()
