"""A ``logging.Handler`` that writes our log records into the proxy log monitor.

This is how llama-swap's own lines (``[INFO] Request ...``) reach ``/logs``,
``/logs/stream/proxy`` and, through the combined monitor, stdout: exactly as formatted
for stdout, one line per record. A ``LogBuffer`` belongs to the event loop's thread,
so a record logged on another thread (a worker, an executor) is handed to the loop
with ``call_soon_threadsafe`` instead of being written from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from llamaswap.process.logs import LogBuffer


class MonitorHandler(logging.Handler):
    """Formats each record and writes ``<line>\\n`` to ``sink``.

    The thread that creates the handler is the one whose event loop owns ``sink``
    (the CLI's main thread); the loop is remembered the first time a record is
    logged while it runs.
    """

    def __init__(self, sink: LogBuffer, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._sink = sink
        self._owner = threading.get_ident()
        self._loop: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = (self.format(record) + "\n").encode("utf-8", errors="replace")
            if threading.get_ident() == self._owner:
                if self._loop is None or self._loop.is_closed():
                    self._remember_loop()
                self._sink.write(data)
            else:
                self._hand_over(data)
        except Exception:
            self.handleError(record)

    def _hand_over(self, data: bytes) -> None:
        loop = self._loop
        if loop is None:
            # No loop has run yet: the owner thread is still setting up, alone.
            self._sink.write(data)
            return
        # A stopped loop loses the record, as any exit does.
        with contextlib.suppress(RuntimeError):  # closed between the check and the call
            if loop.is_running():
                loop.call_soon_threadsafe(self._sink.write, data)

    def _remember_loop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()
