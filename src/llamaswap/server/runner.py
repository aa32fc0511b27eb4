"""Serve one loaded config until a signal: listen, drain, stop every model, exit.

Shutdown order (style.md "Shut down in order"): stop listening, close long-lived
streams (the app's ``on_shutdown``), wait for in-flight HTTP requests, then stop every
upstream with what is left of one 30 s budget. A second SIGINT/SIGTERM kills every
process group at once and exits 1; a 35 s backstop does the same if the drain hangs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
import socket
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from llamaswap.config.loader import LoadedConfig
from llamaswap.observe.events import EventBus
from llamaswap.observe.logmon import LogMonitors
from llamaswap.process.registry import kill_all_process_groups
from llamaswap.reload import ConfigWatcher, Reloader, watch_interval
from llamaswap.router.factory import build_router
from llamaswap.server.app import build_app
from llamaswap.server.keys import LIVE
from llamaswap.stdout_writer import STDOUT

log = logging.getLogger("llamaswap")

SHUTDOWN_BUDGET_S = 30.0
BACKSTOP_S = 35.0
SHUTDOWN_BUDGET_ENV = "LLAMASWAP_SHUTDOWN_BUDGET"
"""Seconds for the whole shutdown instead of llama-swap's 30 (tests shorten it); the
backstop stays 5 s beyond it."""
HANDLER_GRACE_S = 1.0
"""aiohttp cancels leftover handlers this long after the budget, so the router's
shutdown fails their waits first (a loading stream still sends its error event)."""


def shutdown_budget() -> float:
    """``LLAMASWAP_SHUTDOWN_BUDGET`` when it is a positive number, else 30 s."""
    text = os.environ.get(SHUTDOWN_BUDGET_ENV, "")
    try:
        value = float(text)
    except ValueError:
        return SHUTDOWN_BUDGET_S
    return value if 0 < value < float("inf") else SHUTDOWN_BUDGET_S


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """A Go-style ``host:port``; an empty host means every interface."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"invalid listen address {text!r}: missing port")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        try:
            port = int(port_text) if port_text else 0
        except ValueError:
            raise ValueError(f"invalid listen address {text!r}: bad port {port_text!r}") from None
        if not 0 <= port <= 65535:
            raise ValueError(f"invalid listen address {text!r}: port out of range")
        return cls(host, port)

    @property
    def bind_host(self) -> str | None:
        return self.host or None

    def is_loopback_only(self) -> bool:
        if self.host in ("", "0.0.0.0", "::"):
            return False
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(self.host, None)
        except OSError:
            return False
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)

    def display(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def load_tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The server's TLS context; a ``ValueError`` naming both files when they cannot load."""
    if not cert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(
            f"cannot load TLS certificate {cert!r} and key {key!r}: {reason}"
        ) from None
    return ctx


def _force_exit(reason: str) -> None:
    log.error("%s: killing every upstream process group and exiting", reason)
    kill_all_process_groups()
    logging.shutdown()
    STDOUT.flush(timeout=1.0)  # os._exit skips atexit: write the queued lines now
    os._exit(1)


async def run(
    loaded: LoadedConfig,
    *,
    listen: str,
    tls_cert: str | None,
    tls_key: str | None,
    watch_config: bool,
    config_path: str | None,
    config_dir: str | None,
    monitors: LogMonitors | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM; returns the process exit code.

    ``monitors`` are the log monitors the CLI's logging writes into (``/logs*``); by
    default new ones (then ``/logs`` lacks our own lines).
    """
    config = loaded.config
    if monitors is None:
        monitors = LogMonitors(config.log_to_stdout)
    try:
        address = ListenAddress.parse(listen)
        ssl_context = load_tls_context(tls_cert, tls_key)
    except (ValueError, OSError, ssl.SSLError) as exc:
        log.error("%s", exc)
        return 1

    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    signals_seen = 0

    def on_stop_signal(signame: str) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            _force_exit(f"received second {signame}")
        log.info("received %s, shutting down", signame)
        stop_requested.set()

    reloader: Reloader | None = None

    def on_sighup() -> None:
        log.info("received SIGHUP, reloading config")
        if reloader is None:
            log.warning("still starting: configuration reload ignored")
            return
        reloader.trigger()

    handlers: dict[signal.Signals, Callable[[], None]] = {
        signal.SIGINT: lambda: on_stop_signal("SIGINT"),
        signal.SIGTERM: lambda: on_stop_signal("SIGTERM"),
        signal.SIGHUP: on_sighup,
    }
    for sig, handler in handlers.items():
        loop.add_signal_handler(sig, handler)

    bus = EventBus()
    router = build_router(
        config, on_process_state=bus.process_state_callback(), upstream_log=monitors.upstream
    )
    await router.start()
    app = build_app(config, router, monitors=monitors, bus=bus)
    reloader = Reloader(
        config,
        config_path=config_path,
        config_dir=config_dir,
        router=router,
        live=app[LIVE],
        monitors=monitors,
    )
    budget = shutdown_budget()
    runner = web.AppRunner(
        app,
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=budget + HANDLER_GRACE_S,
    )
    await runner.setup()
    site = web.TCPSite(
        runner,
        address.bind_host,
        address.port,
        ssl_context=ssl_context,
        backlog=1024,
        reuse_address=True,
    )
    try:
        await site.start()
    except OSError as exc:
        log.error("failed to listen on %s: %s", address.display(), exc)
        await runner.cleanup()
        await router.shutdown(1.0)
        return 1
    watcher: asyncio.Task[None] | None = None
    if watch_config:
        poller = ConfigWatcher(config_path, config_dir, reloader.trigger, interval=watch_interval())
        watcher = asyncio.create_task(poller.run(), name="config-watcher")
        log.info("watching configuration for changes (poll-based, %gs interval)", poller.interval)

    scheme = "https" if ssl_context else "http"
    tls = " with TLS" if ssl_context else ""
    log.info("llama-swap listening%s on %s://%s", tls, scheme, address.display())
    if not address.is_loopback_only():
        log.info(
            "listening on all interfaces: llama-swap is reachable by every host on the "
            "network; use -listen localhost:%d to restrict it to this machine",
            address.port,
        )
    log.debug("PID: %d", os.getpid())

    await stop_requested.wait()
    backstop_s = budget + BACKSTOP_S - SHUTDOWN_BUDGET_S
    backstop = loop.call_later(
        backstop_s, _force_exit, f"shutdown took longer than {backstop_s:g}s"
    )
    started = time.monotonic()
    if watcher is not None:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    await reloader.aclose()
    # Stop listening, close streams (on_shutdown), drain handlers, then cleanup.
    # aiohttp may wait twice its shutdown_timeout for a handler that never ends (one
    # waiting on a model that never gets healthy, an endless stream), so the drain
    # gets the budget and no more: the router's shutdown then fails the waiters
    # (500 "... is shutting down") and stops the upstreams, which ends the rest.
    drain = asyncio.create_task(runner.cleanup(), name="http-drain")
    try:
        await asyncio.wait({drain}, timeout=budget)
        remaining = max(0.001, budget - (time.monotonic() - started))
        await router.shutdown(remaining)
        await drain
    finally:
        drain.cancel()  # a no-op once it finished; never left running unowned
        backstop.cancel()
        for sig in handlers:
            loop.remove_signal_handler(sig)
    log.info("shutdown complete")
    return 0


def run_sync(
    loaded: LoadedConfig,
    *,
    listen: str,
    tls_cert: str | None,
    tls_key: str | None,
    watch_config: bool,
    config_path: str | None,
    config_dir: str | None,
    monitors: LogMonitors | None = None,
) -> int:
    """Run :func:`run` on uvloop when it is installed, else on the default loop."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if sys.platform != "win32":
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:  # pragma: no cover - uvloop is a default dependency
            loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(
            run(
                loaded,
                listen=listen,
                tls_cert=tls_cert,
                tls_key=tls_key,
                watch_config=watch_config,
                config_path=config_path,
                config_dir=config_dir,
                monitors=monitors,
            )
        )
