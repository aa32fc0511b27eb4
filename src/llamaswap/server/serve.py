"""Admission, the wait for a lease, and the proxy: the life of one routed request.

The handler holds the router's :class:`Ticket` from admission to the end of the
response and closes it in ``finally``, so a client that hangs up at any point
(queued, loading, streaming) releases its reservation or its serve lease. The whole
life is one in-flight row (server/inflight.py), whose cancel acts like that hang-up.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from yarl import URL

from llamaswap.errors import Conflict
from llamaswap.process.state import ProcessState
from llamaswap.router.api import RequestInfo, ServeLease
from llamaswap.server.body import RequestBody
from llamaswap.server.inflight import tracked
from llamaswap.server.keys import CLIENTS, LIVE, ROUTER, WEBSOCKETS
from llamaswap.server.loading import LoadingStream
from llamaswap.server.proxy import forward, send
from llamaswap.server.websocket import proxy_websocket


async def serve(
    request: web.Request,
    info: RequestInfo,
    body: RequestBody,
    path_qs: str,
    *,
    loading_state: bool = False,
    arrived: float = 0.0,
    streaming: bool = False,
) -> web.StreamResponse:
    """Admit (a 429 is raised here, before any stream), wait, proxy.

    ``loading_state``: the request qualifies for the loading stream (streamed chat,
    effective ``sendLoadingState``); it starts only if the model was not ready.
    ``streaming``: the client asked for a stream (see ``proxy.send``).
    """
    app = request.app
    clients = app[CLIENTS]
    with tracked(request, info.model_id, path_qs):
        ticket = await app[ROUTER].admit(info)
        try:
            if loading_state and not ticket.ready_at_admission:
                stream = LoadingStream(request, info.model_id, arrived)

                async def send_upstream(lease: ServeLease) -> aiohttp.ClientResponse:
                    url = URL(lease.base_url.rstrip("/") + path_qs, encoded=True)
                    return await send(
                        clients.session(lease.model_id),
                        request,
                        url,
                        body,
                        header_timeout=clients.header_timeout(lease.model_id),
                        streaming=streaming,
                    )

                return await stream.run(ticket, send_upstream)
            lease = await ticket.wait_lease()
            return await forward(
                clients.session(lease.model_id),
                request,
                lease.base_url,
                path_qs,
                body,
                header_timeout=clients.header_timeout(lease.model_id),
                streaming=streaming,
            )
        finally:
            await ticket.close()


def _url(base_url: str, path_qs: str) -> URL:
    return URL(base_url.rstrip("/") + path_qs, encoded=True)


async def serve_websocket(
    request: web.Request, info: RequestInfo, path_qs: str
) -> web.StreamResponse:
    """A websocket upgrade for a local model: through the scheduler (the socket holds
    its serve lease while open), or, with ``compat.ignoreWebsockets``, straight to a
    ready process without touching concurrency, TTL or swap decisions."""
    app = request.app
    model_id = info.model_id
    session = app[CLIENTS].session(model_id)
    model = app[LIVE].config.models[model_id]
    if model.compat.ignore_websockets:
        if app[ROUTER].state(model_id) is not ProcessState.READY:
            raise Conflict(
                f"model {model_id} is not loaded; ignored websocket requests cannot start it"
            )
        return await proxy_websocket(request, session, _url(model.proxy, path_qs), app[WEBSOCKETS])
    with tracked(request, model_id, path_qs):
        ticket = await app[ROUTER].admit(info)
        try:
            lease = await ticket.wait_lease()
            url = _url(lease.base_url, path_qs)
            return await proxy_websocket(request, session, url, app[WEBSOCKETS])
        finally:
            await ticket.close()
