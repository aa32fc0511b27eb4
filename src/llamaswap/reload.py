"""Configuration reload: the ``-watch-config`` poller and the reload routine.

Triggers (SIGHUP, a change the poller sees) call :meth:`Reloader.trigger`; one arriving
while a reload runs is dropped, not queued (features.md §1). The routine loads every
source again with the current port allocation; on any error it logs why and changes
nothing. Otherwise the router takes the new config first (unchanged models keep their
processes: design.md deviation 1, router/reload_plan.py), then the HTTP app's config
view is swapped (server/live.py), logging follows ``logLevel``/``logTimeFormat``, and the
router runs the preload hook again.

The poller stats files instead of watching them (inotify misses bind mounts and
ConfigMap symlink swaps): the ``-config`` file fires when it exists and is new or its
mtime or size changed; the ``-config-dir`` fires when it holds YAML files and their
names, mtimes or sizes changed. Disappearing is silent, the first poll is a baseline.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Protocol

from llamaswap.config.errors import ConfigError
from llamaswap.config.loader import load_config
from llamaswap.config.schema import Config
from llamaswap.logformat import configure_logging
from llamaswap.observe.logmon import LogMonitors
from llamaswap.router.factory import build_planner
from llamaswap.router.planners.base import SwapPlanner
from llamaswap.router.reload_plan import ReloadPlan
from llamaswap.server.live import LiveConfig

log = logging.getLogger("llamaswap")

WATCH_INTERVAL_S = 2.0
WATCH_INTERVAL_ENV = "LLAMASWAP_WATCH_INTERVAL"
"""Seconds between polls instead of 2 (tests use a short one); invalid or <= 0: 2."""

FileStat = tuple[int, int]
"""(mtime in ns, size) of a file."""
DirSnapshot = tuple[tuple[str, int, int], ...]
"""Sorted (name, mtime in ns, size) of a directory's ``*.yml``/``*.yaml`` files."""


def watch_interval(environ: dict[str, str] | None = None) -> float:
    text = (os.environ if environ is None else environ).get(WATCH_INTERVAL_ENV, "")
    try:
        value = float(text)
    except ValueError:
        return WATCH_INTERVAL_S
    return value if value > 0 else WATCH_INTERVAL_S


def stat_file(path: str) -> FileStat | None:
    """Follows symlinks; missing (or unreadable, logged) is None."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("config watcher: cannot stat %s: %s", path, exc)
        return None
    return (st.st_mtime_ns, st.st_size)


def scan_dir(path: str) -> DirSnapshot | None:
    """The directory's regular YAML files (symlinks followed); unreadable is None."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return None
    found = []
    for entry in entries:
        if not entry.name.endswith((".yml", ".yaml")):
            continue
        try:
            if not entry.is_file():
                continue
            st = entry.stat()
        except OSError:
            continue
        found.append((entry.name, st.st_mtime_ns, st.st_size))
    return tuple(sorted(found))


def file_fires(previous: FileStat | None, current: FileStat | None) -> bool:
    """Present now and new or different; present -> missing is silent."""
    return current is not None and current != previous


def dir_fires(previous: DirSnapshot | None, current: DirSnapshot | None) -> bool:
    """Holds YAML files now and they differ; emptying or removing the directory is
    silent (so it fires again when content re-appears)."""
    return bool(current) and current != previous


class ConfigWatcher:
    """Polls the config sources; calls ``on_change`` when a poll sees a change."""

    def __init__(
        self,
        config_path: str | None,
        config_dir: str | None,
        on_change: Callable[[], object],
        *,
        interval: float = WATCH_INTERVAL_S,
        stat: Callable[[str], FileStat | None] = stat_file,
        scan: Callable[[str], DirSnapshot | None] = scan_dir,
    ) -> None:
        self._path = os.path.abspath(config_path) if config_path else None
        self._dir = os.path.abspath(config_dir) if config_dir else None
        self._on_change = on_change
        self.interval = interval if interval > 0 else WATCH_INTERVAL_S
        self._stat = stat
        self._scan = scan
        self._file: FileStat | None = None
        self._snapshot: DirSnapshot | None = None
        self._baseline = False

    def poll(self) -> bool:
        """One look at the sources; True when a reload is due (never on the first)."""
        fired = False
        if self._path is not None:
            current = self._stat(self._path)
            fired |= file_fires(self._file, current)
            self._file = current
        if self._dir is not None:
            snapshot = self._scan(self._dir)
            fired |= dir_fires(self._snapshot, snapshot)
            self._snapshot = snapshot
        if not self._baseline:
            self._baseline = True
            return False
        return fired

    async def run(self) -> None:
        """Poll forever (cancel to stop); stat calls run off the event loop."""
        await asyncio.to_thread(self.poll)
        while True:
            await asyncio.sleep(self.interval)
            if await asyncio.to_thread(self.poll):
                log.info("configuration change detected")
                self._on_change()


class ReloadableRouter(Protocol):
    async def reload(self, config: Config, planner: SwapPlanner) -> ReloadPlan: ...


class Reloader:
    """Runs the reload routine in one tracked task at a time."""

    def __init__(
        self,
        config: Config,
        *,
        config_path: str | None,
        config_dir: str | None,
        router: ReloadableRouter,
        live: LiveConfig,
        monitors: LogMonitors | None = None,
    ) -> None:
        self._config = config
        self._path = config_path
        self._dir = config_dir
        self._router = router
        self._live = live
        self._monitors = monitors
        self._log_to_stdout = config.log_to_stdout
        """Not reloadable: the log wiring is built once at start."""
        self._task: asyncio.Task[bool] | None = None

    @property
    def config(self) -> Config:
        return self._config

    def trigger(self) -> bool:
        """Start a reload in the background; False (dropped) when one is running."""
        if self._task is not None and not self._task.done():
            log.info("configuration reload already running; this trigger is dropped")
            return False
        self._task = asyncio.create_task(self.reload(), name="config-reload")
        return True

    async def wait_idle(self) -> None:
        if self._task is not None:
            await asyncio.wait({self._task})

    async def aclose(self) -> None:
        """Cancel a reload in progress (shutdown)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def reload(self) -> bool:
        """The routine; True when the new config is in use."""
        log.info("reloading configuration")
        ports = {
            m: model.port for m, model in self._config.models.items() if model.port is not None
        }
        try:
            loaded = await asyncio.to_thread(
                load_config, self._path, self._dir, previous_ports=ports
            )
            planner = build_planner(loaded.config)
        except ConfigError as exc:
            for line in exc.warnings:
                log.warning("%s", line)
            for line in exc.errors:
                log.warning("failed to reload config: %s", line)
            return False
        except (OSError, ValueError) as exc:
            log.warning("failed to reload config: %s", exc)
            return False
        config = loaded.config
        for line in loaded.warnings:
            log.warning("%s", line)
        try:
            await self._router.reload(config, planner)
        except Exception as exc:
            log.warning("failed to reload config: %s", exc)
            return False
        self._live.swap(config)
        self._config = config
        if self._monitors is not None:
            configure_logging(
                config.log_level, config.log_time_format, self._log_to_stdout, self._monitors
            )
        if config.log_to_stdout != self._log_to_stdout:
            log.warning(
                "logToStdout changed to %r: it takes effect after a restart", config.log_to_stdout
            )
        log.info("configuration reloaded")
        return True
