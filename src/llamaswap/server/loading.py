"""The ``sendLoadingState`` stream: progress text while a streamed chat waits for its model.

router.md §2.10 with design.md deviation 6. The 200 ``text/event-stream`` answer starts
at once; the waiting is shown in ``reasoning_content`` deltas (the header typed out in
5-character pieces, a dot every 750 ms, queue positions, remarks). The moment the lease
arrives the ``Done!`` trailer is written and the upstream's body follows unchanged, so
no upstream byte ever waits behind loading text. Any later error, including an
upstream non-200 answer, is one final SSE ``error`` event and ``data: [DONE]``.

At shutdown a loading stream drains like any other request (router.md §2.15): it
gets the upstream's answer if the model becomes ready in time, else the router's
``is shutting down`` error as that final event.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from llamaswap.errors import LlamaSwapError
from llamaswap.router.api import ServeLease, Ticket
from llamaswap.server import gojson
from llamaswap.server.errors import error_object
from llamaswap.server.keys import BODY_BYTES
from llamaswap.server.proxy import copy_body
from llamaswap.server.remarks import REMARKS

RULE = "━━━━━\n"
DOT_INTERVAL = 0.75
TYPE_INTERVAL = 5 / 75  # 5 characters at about 75 characters per second
MAX_ERROR_BODY = 64 * 1024

SendUpstream = Callable[[ServeLease], Awaitable[aiohttp.ClientResponse]]


def reasoning_event(text: str) -> bytes:
    delta = {"choices": [{"delta": {"reasoning_content": text}}]}
    return b"data: " + gojson.encode(delta) + b"\n\n"


def error_event(status: int, message: str, code: str | None = None) -> bytes:
    err = error_object(status, message, code)
    payload = {"error": {"message": err["message"], "type": err["type"], "code": err["code"]}}
    return b"data: " + gojson.encode(payload) + b"\n\ndata: [DONE]\n\n"


def done_trailer(seconds: float) -> bytes:
    return b"".join(reasoning_event(t) for t in ("\n", f"Done! ({seconds:.2f}s)\n", RULE, " \n"))


def upstream_error_message(status: int, body: bytes) -> str:
    """The upstream's own error message when it sent an OpenAI-style body, else its text."""
    try:
        obj = json.loads(body)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        err = obj.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
    text = body.decode("utf-8", errors="replace").strip()
    return text or f"upstream answered {status}"


class LoadingStream:
    """One loading-state response."""

    def __init__(self, request: web.Request, model_id: str, arrived: float) -> None:
        self._request = request
        self._model_id = model_id
        self._arrived = arrived
        self._resp = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            },
        )
        self._position: int | None = None
        self._shown_position: int | None = None

    async def _write(self, data: bytes) -> None:
        """Write loading text, counted for the access log like upstream bytes."""
        await self._resp.write(data)
        self._resp[BODY_BYTES] = self._resp.get(BODY_BYTES, 0) + len(data)

    def _on_queue_position(self, position: int) -> None:
        self._position = position

    async def run(self, ticket: Ticket, send_upstream: SendUpstream) -> web.StreamResponse:
        resp = self._resp
        await resp.prepare(self._request)
        try:
            lease = await self._wait_with_progress(ticket)
            await self._write(done_trailer(time.monotonic() - self._arrived))
            upstream = await send_upstream(lease)
            try:
                if upstream.status != 200:
                    body = await upstream.content.read(MAX_ERROR_BODY)
                    message = upstream_error_message(upstream.status, body)
                    await self._write(error_event(upstream.status, message))
                else:
                    await copy_body(upstream, resp)
            finally:
                upstream.close()
        except LlamaSwapError as err:
            await self._write(reasoning_event("\n"))
            await self._write(error_event(err.status, err.message, err.code))
        await resp.write_eof()
        return resp

    async def _wait_with_progress(self, ticket: Ticket) -> ServeLease:
        lease_task = asyncio.ensure_future(ticket.wait_lease(self._on_queue_position))
        pending = deque(_pieces(RULE + f"llama-swap loading model: {self._model_id}\n"))
        now = time.monotonic()
        next_dot = now + DOT_INTERVAL
        next_remark = now + random.uniform(2, 5)
        try:
            # The first piece goes out at once: the client sees the loader immediately.
            await self._write(reasoning_event(pending.popleft()))
            while True:
                delay = TYPE_INTERVAL if pending else max(0.0, next_dot - time.monotonic())
                await asyncio.wait({lease_task}, timeout=delay)
                if lease_task.done():
                    return lease_task.result()
                if pending:
                    await self._write(reasoning_event(pending.popleft()))
                    continue
                now = time.monotonic()
                if now < next_dot:
                    continue
                next_dot = now + DOT_INTERVAL
                if self._position is not None and self._position != self._shown_position:
                    self._shown_position = self._position
                    text = f"\nQueue position: #{self._position} "
                elif now >= next_remark:
                    next_remark = now + random.uniform(5, 9)
                    text = f"\n{random.choice(REMARKS)} "
                else:
                    text = "."
                await self._write(reasoning_event(text))
        finally:
            if not lease_task.done():
                lease_task.cancel()
                await asyncio.wait({lease_task})
            if not lease_task.cancelled():
                lease_task.exception()  # retrieved: the caller saw it or ticket.close() handles it


def _pieces(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]
