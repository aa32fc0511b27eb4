"""Reverse-proxy one request to an upstream, streaming both ways (router.md §1.4).

Kept: method, raw path and query, the client's ``Host``, every header but hop-by-hop
ones and ``Expect``, and the body byte for byte. Responses are copied chunk by chunk
as they arrive (``await write`` applies backpressure); a cancelled handler (client
gone) closes the upstream connection. llama-server closes its connection after each
streamed response, so a request that fails on a *reused* pooled connection before any
response byte is retried once on a fresh one when its body can be replayed.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from contextvars import ContextVar
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.client_proto import ResponseHandler
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from llamaswap.errors import BadGateway
from llamaswap.server.body import BufferedBody, RequestBody
from llamaswap.server.keys import BODY_BYTES

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_DROP_REQUEST = HOP_BY_HOP | {"expect", "content-length"}
_DROP_RESPONSE = HOP_BY_HOP
_RETRYABLE = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)

_conn_reused: ContextVar[bool] = ContextVar("llamaswap_conn_reused", default=False)
_conn_proto: ContextVar[ResponseHandler | None] = ContextVar("llamaswap_conn_proto", default=None)
_close_after: ContextVar[bool] = ContextVar("llamaswap_close_after", default=False)


class PoolAwareConnector(aiohttp.TCPConnector):
    """Records, for the calling task, whether ``connect`` handed out a pooled connection."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._seen: weakref.WeakSet[ResponseHandler] = weakref.WeakSet()

    async def connect(
        self,
        req: aiohttp.ClientRequest,
        traces: list[Any],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 (aiohttp's signature)
    ) -> aiohttp.connector.Connection:
        conn = await super().connect(req, traces, timeout)
        proto = conn.protocol
        reused = proto is not None and proto in self._seen
        if proto is not None and not reused:
            self._seen.add(proto)
        _conn_reused.set(reused)
        _conn_proto.set(proto)
        if proto is not None and _close_after.get():
            proto.force_close()
        return conn


def _connection_tokens(headers: CIMultiDictProxy[str]) -> set[str]:
    tokens: set[str] = set()
    for value in headers.getall("Connection", ()):
        tokens.update(t.strip().lower() for t in value.split(","))
    return tokens


def upstream_headers(
    request: web.BaseRequest, body: RequestBody, *, forwarded_for: bool = True
) -> CIMultiDict[str]:
    """Client headers minus hop-by-hop, ``Expect`` and ``Content-Length``, plus XFF
    (local upstreams only: peers get none, see ``peers.peer_headers``)."""
    src = request.headers
    drop = _DROP_REQUEST | _connection_tokens(src) if "Connection" in src else _DROP_REQUEST
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in src.items():
        if key.lower() not in drop:
            out.add(key, value)
    if body.size is not None and (
        body.size > 0 or "Content-Length" in src or request.method not in ("GET", "HEAD")
    ):
        out["Content-Length"] = str(body.size)
    peer = request.remote if forwarded_for else None
    if peer:
        prior = out.getall("X-Forwarded-For", ())
        out.popall("X-Forwarded-For", None)
        out["X-Forwarded-For"] = ", ".join([*prior, peer])
    return out


def response_headers(upstream: aiohttp.ClientResponse) -> CIMultiDict[str]:
    src = upstream.headers
    drop = _DROP_RESPONSE | _connection_tokens(src) if "Connection" in src else _DROP_RESPONSE
    out: CIMultiDict[str] = CIMultiDict()
    for key, value in src.items():
        if key.lower() not in drop:
            out.add(key, value)
    if "text/event-stream" in src.get("Content-Type", ""):
        out["X-Accel-Buffering"] = "no"
    return out


async def send(
    session: aiohttp.ClientSession,
    request: web.BaseRequest,
    url: URL,
    body: RequestBody,
    *,
    header_timeout: float = 0,
    headers: CIMultiDict[str] | None = None,
    error_prefix: str | None = None,
    streaming: bool = False,
) -> aiohttp.ClientResponse:
    """Send the request upstream and return once response headers arrived.

    ``headers`` default to :func:`upstream_headers`. Raises ``BadGateway`` when the
    upstream cannot be reached or answers nothing; ``error_prefix`` (peers: ``peer
    proxy error: ``) replaces the default wording of its message. ``streaming`` (the
    client asked for a stream) keeps the connection out of the pool: llama-server closes
    it after every streamed response, and a reused closing connection would fail the
    next request into a retry. An event-stream answer does the same when it can.
    """
    if headers is None:
        headers = upstream_headers(request, body)
    for attempt in (1, 2):
        _conn_reused.set(False)
        _conn_proto.set(None)
        _close_after.set(streaming)
        payload = None if body.size == 0 else body.payload()
        try:
            if header_timeout > 0:
                async with asyncio.timeout(header_timeout):
                    upstream = await session.request(
                        request.method, url, headers=headers, data=payload, allow_redirects=False
                    )
            else:
                upstream = await session.request(
                    request.method, url, headers=headers, data=payload, allow_redirects=False
                )
            proto = _conn_proto.get()
            if proto is not None and "text/event-stream" in upstream.headers.get(
                "Content-Type", ""
            ):
                proto.force_close()
            return upstream
        except _RETRYABLE as exc:
            if attempt == 1 and _conn_reused.get() and body.replayable:
                log.debug("retrying %s %s on a fresh connection: %r", request.method, url, exc)
                continue
            raise _bad_gateway(error_prefix, "upstream unreachable: ", exc) from exc
        except TimeoutError as exc:
            if error_prefix is not None:
                raise BadGateway(f"{error_prefix}timeout awaiting response headers") from exc
            raise BadGateway("upstream response header timeout") from exc
        except aiohttp.ClientError as exc:
            raise _bad_gateway(error_prefix, "upstream error: ", exc) from exc
    raise AssertionError("unreachable")


def _bad_gateway(prefix: str | None, default: str, exc: Exception) -> BadGateway:
    return BadGateway(f"{default if prefix is None else prefix}{exc}")


async def relay(request: web.BaseRequest, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
    """Copy the upstream response to the client as it arrives; always closes upstream."""
    try:
        resp = web.StreamResponse(
            status=upstream.status, reason=upstream.reason, headers=response_headers(upstream)
        )
        await resp.prepare(request)
        if await copy_body(upstream, resp) or resp.chunked:
            await resp.write_eof()
        elif request.transport is not None:
            request.transport.close()  # a short fixed-length body must look truncated
        return resp
    finally:
        upstream.close()


async def copy_body(upstream: aiohttp.ClientResponse, resp: web.StreamResponse) -> bool:
    """Chunk-by-chunk copy; True when complete, False when the upstream died mid-body.

    A client that went away raises ``ConnectionError`` from ``write`` (aiohttp then
    drops the connection quietly). The bytes copied are added to ``resp[BODY_BYTES]`` as
    they go (the access log and the in-flight table read it), also when the copy ends
    early.
    """
    content = upstream.content
    resp.setdefault(BODY_BYTES, 0)
    while True:
        try:
            chunk = await content.readany()
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
            log.warning("recovered from upstream disconnection during streaming: %r", exc)
            return False
        if not chunk:
            return True
        await resp.write(chunk)
        resp[BODY_BYTES] += len(chunk)


async def forward(
    session: aiohttp.ClientSession,
    request: web.BaseRequest,
    base_url: str,
    path_qs: str,
    body: RequestBody | None = None,
    *,
    header_timeout: float = 0,
    streaming: bool = False,
) -> web.StreamResponse:
    """Proxy ``request`` to ``base_url + path_qs`` (raw, percent-encoding kept)."""
    url = URL(base_url.rstrip("/") + path_qs, encoded=True)
    upstream = await send(
        session,
        request,
        url,
        body or BufferedBody(b""),
        header_timeout=header_timeout,
        streaming=streaming,
    )
    return await relay(request, upstream)
