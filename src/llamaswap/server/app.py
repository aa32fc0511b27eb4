"""Build the aiohttp application: routes, error rendering, upstream clients.

The runner must create ``web.AppRunner(app, handler_cancellation=True)``: that flag
lives on the server, not the app, and it is what cancels a handler (and so its
upstream request, queue slot or serve lease) when the client hangs up.
Shutdown: ``on_shutdown`` ends live loading streams; cleanup closes upstream sessions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from llamaswap.config.schema import Config
from llamaswap.router.api import Router
from llamaswap.server import inference, listing, management, passthrough
from llamaswap.server.clients import UpstreamClients
from llamaswap.server.cors import cors_preflight_middleware
from llamaswap.server.errors import error_middleware
from llamaswap.server.keys import CLIENTS, CONFIG, IGNORE_PATHS, LOADING_STREAMS, ROUTER
from llamaswap.server.loading import LoadingStreams


async def _upstream_clients(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[CLIENTS].aclose()


async def _end_loading_streams(app: web.Application) -> None:
    app[LOADING_STREAMS].abort_all()


def build_app(config: Config, router: Router) -> web.Application:
    """The llama-swap HTTP API for ``config``, dispatching through ``router``."""
    app = web.Application(
        middlewares=[cors_preflight_middleware, error_middleware], client_max_size=0
    )
    app[CONFIG] = config
    app[ROUTER] = router
    app[CLIENTS] = UpstreamClients(config)
    app[LOADING_STREAMS] = LoadingStreams()
    app[IGNORE_PATHS] = passthrough.compile_ignore_paths(config.upstream.ignore_paths)
    management.add_routes(app)
    inference.add_routes(app)
    passthrough.add_routes(app)
    listing.add_routes(app)
    app.cleanup_ctx.append(_upstream_clients)
    app.on_shutdown.append(_end_loading_streams)
    return app
