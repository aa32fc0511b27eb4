"""Typed keys for the state the app keeps (aiohttp freezes the app after start)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aiohttp import web

from llamaswap.config.schema import Config
from llamaswap.router.api import Router

if TYPE_CHECKING:
    from llamaswap.observe.logmon import LogMonitors
    from llamaswap.server.clients import UpstreamClients
    from llamaswap.server.loading import LoadingStreams
    from llamaswap.server.logs import LogStreams
    from llamaswap.server.peer_routes import PeerDirectory
    from llamaswap.server.peers import PeerClients
    from llamaswap.server.profiles import ActiveProfile
    from llamaswap.server.selectors import Selectors
    from llamaswap.server.websocket import WebSockets

CONFIG = web.AppKey("config", Config)
ROUTER = web.AppKey("router", Router)
CLIENTS: web.AppKey[UpstreamClients] = web.AppKey("clients")
LOADING_STREAMS: web.AppKey[LoadingStreams] = web.AppKey("loading_streams")
IGNORE_PATHS: web.AppKey[list[re.Pattern[str]]] = web.AppKey("ignore_paths")
PEERS: web.AppKey[PeerDirectory] = web.AppKey("peers")
PEER_CLIENTS: web.AppKey[PeerClients] = web.AppKey("peer_clients")
WEBSOCKETS: web.AppKey[WebSockets] = web.AppKey("websockets")
LOG_MONITORS: web.AppKey[LogMonitors] = web.AppKey("log_monitors")
LOG_STREAMS: web.AppKey[LogStreams] = web.AppKey("log_streams")
PROFILES: web.AppKey[ActiveProfile] = web.AppKey("profiles")
SELECTORS: web.AppKey[Selectors] = web.AppKey("selectors")
SELECTOR = web.RequestKey("selector", str)
"""The selector a request named (activity metadata ``selector``)."""
BODY_BYTES = web.ResponseKey("body_bytes", int)
"""Body bytes a streamed response has written so far (for the access log)."""
