"""The log monitors' ``logToStdout`` wiring and the handler feeding the proxy monitor."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest

from llamaswap.logformat import GoStyleFormatter
from llamaswap.observe.loghandler import MonitorHandler
from llamaswap.observe.logmon import LogMonitors
from llamaswap.process.logs import HISTORY_BYTES, LogBuffer
from llamaswap.stdout_writer import write_stdout
from tests.support.wait import async_wait_until

PROXY, UPSTREAM = b"[INFO] proxy line\n", b"upstream line\n"


def feed(monitors: LogMonitors) -> None:
    monitors.proxy.write(PROXY)
    monitors.upstream.write(UPSTREAM)


@pytest.mark.parametrize(
    ("mode", "printed"),
    [
        ("proxy", PROXY),
        ("upstream", UPSTREAM),
        ("both", PROXY + UPSTREAM),
        ("none", b""),
    ],
)
def test_log_to_stdout_picks_what_is_printed_and_what_logs_shows(mode: str, printed: bytes) -> None:
    """observability.md §3.2: ``combined`` (``/logs``) holds exactly what is printed."""
    out: list[bytes] = []
    monitors = LogMonitors(mode, stdout=out.append)
    feed(monitors)
    assert b"".join(out) == printed, f"logToStdout={mode}: printed {out}"
    assert monitors.combined.history() == printed


@pytest.mark.parametrize("mode", ["proxy", "upstream", "both", "none"])
def test_proxy_and_upstream_histories_are_kept_whatever_is_printed(mode: str) -> None:
    """``/logs/stream/proxy`` and ``/logs/stream/upstream`` never depend on logToStdout."""
    monitors = LogMonitors(mode, stdout=None)
    feed(monitors)
    assert monitors.proxy.history() == PROXY
    assert monitors.upstream.history() == UPSTREAM


def test_unknown_log_to_stdout_falls_back_to_proxy() -> None:
    """The loader rejects bad values; the monitors still never end up half-wired."""
    out: list[bytes] = []
    monitors = LogMonitors("loud", stdout=out.append)
    assert monitors.log_to_stdout == "proxy"
    feed(monitors)
    assert out == [PROXY]


def test_a_models_log_feeds_the_upstream_monitor() -> None:
    """Each process's own buffer passes everything on to ``upstream``."""
    monitors = LogMonitors("upstream", stdout=None)
    model = monitors.model_log()
    model.write(b"model says hi\n")
    assert model.history() == b"model says hi\n"
    assert monitors.upstream.history() == b"model says hi\n"
    assert monitors.combined.history() == b"model says hi\n"


def test_every_monitor_keeps_100_kib() -> None:
    monitors = LogMonitors("both", stdout=None)
    monitors.proxy.write(b"x" * (HISTORY_BYTES + 10))
    assert len(monitors.proxy.history()) == len(monitors.combined.history()) == HISTORY_BYTES


def test_write_stdout_keeps_the_order_of_earlier_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bytes written under ``print``'s text layer still come after what it printed."""
    print("first", end="\n")
    write_stdout(b"second\n")
    assert capsys.readouterr().out == "first\nsecond\n"


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("llamaswap.test_logmon")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
    log.propagate = True
    log.setLevel(logging.NOTSET)


def attach(log: logging.Logger, sink: LogBuffer, time_format: str = "") -> MonitorHandler:
    handler = MonitorHandler(sink)
    handler.setFormatter(GoStyleFormatter(time_format))
    log.addHandler(handler)
    return handler


def test_handler_writes_one_formatted_line_per_record(logger: logging.Logger) -> None:
    sink = LogBuffer()
    attach(logger, sink)
    logger.info("hello %s", "world")
    logger.warning("careful")
    assert sink.history() == b"[INFO] hello world\n[WARN] careful\n"


async def test_records_from_other_threads_are_written_on_the_loop_thread(
    logger: logging.Logger,
) -> None:
    """A LogBuffer is loop-thread only: a worker's record is handed to the loop."""
    writers: list[int] = []
    sink = LogBuffer(downstream=lambda _data: writers.append(threading.get_ident()))
    attach(logger, sink)
    logger.info("on the loop")
    await asyncio.to_thread(logger.info, "from a worker")
    await async_wait_until(lambda: len(writers) == 2, timeout=5, message=lambda: f"{writers}")
    assert writers == [threading.get_ident()] * 2
    assert sink.history() == b"[INFO] on the loop\n[INFO] from a worker\n"


def test_handler_writes_directly_before_any_loop_runs(logger: logging.Logger) -> None:
    """Start-up (config errors) logs before the loop exists; those lines are kept."""
    sink = LogBuffer()
    attach(logger, sink)
    worker = threading.Thread(target=logger.error, args=("no loop yet",))
    worker.start()
    worker.join(timeout=10)
    assert sink.history() == b"[ERROR] no loop yet\n"
