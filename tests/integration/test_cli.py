"""The real ``llama-swap`` console script from the virtualenv, never activated.

Only paths that exit before serving are run here; serving is the runner's tests' job.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "llama-swap"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=30, env=env, check=False
    )


@pytest.fixture(autouse=True)
def needs_script() -> None:
    if not SCRIPT.exists():  # pragma: no cover - the dev install always has it
        pytest.skip(f"{SCRIPT} is not installed")


def test_broken_config_exits_1_naming_file_key_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("models:\n  qwen:\n    cmd: llama-server --port ${PORT}\n    ttl: -5\n")
    result = run_cli("-config", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    want = (
        f"{path}: models.qwen.ttl: invalid TTL value -5; use -1 (globalTTL), 0 (never) or seconds"
    )
    assert want in result.stdout, result.stdout + result.stderr


def test_version_exits_0() -> None:
    result = run_cli("-version")
    assert result.returncode == 0
    assert result.stdout.startswith("version: ")


def test_help_exits_0_with_usage() -> None:
    result = run_cli("-h")
    assert result.returncode == 0
    assert result.stderr.startswith("Usage of llama-swap:")


def test_unknown_flag_exits_2_with_usage() -> None:
    result = run_cli("--no-such-flag")
    assert result.returncode == 2
    assert "flag provided but not defined: -no-such-flag" in result.stderr
    assert "Usage of llama-swap:" in result.stderr


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llamaswap", "-version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("version: ")
