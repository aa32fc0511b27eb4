"""Free loopback ports so tests never collide.

Ports come from 20000-32767, below Linux's ephemeral range (32768-60999), so an
outgoing connection can never grab a port a test is about to hand to an upstream.
Each test process walks that range from a random start and never hands out the same
port twice, so back-to-back tests (and configs that take ``startPort``, ``startPort``
+1, ...) do not collide; every candidate is still checked with a real bind.
"""

from __future__ import annotations

import os
import random
import socket
import threading

_LOW, _HIGH = 20000, 32768
_lock = threading.Lock()
_next = random.Random(os.getpid()).randrange(_LOW, _HIGH)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _take(n: int) -> int:
    """First port of ``n`` consecutive, currently free ports not handed out before."""
    global _next
    with _lock:
        for _ in range(_HIGH - _LOW):
            if _next + n > _HIGH:
                _next = _LOW
            base = _next
            _next += n
            if all(_bindable(p) for p in range(base, base + n)):
                return base
    raise RuntimeError(f"no block of {n} free ports in {_LOW}-{_HIGH}")


def free_port() -> int:
    """A free port on 127.0.0.1 that this test process has not handed out before."""
    return _take(1)


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports."""
    return [_take(1) for _ in range(n)]


def free_port_block(n: int) -> int:
    """A ``startPort`` whose next ``n`` ports are all free (``${PORT}`` allocation)."""
    return _take(n)
