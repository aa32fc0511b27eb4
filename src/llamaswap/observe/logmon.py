"""llama-swap's three long-lived log monitors and the ``logToStdout`` wiring.

``proxy`` holds our own log lines, ``upstream`` every model's output (each process has
its own buffer whose downstream is ``upstream``), ``combined`` what also reaches our
stdout (observability.md §3.2). Each keeps a 100 KiB history whatever ``logToStdout``
says, so ``/logs/stream/proxy`` and ``/logs/stream/upstream`` work even with ``none``.

| logToStdout | proxy ->  | upstream -> | combined -> |
|-------------|-----------|-------------|-------------|
| proxy       | combined  | (nothing)   | stdout      |
| upstream    | (nothing) | combined    | stdout      |
| both        | combined  | combined    | stdout      |
| none        | (nothing) | (nothing)   | (nothing)   |

The monitors are built once per llama-swap run and outlive config reloads; the mode
is fixed at start (llama-swap needs a restart to change it). Writes are synchronous
and never wait on a reader: live subscribers drop what they cannot take
(process/logs.py), and stdout is written by its own thread (stdout_writer.py), so a
stdout nobody reads never stalls the proxy.
Like ``LogBuffer``, use from the event loop's thread only (observe/loghandler.py hands
records from other threads over).
"""

from __future__ import annotations

from collections.abc import Callable

from llamaswap.process.logs import LogBuffer
from llamaswap.stdout_writer import STDOUT

LOG_TO_STDOUT = ("proxy", "upstream", "both", "none")
"""The valid ``logToStdout`` values; anything else falls back to ``proxy``."""


class LogMonitors:
    """``proxy``, ``upstream`` and ``combined``, wired for one ``logToStdout`` value.

    ``stdout`` receives what ``combined`` passes on (None: nothing is printed); by
    default the non-blocking process-wide writer.
    """

    def __init__(
        self,
        log_to_stdout: str = "proxy",
        *,
        stdout: Callable[[bytes], None] | None = STDOUT.write,
    ) -> None:
        self._stdout = stdout
        self._proxy_to_combined = True
        self._upstream_to_combined = False
        self._combined_to_stdout = True
        self._mode = "proxy"
        self.combined = LogBuffer(downstream=self._from_combined)
        self.proxy = LogBuffer(downstream=self._from_proxy)
        self.upstream = LogBuffer(downstream=self._from_upstream)
        self.log_to_stdout = log_to_stdout

    @property
    def log_to_stdout(self) -> str:
        return self._mode

    @log_to_stdout.setter
    def log_to_stdout(self, mode: str) -> None:
        """Rewire; meant for start-up only (the CLI sets it once the config is loaded)."""
        mode = mode if mode in LOG_TO_STDOUT else "proxy"
        self._mode = mode
        self._proxy_to_combined = mode in ("proxy", "both")
        self._upstream_to_combined = mode in ("upstream", "both")
        self._combined_to_stdout = mode != "none"

    def model_log(self) -> LogBuffer:
        """A new per-model buffer whose output also goes to ``upstream``."""
        return LogBuffer(downstream=self.upstream.write)

    def _from_proxy(self, data: bytes) -> None:
        if self._proxy_to_combined:
            self.combined.write(data)

    def _from_upstream(self, data: bytes) -> None:
        if self._upstream_to_combined:
            self.combined.write(data)

    def _from_combined(self, data: bytes) -> None:
        if self._combined_to_stdout and self._stdout is not None:
            self._stdout(data)
