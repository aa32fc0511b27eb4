"""Forward requests to peers: remote OpenAI-compatible servers (router.md §6).

Peer requests bypass the scheduler entirely (no admission, queue, swap or TTL). The
URL is the peer's ``proxy`` with the request path appended (its base path kept), the
``Host`` header names the peer, no ``X-Forwarded-*`` header is sent, and a configured
``apiKey`` replaces both ``Authorization`` and ``x-api-key``. A peer that cannot be
reached is a 502 ``peer proxy error: <err>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from llamaswap.config.schema import Config, Timeouts
from llamaswap.errors import UnspecificError
from llamaswap.server.body import BufferedBody, RequestBody, SpooledBody
from llamaswap.server.clients import SessionPool
from llamaswap.server.extract import Extracted
from llamaswap.server.model_field import is_form, replace_form_model, replace_query_model
from llamaswap.server.peer_routes import PeerRoute
from llamaswap.server.proxy import relay, send, upstream_headers
from llamaswap.server.rewrite import apply_filters

PEER_ERROR = "peer proxy error: "
SHUTTING_DOWN = "peer proxy is shutting down"
_FORWARDED = ("X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto")


class PeerClients:
    """One ``ClientSession`` per peer (its own ``timeouts``), and the shutdown gate."""

    def __init__(self, config: Callable[[], Config]) -> None:
        """``config`` returns the current config (a reload may change the peers)."""
        self._config = config
        self._pool = SessionPool()
        self.closing = False

    def _timeouts(self, peer_id: str) -> Timeouts:
        peer = self._config().peers.get(peer_id)
        return Timeouts() if peer is None else peer.timeouts  # removed by a reload

    def session(self, peer_id: str) -> aiohttp.ClientSession:
        return self._pool.session(peer_id, self._timeouts(peer_id))

    def header_timeout(self, peer_id: str) -> float:
        return float(self._timeouts(peer_id).response_header)

    def check_open(self) -> None:
        """New peer requests fail once shutdown began; in-flight ones are drained."""
        if self.closing:
            raise UnspecificError(SHUTTING_DOWN)

    async def aclose(self) -> None:
        await self._pool.aclose()


def peer_headers(request: web.BaseRequest, body: RequestBody, route: PeerRoute) -> CIMultiDict[str]:
    headers = upstream_headers(request, body, forwarded_for=False)
    for name in _FORWARDED:
        headers.popall(name, None)
    headers["Host"] = route.host
    key = route.peer.api_key
    if key:
        headers["Authorization"] = f"Bearer {key}"
        headers["x-api-key"] = key
    return headers


def peer_url(route: PeerRoute, path_qs: str) -> URL:
    return URL(route.peer.proxy.rstrip("/") + path_qs, encoded=True)


async def forward_to_peer(
    request: web.Request, clients: PeerClients, route: PeerRoute, body: RequestBody, path_qs: str
) -> web.StreamResponse:
    """Proxy to the peer and stream its answer back (``X-Accel-Buffering`` on SSE)."""
    clients.check_open()
    upstream = await send(
        clients.session(route.peer_id),
        request,
        peer_url(route, path_qs),
        body,
        header_timeout=clients.header_timeout(route.peer_id),
        headers=peer_headers(request, body, route),
        error_prefix=PEER_ERROR,
    )
    return await relay(request, upstream)


def rewrite_for_peer(
    ext: Extracted, route: PeerRoute, path_qs: str, content_type: str
) -> tuple[RequestBody, str]:
    """The body and path the peer receives: filters on JSON bodies, and the peer's own
    model ID wherever the request named the model differently (an FQN)."""
    forward = route.model if ext.model != route.model else None
    if ext.json_body is not None:
        data = apply_filters(route.peer.filters, ext.model, forward, ext.json_body)
        return (ext.body if data is None else BufferedBody(data)), path_qs
    if forward is None:
        return ext.body, path_qs
    if ext.model_span is not None and isinstance(ext.body, SpooledBody):
        ext.body.replace(*ext.model_span, forward.encode())
        return ext.body, path_qs
    body: RequestBody = ext.body
    if isinstance(body, BufferedBody) and body.size and is_form(content_type):
        body = BufferedBody(replace_form_model(body.data, forward))
    return body, replace_query_model(path_qs, forward)


def peer_model_record(route: PeerRoute, created: int) -> dict[str, Any]:
    """A ``/v1/models`` record for one peer model (features.md §3.3 (3))."""
    return {
        "id": route.fqn,
        "object": "model",
        "created": created,
        "owned_by": "llama-swap",
        "name": f"{route.peer_id}: {route.model}",
        "status": {"value": "unloaded"},
        "meta": {"llamaswap": {"type": "peer", "peerID": route.peer_id}},
    }
