"""One upstream ``ClientSession`` per model, built from that model's ``timeouts``.

No total timeout (a generation may run for hours), no connection cap, no automatic
decompression (gzip passes through byte-identical), no cookie jar (the client's own
``Cookie`` header is forwarded as sent) and no auto-added request headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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


class SessionPool:
    """One session per name and ``timeouts``, made on first use (they need the running
    loop). A reload that changes a name's timeouts gets a new session; the old one keeps
    serving the requests already using it and is closed with the pool at shutdown."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], aiohttp.ClientSession] = {}

    def session(self, name: str, timeouts: Timeouts) -> aiohttp.ClientSession:
        key = (name, timeouts.model_dump_json())
        session = self._sessions.get(key)
        if session is None:
            session = new_session(timeouts)
            self._sessions[key] = session
        return session

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)


class UpstreamClients:
    """Sessions for local models; ``config`` returns the current config (reloads)."""

    def __init__(self, config: Callable[[], Config]) -> None:
        self._config = config
        self._pool = SessionPool()

    def _timeouts(self, model_id: str) -> Timeouts:
        model = self._config().models.get(model_id)
        return Timeouts() if model is None else model.timeouts  # removed by a reload

    def session(self, model_id: str) -> aiohttp.ClientSession:
        return self._pool.session(model_id, self._timeouts(model_id))

    def header_timeout(self, model_id: str) -> float:
        return float(self._timeouts(model_id).response_header)

    async def aclose(self) -> None:
        await self._pool.aclose()
