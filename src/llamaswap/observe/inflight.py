"""Which model requests are running right now (observability.md §8).

The tracker holds one :class:`InFlightEntry` per model-dispatched request, from the
moment the handler starts (so queued requests show) until it returns, and publishes
each change as an ``inflight`` update on the event bus. Everything is an O(1) dict
operation plus a non-blocking publish, so it costs the proxy path nothing measurable.
``cancel(id)`` calls the request's cancel hook (the server cancels the handler task,
which the scheduler and the proxy treat exactly like a client hanging up).
Use from the event loop's thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from llamaswap.observe.events import EventBus, InFlightUpdate

REDACTED = "[REDACTED]"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


def go_time(moment: datetime) -> str:
    """RFC 3339 with the local offset and trimmed fraction, as Go's ``time`` marshals
    (``Z`` for UTC)."""
    text = moment.isoformat(timespec="microseconds")
    head, dot, rest = text.partition(".")
    if dot:
        digits, offset = rest[:6], rest[6:]
        digits = digits.rstrip("0")
        text = head + ("." + digits if digits else "") + offset
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """First value per header name, credentials replaced (§7.1)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name in out:
            continue
        out[name] = REDACTED if name.lower() in SENSITIVE_HEADERS else value
    return out


@dataclass(slots=True)
class InFlightEntry:
    id: str
    timestamp: datetime
    started: float
    """``time.monotonic()`` at start, for ``elapsed_ms``."""
    model: str
    req_path: str
    method: str
    headers: Mapping[str, str]
    """The request's headers as received; redacted only when a row is published."""
    remote_ip: str
    cancel: Callable[[], None]
    resp_headers: dict[str, str] = field(default_factory=dict)
    bytes_sent: Callable[[], int] | None = None
    """Live count of the bytes written to the client (set once the response started)."""
    published_bytes: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    _req_headers: dict[str, str] | None = None

    @property
    def req_headers(self) -> dict[str, str]:
        """Redacted on first use: with nobody on ``/api/events`` no row is ever built,
        so a request pays nothing for it."""
        if self._req_headers is None:
            self._req_headers = redacted_headers(self.headers)
        return self._req_headers

    @property
    def resp_bytes(self) -> int:
        return 0 if self.bytes_sent is None else self.bytes_sent()

    def to_json(self, now: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "timestamp": go_time(self.timestamp),
            "model": self.model,
            "req_path": self.req_path,
            "method": self.method,
            "req_headers": self.req_headers,
            "remote_ip": self.remote_ip,
            "resp_headers": self.resp_headers,
            "resp_bytes": self.resp_bytes,
            "elapsed_ms": max(0, int((now - self.started) * 1000)),
        }
        if self.metadata:
            out["metadata"] = self.metadata
        return out


class InFlightTracker:
    """The live entries; ids count up from ``"1"`` for the life of the tracker."""

    def __init__(self, bus: EventBus, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._bus = bus
        self._clock = clock
        self._entries: dict[str, InFlightEntry] = {}
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, entry_id: str) -> InFlightEntry | None:
        return self._entries.get(entry_id)

    def start(
        self,
        *,
        model: str,
        req_path: str,
        method: str,
        headers: Mapping[str, str],
        remote_ip: str,
        cancel: Callable[[], None],
    ) -> InFlightEntry:
        """Add an entry and publish its ``upsert``."""
        entry = InFlightEntry(
            id=str(self._next_id),
            timestamp=datetime.now().astimezone(),
            started=self._clock(),
            model=model,
            req_path=req_path,
            method=method,
            headers=headers,
            remote_ip=remote_ip,
            cancel=cancel,
        )
        self._next_id += 1
        self._entries[entry.id] = entry
        self._upsert(entry)
        return entry

    def headers_written(self, entry: InFlightEntry, headers: Mapping[str, str]) -> None:
        """The response header went out: record it and publish at once."""
        if entry.id not in self._entries:
            return
        entry.resp_headers = redacted_headers(headers)
        self._upsert(entry)

    def publish_progress(self) -> None:
        """One ``upsert`` for each entry whose body grew since its last update: called
        every 250 ms while someone listens, so a streaming row shows its bytes with at
        most one update per request per window."""
        if not len(self._bus):
            return
        for entry in list(self._entries.values()):
            if entry.resp_bytes != entry.published_bytes:
                self._upsert(entry)

    def finish(self, entry: InFlightEntry) -> None:
        """Remove the entry (the handler returned, failed or was cancelled)."""
        if self._entries.pop(entry.id, None) is not None and len(self._bus):
            self._bus.publish(InFlightUpdate({"operation": "remove", "id": entry.id}))

    def cancel(self, entry_id: str) -> bool:
        """Call the request's cancel hook; False when no such request is in flight."""
        entry = self._entries.get(entry_id)
        if entry is None:
            return False
        entry.cancel()
        return True

    def snapshot(self) -> dict[str, Any]:
        """``{"operation":"snapshot","requests":[...]}`` sorted by start, then id."""
        now = self._clock()
        entries = sorted(self._entries.values(), key=lambda e: (e.started, int(e.id)))
        return {"operation": "snapshot", "requests": [e.to_json(now) for e in entries]}

    def _upsert(self, entry: InFlightEntry) -> None:
        if not len(self._bus):
            return  # nobody listens: skip building the payload
        entry.published_bytes = entry.resp_bytes
        payload = {"operation": "upsert", "request": entry.to_json(self._clock())}
        self._bus.publish(InFlightUpdate(payload))
