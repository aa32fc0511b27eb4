"""A websocket echo for passthrough tests (``/ws``).

Text and binary messages come back unchanged. Two text commands help tests see the
wire: ``headers`` answers the handshake's headers as JSON, and ``close:<code>`` makes
the server close with that code. Subprotocols ``echo`` and ``chat`` are accepted.
"""

from __future__ import annotations

import json

from aiohttp import WSMsgType, web

PROTOCOLS = ("echo", "chat")


async def websocket_echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type is WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
        elif msg.type is not WSMsgType.TEXT:
            break
        elif msg.data == "headers":
            await ws.send_str(json.dumps([[k, v] for k, v in request.headers.items()]))
        elif msg.data.startswith("close:"):
            await ws.close(code=int(msg.data.removeprefix("close:")))
            break
        else:
            await ws.send_str(msg.data)
    return ws


def add_routes(app: web.Application) -> None:
    app.router.add_get("/ws", websocket_echo)
