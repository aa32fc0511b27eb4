"""Incremental multipart/form-data scanner: finds small form fields in a byte stream.

Upload bodies (audio, images) may be large; they are spooled, never held in memory,
so the ``model`` field is found by scanning chunks as they pass. The scanner records
where the ``model`` value sits in the raw stream so ``useModelName`` can replace just
those bytes and forward the rest unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WANTED = frozenset({"model", "stream"})
_MAX_VALUE = 64 * 1024
_MAX_HEADERS = 16 * 1024
_PARAM_RE = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def boundary_of(content_type: str) -> str | None:
    """The ``boundary`` parameter of a multipart Content-Type, if any."""
    for m in _PARAM_RE.finditer(";" + content_type.split(";", 1)[-1]):
        if m.group(1).lower() == "boundary":
            value = m.group(2) if m.group(2) is not None else m.group(3)
            return value or None
    return None


def _disposition(headers: bytes) -> tuple[str | None, bool]:
    """``(field name, has filename)`` from a part's header block."""
    for line in headers.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() != "content-disposition":
            continue
        name: str | None = None
        has_filename = False
        for m in _PARAM_RE.finditer(value):
            param = m.group(1).lower()
            raw = m.group(2) if m.group(2) is not None else m.group(3)
            if param == "name":
                name = raw.replace('\\"', '"')
            elif param in ("filename", "filename*"):
                has_filename = True
        return name, has_filename
    return None, False


@dataclass(slots=True)
class FormFields:
    """What the scan found: field values and the raw byte span of ``model``."""

    values: dict[str, str] = field(default_factory=dict)
    model_span: tuple[int, int] | None = None


class MultipartScanner:
    """Feed raw body chunks in order; read :attr:`fields` when done."""

    def __init__(self, boundary: str) -> None:
        self._delim = b"\r\n--" + boundary.encode("latin-1")
        # A virtual CRLF in front lets the first delimiter match like the others.
        self._buf = bytearray(b"\r\n")
        self._offset = -2  # absolute stream offset of _buf[0]
        self._state = "preamble"
        self._field: str | None = None
        self._value = bytearray()
        self._value_start = 0
        self.fields = FormFields()

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, chunk: bytes) -> None:
        if self._state == "done":
            return
        self._buf += chunk
        while self._step():
            pass

    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._offset += n

    def _step(self) -> bool:
        """Advance one state; False when more input is needed."""
        if self._state in ("preamble", "content"):
            return self._scan_content()
        if self._state == "after_delim":
            if len(self._buf) < 2:
                return False
            if self._buf[:2] == b"--":
                self._state = "done"
                self._buf.clear()
                return False
            eol = self._buf.find(b"\r\n")
            if eol < 0:
                if len(self._buf) > _MAX_HEADERS:
                    self._state = "done"
                return False
            self._consume(eol + 2)
            self._state = "headers"
            return True
        if self._state == "headers":
            return self._scan_headers()
        return False

    def _scan_headers(self) -> bool:
        if self._buf[:2] == b"\r\n":
            headers, end = b"", 2
        else:
            pos = self._buf.find(b"\r\n\r\n")
            if pos < 0:
                if len(self._buf) > _MAX_HEADERS:
                    self._state = "done"
                return False
            headers, end = bytes(self._buf[:pos]), pos + 4
        self._consume(end)
        name, has_filename = _disposition(headers)
        self._field = name if name in _WANTED and not has_filename else None
        self._value.clear()
        self._value_start = self._offset
        self._state = "content"
        return True

    def _scan_content(self) -> bool:
        pos = self._buf.find(self._delim)
        if pos < 0:
            keep = len(self._delim) - 1
            take = max(0, len(self._buf) - keep)
            self._capture(self._buf[:take])
            self._consume(take)
            return False
        self._capture(self._buf[:pos])
        if self._state == "content":
            self._finish_field(self._offset + pos)
        self._consume(pos + len(self._delim))
        self._state = "after_delim"
        return True

    def _capture(self, data: bytearray) -> None:
        if self._state == "content" and self._field is not None:
            if len(self._value) + len(data) > _MAX_VALUE:
                self._field = None
                return
            self._value += data

    def _finish_field(self, end: int) -> None:
        name = self._field
        if name is None or name in self.fields.values:
            return
        self.fields.values[name] = self._value.decode("utf-8", errors="replace")
        if name == "model":
            self.fields.model_span = (self._value_start, end)
