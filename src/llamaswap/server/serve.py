"""Admission, the wait for a lease, and the proxy: the life of one routed request.

The handler holds the router's :class:`Ticket` from admission to the end of the
response and closes it in ``finally``, so a client that hangs up at any point
(queued, loading, streaming) releases its reservation or its serve lease.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from yarl import URL

from llamaswap.router.api import RequestInfo, ServeLease
from llamaswap.server.body import RequestBody
from llamaswap.server.keys import CLIENTS, LOADING_STREAMS, ROUTER
from llamaswap.server.loading import LoadingStream
from llamaswap.server.proxy import forward, send


async def serve(
    request: web.Request,
    info: RequestInfo,
    body: RequestBody,
    path_qs: str,
    *,
    loading_state: bool = False,
    arrived: float = 0.0,
) -> web.StreamResponse:
    """Admit (a 429 is raised here, before any stream), wait, proxy.

    ``loading_state``: the request qualifies for the loading stream (streamed chat,
    effective ``sendLoadingState``); it starts only if the model was not ready.
    """
    app = request.app
    clients = app[CLIENTS]
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
                )

            streams = app[LOADING_STREAMS]
            streams.add(stream)
            try:
                return await stream.run(ticket, send_upstream)
            finally:
                streams.discard(stream)
        lease = await ticket.wait_lease()
        return await forward(
            clients.session(lease.model_id),
            request,
            lease.base_url,
            path_qs,
            body,
            header_timeout=clients.header_timeout(lease.model_id),
        )
    finally:
        await ticket.close()
