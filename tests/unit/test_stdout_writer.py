"""The stdout writer never blocks its caller and counts what it had to drop."""

from __future__ import annotations

import threading

from llamaswap.stdout_writer import StdoutWriter


class GatedSink:
    """Records writes; blocks (like a full pipe) until ``gate`` is set."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.written: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.entered.set()
        assert self.gate.wait(10), "test never opened the gate"
        self.written.append(data)


def test_writes_beyond_the_limit_are_dropped_counted_and_reported() -> None:
    """A blocked sink: the queue fills to its limit, the rest is dropped (counted) and
    a note follows the queued output once the sink moves again."""
    sink = GatedSink()
    writer = StdoutWriter(sink, limit=10)
    writer.write(b"first\n")
    assert sink.entered.wait(10)  # the thread now holds "first" and is blocked
    writer.write(b"0123456789")  # fills the queue exactly
    writer.write(b"lost")  # over the limit: dropped, the caller does not wait
    assert writer.dropped_bytes == 4
    assert not writer.flush(timeout=0.05), "flush must time out while the sink blocks"
    sink.gate.set()
    assert writer.flush(timeout=10)
    assert sink.written == [
        b"first\n",
        b"0123456789",
        b"[WARN] stdout was not read: 4 bytes of output were dropped\n",
    ]


def test_flush_returns_at_once_when_nothing_was_written() -> None:
    assert StdoutWriter(GatedSink()).flush(timeout=0)


def test_a_failing_sink_does_not_stop_the_writer() -> None:
    """An exception from stdout loses that write only."""
    seen: list[bytes] = []

    def sink(data: bytes) -> None:
        seen.append(data)
        if data == b"boom":
            raise OSError("broken pipe")

    writer = StdoutWriter(sink)
    writer.write(b"boom")
    assert writer.flush(timeout=10)
    writer.write(b"after")
    assert writer.flush(timeout=10)
    assert seen == [b"boom", b"after"]
