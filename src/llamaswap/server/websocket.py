"""WebSocket passthrough for ``/upstream/<model>/...`` and ``/comfyui/...`` (router.md §2.14).

The upstream handshake comes first, with the client's headers and offered
subprotocols, so the client is told the subprotocol the upstream chose; an upstream
that refuses the upgrade has its status passed back. Messages are then relayed both
ways until either side closes, and the close code is carried across. Live sockets
register in :class:`WebSockets` so shutdown closes them instead of waiting them out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from multidict import CIMultiDict
from yarl import URL

from llamaswap.errors import BadGateway
from llamaswap.server.body import BufferedBody
from llamaswap.server.proxy import upstream_headers

log = logging.getLogger(__name__)

_HANDSHAKE_HEADERS = (
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Accept",
)
_UNSENDABLE_CLOSE = {1005: WSCloseCode.OK, 1006: WSCloseCode.INTERNAL_ERROR, 1015: 1011}
"""Close codes that only describe a connection and may not be sent in a frame."""

Socket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


def _tokens(request: web.BaseRequest, name: str) -> set[str]:
    return {
        part.strip().lower()
        for value in request.headers.getall(name, ())
        for part in value.split(",")
    }


def is_websocket_upgrade(request: web.BaseRequest) -> bool:
    """``Connection: upgrade`` and ``Upgrade: websocket`` (tokens, any case)."""
    if "Upgrade" not in request.headers:
        return False
    return "upgrade" in _tokens(request, "Connection") and "websocket" in _tokens(
        request, "Upgrade"
    )


class WebSockets:
    """The live client sockets, so ``on_shutdown`` can close them."""

    def __init__(self) -> None:
        self._sockets: set[web.WebSocketResponse] = set()

    def add(self, ws: web.WebSocketResponse) -> None:
        self._sockets.add(ws)

    def discard(self, ws: web.WebSocketResponse) -> None:
        self._sockets.discard(ws)

    async def close_all(self) -> None:
        sockets = list(self._sockets)
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets),
            return_exceptions=True,
        )


def _handshake_headers(
    request: web.BaseRequest, headers: CIMultiDict[str] | None
) -> CIMultiDict[str]:
    if headers is None:
        headers = upstream_headers(request, BufferedBody(b""))
    for name in (*_HANDSHAKE_HEADERS, "Content-Length"):
        headers.popall(name, None)
    return headers


def _offered_protocols(request: web.BaseRequest) -> list[str]:
    offered = request.headers.getall("Sec-WebSocket-Protocol", ())
    return [p.strip() for value in offered for p in value.split(",") if p.strip()]


async def proxy_websocket(
    request: web.Request,
    session: aiohttp.ClientSession,
    url: URL,
    registry: WebSockets,
    *,
    headers: CIMultiDict[str] | None = None,
) -> web.StreamResponse:
    """Open ``url`` as a websocket, accept the client's, relay until one side closes.

    ``headers`` (peers: ``peers.peer_headers``) are the forwarded handshake headers;
    by default the client's, with its ``Host`` kept and ``X-Forwarded-For`` appended.
    """
    try:
        upstream = await session.ws_connect(
            url,
            protocols=_offered_protocols(request),
            headers=_handshake_headers(request, headers),
            autoclose=False,
            max_msg_size=0,
        )
    except aiohttp.WSServerHandshakeError as exc:
        return web.Response(status=exc.status, text=exc.message)
    except aiohttp.ClientError as exc:
        raise BadGateway(f"upstream websocket error: {exc}") from exc
    try:
        chosen = upstream.protocol
        client = web.WebSocketResponse(
            protocols=(chosen,) if chosen else (),
            autoclose=False,
            max_msg_size=0,
            compress=False,
        )
        await client.prepare(request)
        registry.add(client)
        try:
            await _relay(client, upstream)
        finally:
            registry.discard(client)
        return client
    finally:
        if not upstream.closed:
            await upstream.close()


async def _relay(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse) -> None:
    """Pump both directions; the first side to close closes the other with its code."""
    to_upstream = asyncio.ensure_future(_pump(client, upstream))
    to_client = asyncio.ensure_future(_pump(upstream, client))
    pumps = {to_upstream, to_client}
    try:
        done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
    source, other = (client, upstream) if to_upstream in done else (upstream, client)
    code = source.close_code
    await _close(other, code)
    await _close(source, code)


async def _pump(source: Socket, sink: Socket) -> None:
    send: dict[WSMsgType, Callable[..., Awaitable[None]]] = {
        WSMsgType.TEXT: sink.send_str,
        WSMsgType.BINARY: sink.send_bytes,
    }
    while True:
        msg = await source.receive()
        sender = send.get(msg.type)
        if sender is not None:
            await sender(msg.data)
        elif msg.type in (WSMsgType.PING, WSMsgType.PONG):
            continue
        else:  # CLOSE, CLOSING, CLOSED, ERROR
            if msg.type is WSMsgType.ERROR:
                log.debug("websocket relay error: %r", msg.data)
            return


async def _close(ws: Socket, code: int | None) -> None:
    if ws.closed:
        return
    code = WSCloseCode.OK if code is None else _UNSENDABLE_CLOSE.get(code, code)
    try:
        await ws.close(code=code)
    except (ConnectionError, RuntimeError) as exc:
        log.debug("closing websocket: %r", exc)
