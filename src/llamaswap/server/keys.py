"""Typed keys for the state the app keeps (aiohttp freezes the app after start)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from llamaswap.router.api import Router

if TYPE_CHECKING:
    from llamaswap.observe.events import EventBus
    from llamaswap.observe.inflight import InFlightEntry, InFlightTracker
    from llamaswap.observe.logmon import LogMonitors
    from llamaswap.server.clients import UpstreamClients
    from llamaswap.server.events import EventStreams
    from llamaswap.server.live import LiveConfig
    from llamaswap.server.logs import LogStreams
    from llamaswap.server.peers import PeerClients
    from llamaswap.server.websocket import WebSockets

LIVE: web.AppKey[LiveConfig] = web.AppKey("live")
"""The current config and everything derived from it (swapped whole by a reload)."""
ROUTER = web.AppKey("router", Router)
CLIENTS: web.AppKey[UpstreamClients] = web.AppKey("clients")
PEER_CLIENTS: web.AppKey[PeerClients] = web.AppKey("peer_clients")
WEBSOCKETS: web.AppKey[WebSockets] = web.AppKey("websockets")
LOG_MONITORS: web.AppKey[LogMonitors] = web.AppKey("log_monitors")
LOG_STREAMS: web.AppKey[LogStreams] = web.AppKey("log_streams")
EVENTS: web.AppKey[EventBus] = web.AppKey("events")
EVENT_STREAMS: web.AppKey[EventStreams] = web.AppKey("event_streams")
INFLIGHT: web.AppKey[InFlightTracker] = web.AppKey("inflight")
INFLIGHT_ENTRY: web.RequestKey[InFlightEntry] = web.RequestKey("inflight_entry")
"""The request's in-flight row, for the response-header update."""
SELECTOR = web.RequestKey("selector", str)
"""The selector a request named (activity metadata ``selector``)."""
BODY_BYTES = web.ResponseKey("body_bytes", int)
"""Body bytes a streamed response has written so far (for the access log)."""
