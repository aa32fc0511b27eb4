"""The in-flight tracker: rows, their JSON, and the updates it publishes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

from llamaswap.observe.events import EventBus, InFlightUpdate
from llamaswap.observe.inflight import InFlightEntry, InFlightTracker, go_time


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _start(tracker: InFlightTracker, cancels: list[str] | None = None) -> InFlightEntry:
    return tracker.start(
        model="m1",
        req_path="/v1/chat/completions",
        method="POST",
        headers={"X-Api-Key": "k", "Cookie": "c", "X-Session-ID": "s1", "User-Agent": "ua"},
        remote_ip="10.0.0.1",
        cancel=(lambda: cancels.append("x")) if cancels is not None else (lambda: None),
    )


def _updates(sub_events: Sequence[object]) -> list[dict[str, object]]:
    return [e.payload for e in sub_events if isinstance(e, InFlightUpdate)]


def test_ids_count_up_from_one_and_start_publishes_an_upsert() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    clock = Clock()
    tracker = InFlightTracker(bus, clock=clock)
    first, second = _start(tracker), _start(tracker)
    assert (first.id, second.id) == ("1", "2")
    clock.now += 1.5
    tracker.finish(first)
    events = [sub.get_nowait() for _ in range(3)]
    payloads = _updates(events)
    assert [p["operation"] for p in payloads] == ["upsert", "upsert", "remove"]
    assert payloads[2] == {"operation": "remove", "id": "1"}
    row = payloads[0]["request"]
    assert isinstance(row, dict)
    assert row["req_headers"] == {
        "X-Api-Key": "[REDACTED]",
        "Cookie": "[REDACTED]",
        "X-Session-ID": "s1",
        "User-Agent": "ua",
    }
    assert row["resp_headers"] == {}
    assert row["resp_bytes"] == 0
    assert "metadata" not in row


def test_snapshot_is_sorted_by_start_and_shows_elapsed_time() -> None:
    clock = Clock()
    tracker = InFlightTracker(EventBus(), clock=clock)
    a = _start(tracker)
    clock.now += 0.25
    _start(tracker)
    clock.now += 0.25
    snap = tracker.snapshot()
    assert snap["operation"] == "snapshot"
    rows = snap["requests"]
    assert [r["id"] for r in rows] == ["1", "2"]
    assert [r["elapsed_ms"] for r in rows] == [500, 250]
    tracker.finish(a)
    tracker.finish(a)  # twice is harmless
    assert [r["id"] for r in tracker.snapshot()["requests"]] == ["2"]


def test_cancel_calls_the_rows_hook_and_unknown_ids_are_refused() -> None:
    tracker = InFlightTracker(EventBus())
    cancels: list[str] = []
    _start(tracker, cancels)
    assert tracker.cancel("1")
    assert cancels == ["x"]
    assert not tracker.cancel("2")


def test_response_headers_are_published_once_written() -> None:
    bus = EventBus()
    tracker = InFlightTracker(bus)
    entry = _start(tracker)
    sub = bus.subscribe()
    tracker.headers_written(entry, {"Content-Type": "text/event-stream", "Set-Cookie": "z"})
    (payload,) = _updates([sub.get_nowait()])
    row = payload["request"]
    assert isinstance(row, dict)
    assert row["resp_headers"] == {"Content-Type": "text/event-stream", "Set-Cookie": "[REDACTED]"}


def test_go_time_trims_the_fraction_and_writes_z_for_utc() -> None:
    moment = datetime(2026, 8, 22, 10, 11, 12, 123400, tzinfo=UTC)
    assert go_time(moment) == "2026-08-22T10:11:12.1234Z"
    plus2 = timezone(timedelta(hours=2))
    assert go_time(datetime(2026, 8, 22, 10, 11, 12, tzinfo=plus2)) == "2026-08-22T10:11:12+02:00"
