"""``GET /api/events``: llama-swap's Server-Sent Events stream (observability.md §10).

On connect the stream subscribes first (bus and both log monitors, with no await in
between), then writes the snapshot in llama-swap's order: proxy log history, upstream
log history, ``modelStatus``, ``uiConfig``, ``profileChanged``, the ``inflight``
snapshot; live messages follow. Each connection reads one bounded bus subscription, so
a client that cannot keep up loses messages (logged once per episode) and then gets a
fresh ``modelStatus`` and ``inflight`` snapshot instead of stalling anyone. A reload
keeps the stream open and pushes the new state at once ([EXT] of §11.4). Streams
register in :class:`EventStreams` so ``on_shutdown`` ends them.
No ``activity`` messages yet: there is no activity store to announce rows from.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from llamaswap.observe.events import (
    ConfigReloaded,
    Event,
    EventBus,
    InFlightUpdate,
    LogChunk,
    ProcessStateChanged,
    ProfileChanged,
    Subscription,
)
from llamaswap.observe.inflight import InFlightTracker
from llamaswap.process.logs import LogSubscription
from llamaswap.server import event_messages as msg
from llamaswap.server.keys import (
    BODY_BYTES,
    EVENT_STREAMS,
    EVENTS,
    INFLIGHT,
    LIVE,
    LOG_MONITORS,
    ROUTER,
)
from llamaswap.server.live import ConfigView

log = logging.getLogger("llamaswap")

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Content-Type-Options": "nosniff",
    "X-Accel-Buffering": "no",
}
LOG_CHUNKS = 64
"""Live log chunks a stream's log readers may hold before the log monitor drops."""
DROPPED_WARNING = "handleAPIEvents sendBuffer full, dropped message"


class EventStreams:
    """The open ``/api/events`` subscriptions, so shutdown can end them."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._live: set[Subscription] = set()
        self._closing = False

    def __len__(self) -> int:
        return len(self._live)

    def open(self) -> Subscription:
        """Subscribe; already closed when the server is shutting down."""
        sub = self._bus.subscribe(on_overflow=lambda: log.warning(DROPPED_WARNING))
        if self._closing:
            self._bus.unsubscribe(sub)
        else:
            self._live.add(sub)
        return sub

    def close(self, sub: Subscription) -> None:
        self._live.discard(sub)
        self._bus.unsubscribe(sub)

    def close_all(self) -> None:
        self._closing = True
        for sub in list(self._live):
            self.close(sub)


def _model_status(app: web.Application, changed: ProcessStateChanged | None = None) -> bytes:
    """``modelStatus`` now; the model that changed shows the state it changed to, so a
    reader that lags still sees each transition."""
    states = app[ROUTER].states()
    if changed is not None:
        states[changed.model_id] = changed.new
    live = app[LIVE]
    return msg.message(msg.MODEL_STATUS, msg.model_status(live.config, states, live.peers))


def _snapshot(app: web.Application, proxy_history: bytes, upstream_history: bytes) -> bytes:
    live = app[LIVE]
    return b"".join(
        (
            msg.log_data("proxy", proxy_history),
            msg.log_data("upstream", upstream_history),
            _model_status(app),
            msg.message(msg.UI_CONFIG, msg.ui_config(live.config)),
            msg.message(msg.PROFILE_CHANGED, msg.profile_changed(live.profiles.active)),
            msg.message(msg.INFLIGHT, app[INFLIGHT].snapshot()),
        )
    )


def render(app: web.Application, event: Event) -> bytes:
    """The SSE message(s) one event becomes."""
    if isinstance(event, LogChunk):
        return msg.log_data(event.source, event.data)
    if isinstance(event, InFlightUpdate):
        return msg.message(msg.INFLIGHT, event.payload)
    if isinstance(event, ProcessStateChanged):
        return _model_status(app, event)
    if isinstance(event, ProfileChanged):
        return msg.message(msg.PROFILE_CHANGED, msg.profile_changed(event.active)) + (
            _model_status(app)
        )
    # ConfigReloaded: models and the UI settings may have changed.
    config = app[LIVE].config
    return _model_status(app) + msg.message(msg.UI_CONFIG, msg.ui_config(config))


async def _pump_log(logs: LogSubscription, source: str, sub: Subscription) -> None:
    """Move one log monitor's live chunks into the stream's queue."""
    async for chunk in logs:
        sub.offer(LogChunk(source, chunk))


async def handle_events(request: web.Request) -> web.StreamResponse:
    app = request.app
    monitors = app[LOG_MONITORS]
    streams = app[EVENT_STREAMS]
    resp = web.StreamResponse(headers=SSE_HEADERS)
    # Subscribe everything and take the histories with no await between: no gap.
    sub = streams.open()
    proxy_logs = monitors.proxy.subscribe(LOG_CHUNKS)
    upstream_logs = monitors.upstream.subscribe(LOG_CHUNKS)
    written = 0
    try:
        await resp.prepare(request)
        data = _snapshot(app, monitors.proxy.history(), monitors.upstream.history())
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(_pump_log(proxy_logs, "proxy", sub), name="events-proxy-log")
            tasks.create_task(_pump_log(upstream_logs, "upstream", sub), name="events-up-log")
            try:
                while True:
                    await resp.write(data)
                    written += len(data)
                    resp[BODY_BYTES] = written
                    event = await sub.get()
                    if event is None:
                        break
                    pending = [render(app, event)]
                    while (more := sub.get_nowait()) is not None:
                        pending.append(render(app, more))
                    if sub.take_dropped():
                        pending.append(_model_status(app))
                        pending.append(msg.message(msg.INFLIGHT, app[INFLIGHT].snapshot()))
                    data = b"".join(pending)
            finally:
                monitors.proxy.unsubscribe(proxy_logs)  # ends the pumps
                monitors.upstream.unsubscribe(upstream_logs)
        await resp.write_eof()
    finally:
        streams.close(sub)
        monitors.proxy.unsubscribe(proxy_logs)
        monitors.upstream.unsubscribe(upstream_logs)
    return resp


def _follow_config(app: web.Application, bus: EventBus) -> None:
    """Publish profile changes of the current view, and a reload's new state."""
    active: list[str | None] = [app[LIVE].profiles.active]

    def on_profile(name: str | None) -> None:
        active[0] = name
        bus.publish(ProfileChanged(name))

    def on_swap(view: ConfigView) -> None:
        view.profiles.on_change(on_profile)
        if active[0] != view.profiles.active:  # a reload starts with no profile
            on_profile(view.profiles.active)
        bus.publish(ConfigReloaded())

    app[LIVE].profiles.on_change(on_profile)
    app[LIVE].on_swap(on_swap)


async def _end_streams(app: web.Application) -> None:
    app[EVENT_STREAMS].close_all()


def setup(app: web.Application, bus: EventBus) -> None:
    """State, route and shutdown hook of ``/api/events`` and the in-flight tracker."""
    app[EVENTS] = bus
    app[EVENT_STREAMS] = EventStreams(bus)
    app[INFLIGHT] = InFlightTracker(bus)
    _follow_config(app, bus)
    app.router.add_get("/api/events", handle_events, allow_head=False)
    app.on_shutdown.append(_end_streams)
