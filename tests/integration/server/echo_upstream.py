"""A fake upstream for proxy tests: echoes what it received, streams, gzips, counts hangups.

Run as ``python -m tests.integration.server.echo_upstream --port N``. It reports what
the proxy really sent (raw path, headers, body sha256) so tests assert on the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json

from aiohttp import web

GZIP_BODY = gzip.compress(b'{"hello": "gzip"}' * 200, mtime=0)
STATS = web.AppKey("stats", dict)


async def echo(request: web.Request) -> web.Response:
    digest = hashlib.sha256()
    length = 0
    async for chunk in request.content.iter_any():
        digest.update(chunk)
        length += len(chunk)
    return web.json_response(
        {
            "method": request.method,
            "raw_path": request.raw_path,
            "headers": list(request.headers.items()),
            "sha256": digest.hexdigest(),
            "length": length,
        }
    )


async def sse(request: web.Request) -> web.StreamResponse:
    forced = request.headers.get("X-Echo-Status")
    if forced:
        return web.json_response({"error": {"message": "forced failure"}}, status=int(forced))
    n = int(request.query.get("n", "5"))
    interval = float(request.query.get("interval", "0"))
    stats = request.app[STATS]
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    stats["active"] += 1
    try:
        for i in range(n):
            await resp.write(f"data: {json.dumps({'i': i})}\n\n".encode())
            if interval:
                await asyncio.sleep(interval)
        await resp.write(b"data: [DONE]\n\n")
        stats["completed"] += 1
    except (asyncio.CancelledError, ConnectionError):
        stats["disconnects"] += 1
        raise
    finally:
        stats["active"] -= 1
    await resp.write_eof()
    return resp


async def gzipped(request: web.Request) -> web.Response:
    return web.Response(
        body=GZIP_BODY,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )


async def status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    return web.json_response({"error": {"message": f"upstream says {code}"}}, status=code)


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS])


async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


def make_app() -> web.Application:
    app = web.Application(client_max_size=0)
    app[STATS] = {"active": 0, "completed": 0, "disconnects": 0}
    app.router.add_get("/health", health)
    app.router.add_get("/stats", stats)
    app.router.add_get("/gzip", gzipped)
    app.router.add_route("*", "/status/{code}", status)
    app.router.add_route("*", "/sse", sse)
    app.router.add_route("*", "/v1/chat/completions", sse)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port, print=None, handler_cancellation=True)


if __name__ == "__main__":
    main()
