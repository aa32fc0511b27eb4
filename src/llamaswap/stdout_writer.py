"""Our stdout, written by one thread so a stalled reader never stalls the event loop.

Log lines and echoed upstream output are queued (bounded by bytes) and written by a
daemon thread. When stdout is not being read (a full pipe, a stopped terminal) the
thread blocks, not the proxy; once the queue is full, further output is dropped and
counted, and a note saying how much was lost is written when stdout moves again.
``STDOUT.flush`` waits (with a timeout) for what was queued; the CLI calls it before
it returns and at interpreter exit, so short runs lose nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

QUEUE_LIMIT = 1024 * 1024
"""Bytes waiting for stdout before new output is dropped."""
EXIT_FLUSH_S = 2.0


def write_stdout(data: bytes) -> None:
    """Write to ``sys.stdout`` now, blocking; looked up per call (tests and embedders
    may replace ``sys.stdout``). Text ``print()``ed earlier goes out first."""
    out = sys.stdout
    if out is None:
        return
    with contextlib.suppress(OSError, ValueError):
        buffer = getattr(out, "buffer", None)
        if buffer is None:
            out.write(data.decode("utf-8", errors="replace"))
        else:
            out.flush()
            buffer.write(data)
            buffer.flush()


class StdoutWriter:
    """A bounded byte queue in front of ``sink``, drained by one daemon thread.

    ``write`` never blocks (the lock is only held to append), so it is safe on the
    event loop; the thread starts with the first write.
    """

    def __init__(self, sink: Callable[[bytes], None], *, limit: int = QUEUE_LIMIT) -> None:
        self._sink = sink
        self._limit = limit
        self._cond = threading.Condition()
        self._pending: deque[bytes] = deque()
        self._pending_bytes = 0
        self._queued = 0
        self._written = 0
        self._unreported_drops = 0
        self._thread: threading.Thread | None = None
        self.dropped_bytes = 0
        """Output lost because the queue was full, since start."""

    def write(self, data: bytes) -> None:
        if not data:
            return
        with self._cond:
            if self._pending_bytes + len(data) > self._limit:
                self.dropped_bytes += len(data)
                self._unreported_drops += len(data)
                return
            self._pending.append(data)
            self._pending_bytes += len(data)
            self._queued += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._drain, name="stdout-writer", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float = EXIT_FLUSH_S) -> bool:
        """Wait until everything queued so far is written; False after ``timeout``.

        Blocks: call it outside the event loop (exit paths, tests)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._queued
            while self._written < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _drain(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                chunks = list(self._pending)
                self._pending.clear()
                self._pending_bytes = 0
                dropped, self._unreported_drops = self._unreported_drops, 0
            self._write(b"".join(chunks))
            if dropped:
                note = f"[WARN] stdout was not read: {dropped} bytes of output were dropped\n"
                self._write(note.encode())
            with self._cond:
                self._written += len(chunks)
                self._cond.notify_all()

    def _write(self, data: bytes) -> None:
        try:
            self._sink(data)
        except Exception:  # a broken stdout must not end the thread
            return


STDOUT = StdoutWriter(write_stdout)
"""The process's one stdout writer: log lines and echoed upstream output."""
atexit.register(STDOUT.flush)
