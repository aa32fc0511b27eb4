"""llama-swap's proxy log lines: ``[<timestamp> ][LEVEL] message``.

``logTimeFormat`` names one of Go's ``time`` layouts (``rfc3339``, ``kitchen``, ...);
an empty or unknown name means no timestamp. ``logLevel`` maps ``warn`` to WARNING.
Lines are written to the proxy log monitor (observe/logmon.py), which decides by
``logToStdout`` whether they are printed too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from llamaswap.observe.loghandler import MonitorHandler
from llamaswap.observe.logmon import LogMonitors

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
LEVEL_NAMES = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "ERROR",
}


def _stamp(digits: int) -> Callable[[datetime], str]:
    def render(t: datetime) -> str:
        frac = f".{t.microsecond:06d}{'000'}"[: digits + 1] if digits else ""
        return f"{t:%b} {t.day:2d} {t:%H:%M:%S}{frac}"

    return render


def _rfc3339(t: datetime, nano: bool = False) -> str:
    text = t.isoformat(timespec="microseconds" if nano and t.microsecond else "seconds")
    if nano and t.microsecond:
        head, _, frac = text.partition(".")
        digits, tz = frac[:6].rstrip("0"), frac[6:]
        text = f"{head}.{digits}{tz}"
    return text.replace("+00:00", "Z")


GO_LAYOUTS: dict[str, Callable[[datetime], str]] = {
    "ansic": lambda t: f"{t:%a %b} {t.day:2d} {t:%H:%M:%S %Y}",
    "unixdate": lambda t: f"{t:%a %b} {t.day:2d} {t:%H:%M:%S %Z %Y}",
    "rubydate": lambda t: f"{t:%a %b %d %H:%M:%S %z %Y}",
    "rfc822": lambda t: f"{t:%d %b %y %H:%M %Z}",
    "rfc822z": lambda t: f"{t:%d %b %y %H:%M %z}",
    "rfc850": lambda t: f"{t:%A, %d-%b-%y %H:%M:%S %Z}",
    "rfc1123": lambda t: f"{t:%a, %d %b %Y %H:%M:%S %Z}",
    "rfc1123z": lambda t: f"{t:%a, %d %b %Y %H:%M:%S %z}",
    "rfc3339": _rfc3339,
    "rfc3339nano": lambda t: _rfc3339(t, nano=True),
    "kitchen": lambda t: f"{t.hour % 12 or 12}:{t:%M%p}",
    "stamp": _stamp(0),
    "stampmilli": _stamp(3),
    "stampmicro": _stamp(6),
    "stampnano": _stamp(9),
}


_installed: list[logging.Handler] = []
"""Handlers this module added, so reconfiguring replaces them and nothing else."""


class GoStyleFormatter(logging.Formatter):
    """``[<timestamp> ][LEVEL] message`` with an optional Go-layout timestamp."""

    def __init__(self, time_format: str = "") -> None:
        super().__init__()
        self._layout = GO_LAYOUTS.get(time_format.strip().lower())

    def format(self, record: logging.LogRecord) -> str:
        level = LEVEL_NAMES.get(record.levelno, record.levelname)
        text = f"[{level}] {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if self._layout is None:
            return text
        stamp = self._layout(datetime.fromtimestamp(record.created).astimezone())
        return f"{stamp} {text}"


def configure_logging(
    level: str,
    time_format: str,
    log_to_stdout: str = "proxy",
    monitors: LogMonitors | None = None,
) -> LogMonitors:
    """(Re)configure the root logger to write into the proxy log monitor.

    Every record becomes one line in ``monitors.proxy`` (kept for ``/logs*``); whether
    it also reaches stdout is the monitors' ``logToStdout`` wiring. Pass the monitors
    of an earlier call to keep their history; returns the monitors in use.
    """
    reset_logging()
    if monitors is None:
        monitors = LogMonitors(log_to_stdout)
    else:
        monitors.log_to_stdout = log_to_stdout
    root = logging.getLogger()
    handler = MonitorHandler(monitors.proxy)
    handler.setFormatter(GoStyleFormatter(time_format))
    _installed.append(handler)
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level.strip().lower(), logging.INFO))
    return monitors


def reset_logging() -> None:
    """Remove the handlers :func:`configure_logging` added (tests, embedding)."""
    root = logging.getLogger()
    while _installed:
        root.removeHandler(_installed.pop())
