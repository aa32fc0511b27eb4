"""Build the aiohttp application: routes, error rendering, upstream clients.

The runner must create ``web.AppRunner(app, handler_cancellation=True, access_log=None)``:
that flag lives on the server, not the app, and it is what cancels a handler (and so
its upstream request, queue slot or serve lease) when the client hangs up; aiohttp's
own access log is replaced by llama-swap's (``access_log.py``).
Middlewares, outermost first: access log, CORS preflight, API keys (only when
``apiKeys`` is set), error rendering.
Shutdown: ``on_shutdown`` ends log and event streams and websockets and closes the peer gate
(loading streams drain like any request); cleanup closes upstream and peer sessions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Middleware

from llamaswap.config.schema import Config
from llamaswap.observe.events import EventBus
from llamaswap.observe.logmon import LogMonitors
from llamaswap.router.api import Router
from llamaswap.server import (
    comfyui,
    events,
    inference,
    inflight,
    listing,
    logs,
    management,
    passthrough,
    profiles,
    version,
)
from llamaswap.server.access_log import access_log_middleware, remember_response
from llamaswap.server.auth import auth_middleware
from llamaswap.server.clients import UpstreamClients
from llamaswap.server.cors import cors_preflight_middleware
from llamaswap.server.errors import error_middleware
from llamaswap.server.keys import (
    CLIENTS,
    LIVE,
    PEER_CLIENTS,
    ROUTER,
    WEBSOCKETS,
)
from llamaswap.server.live import LiveConfig
from llamaswap.server.peers import PeerClients
from llamaswap.server.websocket import WebSockets


async def _upstream_clients(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[CLIENTS].aclose()
    await app[PEER_CLIENTS].aclose()


async def _end_long_lived(app: web.Application) -> None:
    app[PEER_CLIENTS].closing = True
    await app[WEBSOCKETS].close_all()


def middlewares(live: LiveConfig) -> list[Middleware]:
    """The API-key check is always installed: a reload may add or remove ``apiKeys``."""
    return [
        access_log_middleware,
        cors_preflight_middleware,
        auth_middleware(lambda: live.api_keys),
        error_middleware,
    ]


def build_app(
    config: Config,
    router: Router,
    *,
    monitors: LogMonitors | None = None,
    bus: EventBus | None = None,
) -> web.Application:
    """The llama-swap HTTP API for ``config``, dispatching through ``router``.

    A reload installs a new config with ``app[LIVE].swap(config)`` (server/live.py)
    after the router accepted it; the app object itself never changes.

    ``monitors``: the log monitors behind ``/logs*``, the ones our logging and the
    router's processes write to; by default new, unconnected ones (tests).
    ``bus``: the event bus behind ``/api/events``; the router's ``on_process_state``
    should publish to it (``bus.process_state_callback()``); by default a new one.
    """
    live = LiveConfig(config)
    app = web.Application(middlewares=middlewares(live), client_max_size=0)
    app[LIVE] = live
    app[ROUTER] = router
    app[CLIENTS] = UpstreamClients(lambda: live.config)
    app[PEER_CLIENTS] = PeerClients(lambda: live.config)
    app[WEBSOCKETS] = WebSockets()
    management.add_routes(app)
    inference.add_routes(app)
    passthrough.add_routes(app)
    comfyui.add_routes(app)
    listing.add_routes(app)
    profiles.add_routes(app)
    logs.setup(app, monitors or LogMonitors(config.log_to_stdout, stdout=None))
    events.setup(app, bus if bus is not None else EventBus())
    inflight.add_routes(app)
    version.add_routes(app)
    app.cleanup_ctx.append(_upstream_clients)
    app.on_shutdown.append(_end_long_lived)
    app.on_response_prepare.append(remember_response)
    return app
