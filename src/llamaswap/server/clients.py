"""One upstream ``ClientSession`` per model, built from that model's ``timeouts``.

No total timeout (a generation may run for hours), no connection cap, no automatic
decompression (gzip passes through byte-identical), no cookie jar (the client's own
``Cookie`` header is forwarded as sent) and no auto-added request headers.
"""

from __future__ import annotations

import asyncio

import aiohttp

from llamaswap.config.schema import Config, Timeouts
from llamaswap.server.proxy import PoolAwareConnector

_SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


def _seconds(value: int) -> float | None:
    return float(value) if value > 0 else None


def new_session(timeouts: Timeouts) -> aiohttp.ClientSession:
    connector = PoolAwareConnector(
        limit=0,
        keepalive_timeout=_seconds(timeouts.idle_conn),
        enable_cleanup_closed=False,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=_seconds(timeouts.connect), sock_read=None
        ),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=_SKIP_AUTO_HEADERS,
        read_bufsize=256 * 1024,
    )


class UpstreamClients:
    """Sessions keyed by model ID, made on first use (they need the running loop)."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    def session(self, model_id: str) -> aiohttp.ClientSession:
        session = self._sessions.get(model_id)
        if session is None:
            session = new_session(self._config.models[model_id].timeouts)
            self._sessions[model_id] = session
        return session

    def header_timeout(self, model_id: str) -> float:
        return float(self._config.models[model_id].timeouts.response_header)

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
