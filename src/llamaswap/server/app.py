"""Build the aiohttp application: routes, error rendering, upstream clients.

The runner must create ``web.AppRunner(app, handler_cancellation=True, access_log=None)``:
that flag lives on the server, not the app, and it is what cancels a handler (and so
its upstream request, queue slot or serve lease) when the client hangs up; aiohttp's
own access log is replaced by llama-swap's (``access_log.py``).
Middlewares, outermost first: access log, CORS preflight, API keys (only when
``apiKeys`` is set), error rendering.
Shutdown: ``on_shutdown`` ends live loading streams, log streams and websockets and
closes the peer gate; cleanup closes upstream and peer sessions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Middleware

from llamaswap.config.schema import Config
from llamaswap.observe.logmon import LogMonitors
from llamaswap.router.api import Router
from llamaswap.server import (
    comfyui,
    inference,
    listing,
    logs,
    management,
    passthrough,
    profiles,
)
from llamaswap.server.access_log import access_log_middleware, remember_response
from llamaswap.server.auth import auth_middleware
from llamaswap.server.clients import UpstreamClients
from llamaswap.server.cors import cors_preflight_middleware
from llamaswap.server.errors import error_middleware
from llamaswap.server.keys import (
    CLIENTS,
    CONFIG,
    IGNORE_PATHS,
    LOADING_STREAMS,
    PEER_CLIENTS,
    PEERS,
    PROFILES,
    ROUTER,
    SELECTORS,
    WEBSOCKETS,
)
from llamaswap.server.loading import LoadingStreams
from llamaswap.server.peer_routes import PeerDirectory
from llamaswap.server.peers import PeerClients
from llamaswap.server.profiles import ActiveProfile
from llamaswap.server.selectors import Selectors
from llamaswap.server.websocket import WebSockets


async def _upstream_clients(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[CLIENTS].aclose()
    await app[PEER_CLIENTS].aclose()


async def _end_long_lived(app: web.Application) -> None:
    app[PEER_CLIENTS].closing = True
    app[LOADING_STREAMS].abort_all()
    await app[WEBSOCKETS].close_all()


def middlewares(config: Config) -> list[Middleware]:
    chain: list[Middleware] = [access_log_middleware, cors_preflight_middleware]
    if config.api_keys:
        chain.append(auth_middleware(config.api_keys))
    chain.append(error_middleware)
    return chain


def build_app(
    config: Config, router: Router, *, monitors: LogMonitors | None = None
) -> web.Application:
    """The llama-swap HTTP API for ``config``, dispatching through ``router``.

    ``monitors``: the log monitors behind ``/logs*``, the ones our logging and the
    router's processes write to; by default new, unconnected ones (tests).
    """
    app = web.Application(middlewares=middlewares(config), client_max_size=0)
    app[CONFIG] = config
    app[ROUTER] = router
    app[CLIENTS] = UpstreamClients(config)
    app[PEERS] = PeerDirectory(config)
    app[PEER_CLIENTS] = PeerClients(config)
    app[LOADING_STREAMS] = LoadingStreams()
    app[WEBSOCKETS] = WebSockets()
    app[IGNORE_PATHS] = passthrough.compile_ignore_paths(config.upstream.ignore_paths)
    app[PROFILES] = ActiveProfile(config)
    app[SELECTORS] = Selectors(config)
    management.add_routes(app)
    inference.add_routes(app)
    passthrough.add_routes(app)
    comfyui.add_routes(app)
    listing.add_routes(app)
    profiles.add_routes(app)
    logs.setup(app, monitors or LogMonitors(config.log_to_stdout, stdout=None))
    app.cleanup_ctx.append(_upstream_clients)
    app.on_shutdown.append(_end_long_lived)
    app.on_response_prepare.append(remember_response)
    return app
