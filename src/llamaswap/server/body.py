"""Request bodies as the proxy forwards them: in memory, spooled to disk, or live.

A body that can be replayed (buffered or spooled) allows the proxy's one retry on a
fresh connection; a live stream cannot be replayed. Spooling keeps large multipart
uploads off the heap; file I/O runs in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from typing import IO

from aiohttp import StreamReader

CHUNK = 256 * 1024
SPOOL_MEMORY_LIMIT = 1024 * 1024
LARGE = 1024 * 1024
"""aiohttp warns about (and blocks the loop on) raw bytes bodies past 1 MiB."""


class BufferedBody:
    """The whole body in memory (JSON bodies, small forms)."""

    replayable = True

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size: int | None = len(data)

    def payload(self) -> bytes | AsyncIterator[bytes]:
        if len(self.data) <= LARGE:
            return self.data
        return self._slices()

    async def _slices(self) -> AsyncIterator[bytes]:
        view = memoryview(self.data)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])

    async def aclose(self) -> None:
        return None


class StreamedBody:
    """The client's body passed through as it arrives (``/upstream`` uploads)."""

    replayable = False

    def __init__(self, content: StreamReader, size: int | None) -> None:
        self._content = content
        self.size = size

    async def payload(self) -> AsyncIterator[bytes]:
        async for chunk in self._content.iter_any():
            yield chunk

    async def aclose(self) -> None:
        return None


class SpooledBody:
    """A body written to memory, then to a temp file past ``SPOOL_MEMORY_LIMIT``.

    ``replace`` swaps one byte span for other bytes when replaying (the multipart
    ``model`` value under ``useModelName``); everything else is forwarded as received.
    """

    replayable = True

    def __init__(self) -> None:
        self._memory = bytearray()
        self._file: IO[bytes] | None = None
        self._written = 0
        self._replace: tuple[int, int, bytes] | None = None

    @property
    def size(self) -> int | None:
        if self._replace is None:
            return self._written
        start, end, data = self._replace
        return self._written - (end - start) + len(data)

    async def write(self, chunk: bytes) -> None:
        if self._file is None and len(self._memory) + len(chunk) <= SPOOL_MEMORY_LIMIT:
            self._memory += chunk
        else:
            if self._file is None:
                self._file = await asyncio.to_thread(tempfile.TemporaryFile)
                pending, self._memory = bytes(self._memory) + chunk, bytearray()
            else:
                pending = chunk
            await asyncio.to_thread(self._file.write, pending)
        self._written += len(chunk)

    def replace(self, start: int, end: int, data: bytes) -> None:
        self._replace = (start, end, data)

    async def _raw(self) -> AsyncIterator[bytes]:
        if self._file is None:
            yield bytes(self._memory)
            return
        f = self._file
        await asyncio.to_thread(f.seek, 0, os.SEEK_SET)
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            yield chunk

    async def payload(self) -> AsyncIterator[bytes]:
        if self._replace is None:
            async for chunk in self._raw():
                yield chunk
            return
        start, end, data = self._replace
        pos = 0
        async for chunk in self._raw():
            chunk_end = pos + len(chunk)
            if chunk_end <= start or pos >= end:
                yield chunk
            else:
                if pos < start:
                    yield chunk[: start - pos]
                if pos <= start < chunk_end:
                    yield data
                if chunk_end > end:
                    yield chunk[end - pos :]
            pos = chunk_end
        if start >= pos:
            yield data

    async def aclose(self) -> None:
        if self._file is not None:
            f, self._file = self._file, None
            await asyncio.to_thread(f.close)


RequestBody = BufferedBody | StreamedBody | SpooledBody
