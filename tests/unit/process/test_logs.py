"""LogBuffer: a 100 KiB byte ring with non-blocking, lossy live subscribers."""

from __future__ import annotations

import pytest

from llamaswap.process.logs import HISTORY_BYTES, LogBuffer, dropped_marker


def test_history_keeps_the_last_capacity_bytes() -> None:
    """Ring semantics of observability.md §3.1 with capacity 10."""
    buf = LogBuffer(10)
    buf.write(b"hello")
    buf.write(b"world")
    assert buf.history() == b"helloworld"
    buf.write(b"12345")
    assert buf.history() == b"world12345"
    buf.write(b"0123456789abcdef")
    assert buf.history() == b"6789abcdef"


def test_default_capacity_is_100_kib() -> None:
    """llama-swap's per-model history is 102 400 bytes."""
    buf = LogBuffer()
    buf.write(b"x" * 300_000)
    assert len(buf.history()) == HISTORY_BYTES == 102_400


def test_empty_writes_are_ignored() -> None:
    """An empty write neither reaches subscribers nor the downstream."""
    seen: list[bytes] = []
    buf = LogBuffer(downstream=seen.append)
    sub = buf.subscribe()
    buf.write(b"")
    assert seen == []
    assert sub.get_nowait() is None


def test_downstream_gets_every_write_first() -> None:
    """The downstream (combined log, stdout) sees each write, even when a reader lags."""
    seen: list[bytes] = []
    buf = LogBuffer(4, downstream=seen.append)
    buf.write(b"abc")
    buf.write(b"defgh")
    assert seen == [b"abc", b"defgh"]
    assert buf.history() == b"efgh"


def test_slow_subscriber_drops_and_is_told_how_much() -> None:
    """A full subscriber drops chunks and gets one marker with the byte count before the
    next chunk that fits."""
    buf = LogBuffer()
    sub = buf.subscribe(max_chunks=2)
    for chunk in (b"a1", b"b22", b"c333", b"d4444"):
        buf.write(chunk)
    assert sub.dropped == len(b"c333") + len(b"d4444")
    assert sub.get_nowait() == b"a1"
    assert sub.get_nowait() == b"b22"
    buf.write(b"e")
    assert sub.get_nowait() == dropped_marker(9)
    assert sub.get_nowait() == b"e"
    assert dropped_marker(9) == "\n— 9 bytes dropped —\n".encode()


def test_marker_waits_until_there_is_room_for_it_and_a_chunk() -> None:
    """While only one slot is free, chunks keep being dropped (marker + chunk need two)."""
    buf = LogBuffer()
    sub = buf.subscribe(max_chunks=2)
    buf.write(b"1")
    buf.write(b"2")
    buf.write(b"3")
    assert sub.get_nowait() == b"1"
    buf.write(b"4")
    assert sub.dropped == 2
    assert sub.get_nowait() == b"2"
    buf.write(b"5")
    assert [sub.get_nowait(), sub.get_nowait(), sub.get_nowait()] == [
        dropped_marker(2),
        b"5",
        None,
    ]


async def test_subscription_iterates_until_unsubscribed() -> None:
    """Async iteration yields live chunks in order and ends on unsubscribe."""
    buf = LogBuffer()
    sub = buf.subscribe()
    buf.write(b"one")
    buf.write(b"two")
    got = [await sub.get(), await sub.get()]
    buf.unsubscribe(sub)
    buf.write(b"three")
    assert got == [b"one", b"two"]
    assert [chunk async for chunk in sub] == []


def test_subscription_needs_room_for_a_marker() -> None:
    """max_chunks below 2 could never deliver a drop marker, so it is refused."""
    with pytest.raises(ValueError, match="max_chunks"):
        LogBuffer().subscribe(max_chunks=1)
