"""Lifecycle of the demo upstream: slow start, crash, signals, grandchildren.

It measures its own time to ready (from the kernel's process start time to the moment
``/health`` turns 200), prints it and serves it on ``/health`` as ``ready_after_s``,
so benchmarks can subtract the upstream's share of a cold start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from aiohttp import web

from llamaswap.demo.options import DemoOptions, parse_options
from llamaswap.demo.routes import DemoState, build_app

_GRANDCHILD_CODE = "import time; time.sleep(300)"


def _process_start_boottime() -> float | None:
    """Seconds since boot at which this process started (``/proc/self/stat`` field 22)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        fields = stat[stat.rindex(b")") + 2 :].split()
        return int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class _Clock:
    """Time since the process started: kernel start time when known, else since import."""

    def __init__(self) -> None:
        self._start = _process_start_boottime()
        self._fallback = time.monotonic()

    def elapsed(self) -> float:
        if self._start is not None:
            return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - self._start)
        return time.monotonic() - self._fallback


def _say(opts: DemoOptions, text: str) -> None:
    print(f"demo {opts.model_name}: {text}", flush=True)


def _spawn_grandchildren(opts: DemoOptions) -> None:
    """Children that outlive a careless stop; they keep our stdout pipe open on purpose."""
    pids = []
    for setsid in (False, True):
        wanted = opts.setsid_grandchild if setsid else opts.fork_grandchild
        if not wanted:
            continue
        child = subprocess.Popen([sys.executable, "-c", _GRANDCHILD_CODE], start_new_session=setsid)
        pids.append(child.pid)
        _say(opts, f"grandchild {child.pid} started (setsid={setsid})")
    if opts.grandchild_pid_file and pids:
        with open(opts.grandchild_pid_file, "a") as f:
            f.write("".join(f"{pid}\n" for pid in pids))


async def _serve(opts: DemoOptions, clock: _Clock) -> None:
    loop = asyncio.get_running_loop()
    state = DemoState(opts)
    runner = web.AppRunner(
        build_app(state), handler_cancellation=True, access_log=None, shutdown_timeout=0.5
    )
    await runner.setup()
    site = web.TCPSite(runner, opts.host, opts.port, reuse_address=True)
    await site.start()
    _say(opts, f"pid {os.getpid()} listening on http://{opts.host}:{opts.port}")

    def mark_healthy() -> None:
        state.ready_after = round(clock.elapsed(), 4)
        _say(opts, f"ready after {state.ready_after:.3f}s")

    if not opts.never_healthy:
        if opts.healthy_after > 0:
            loop.call_later(opts.healthy_after, mark_healthy)
        else:
            mark_healthy()

    def crash() -> None:
        _say(opts, f"crashing with exit code {opts.crash_code}")
        os._exit(opts.crash_code)

    if opts.crash_after is not None:
        loop.call_later(opts.crash_after, crash)

    stop = asyncio.Event()

    def on_sigterm() -> None:
        if opts.sigterm_delay > 0:
            _say(opts, f"SIGTERM: exiting in {opts.sigterm_delay}s")
            loop.call_later(opts.sigterm_delay, stop.set)
        else:
            _say(opts, "SIGTERM: exiting")
            stop.set()

    loop.add_signal_handler(signal.SIGINT, stop.set)
    if not opts.ignore_sigterm:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    clock = _Clock()
    opts = parse_options(argv)
    if opts.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if opts.pid_file:
        with open(opts.pid_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    if opts.output_bytes > 0:
        line = b"demo filler output 0123456789abcdefghijklmnopqrstuvwxyz\n"
        full, rest = divmod(opts.output_bytes, len(line))
        sys.stdout.buffer.write(line * full + line[:rest])
        sys.stdout.buffer.flush()
    if opts.startup_delay > 0:
        time.sleep(opts.startup_delay)
    if opts.exit_at_start is not None:
        _say(opts, f"exiting at start with code {opts.exit_at_start}")
        sys.exit(opts.exit_at_start)
    _spawn_grandchildren(opts)
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(opts, clock))
    else:
        uvloop.run(_serve(opts, clock))
