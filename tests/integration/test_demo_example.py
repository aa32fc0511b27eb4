"""The README's first command: ``.venv/bin/llama-swap -config examples/demo.yaml``.

Run as a newcomer runs it: the console script of a virtualenv that was never activated
(no ``VIRTUAL_ENV``, no ``LLAMASWAP_PYTHON``, only system directories on ``PATH``), so
the demo models must find llamaswap's own interpreter by themselves. The shipped file is
used unchanged; a ``-config-dir`` file only moves ``startPort`` off the demo's fixed
5800-5802, which other tests and people may be using.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.error import URLError
from urllib.request import Request, urlopen

import psutil
import pytest

from tests.support.ports import free_port, free_port_block
from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
DEMO_YAML = REPO / "examples" / "demo.yaml"
SCRIPT = Path(sys.executable).parent / "llama-swap"


def _get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    with urlopen(url, timeout=timeout) as resp:
        return int(resp.status), resp.read()


def _post_json(url: str, body: dict[str, object], timeout: float = 30) -> tuple[int, bytes]:
    data = json.dumps(body).encode()
    req = Request(url, data=data, headers={"Content-Type": "application/json"})
    with urlopen(req, timeout=timeout) as resp:
        return int(resp.status), resp.read()


def _healthy(base: str) -> bool:
    try:
        return _get(f"{base}/health", timeout=1)[0] == 200
    except (URLError, OSError):
        return False


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """llamaswap serving examples/demo.yaml; every process it started is gone afterwards."""
    if not SCRIPT.exists():  # pragma: no cover - the dev install always has it
        pytest.skip(f"{SCRIPT} is not installed")
    overrides = tmp_path / "conf.d"
    overrides.mkdir()
    (overrides / "ports.yaml").write_text(f"startPort: {free_port_block(3)}\n")
    listen = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "LLAMASWAP_PYTHON")}
    env["PATH"] = "/usr/bin:/bin"
    log = (tmp_path / "llamaswap.log").open("wb")
    argv = [str(SCRIPT), "-config", str(DEMO_YAML), "-config-dir", str(overrides)]
    proc = subprocess.Popen(
        [*argv, "-listen", f"127.0.0.1:{listen}"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{listen}"
    try:
        wait_until(
            lambda: proc.poll() is not None or _healthy(base),
            timeout=20,
            message=lambda: (tmp_path / "llamaswap.log").read_text(errors="replace"),
        )
        assert proc.poll() is None, (tmp_path / "llamaswap.log").read_text(errors="replace")
        yield base, proc
    finally:
        children = []
        if proc.poll() is None:
            children = psutil.Process(proc.pid).children(recursive=True)
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for child in children:
            if child.is_running():
                child.kill()
        log.close()


def test_demo_config_serves_and_swaps_its_models_from_an_unactivated_venv(
    demo: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """The demo answers through its alias, swaps to the streaming model, and a SIGTERM
    then ends llamaswap with status 0 and no demo process left behind."""
    base, proc = demo
    status, body = _get(f"{base}/v1/models")
    assert status == 200
    ids = [m["id"] for m in json.loads(body)["data"]]
    assert ids == ["chatty", "fast", "slow-start"]

    chat = {"messages": [{"role": "user", "content": "hi"}]}
    status, body = _post_json(f"{base}/v1/chat/completions", {"model": "gpt-4o-mini", **chat})
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"]

    status, body = _post_json(
        f"{base}/v1/chat/completions", {"model": "chatty", "stream": True, **chat}
    )
    assert status == 200
    assert body.rstrip().endswith(b"data: [DONE]")
    status, body = _get(f"{base}/running")
    assert [r["model"] for r in json.loads(body)["running"]] == ["chatty"]

    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "the demo model should be running under llamaswap"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) == 0
    _gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"left running after shutdown: {alive}"
