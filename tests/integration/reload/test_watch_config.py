"""``-watch-config`` through the real CLI, polling every 0.1 s (LLAMASWAP_WATCH_INTERVAL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.e2e.conftest import Llamaswap, demo_cmd
from tests.support.ports import free_port_block

from .conftest import StartCli, write_config

pytestmark = pytest.mark.timeout(60)

FAST_POLL = {"LLAMASWAP_WATCH_INTERVAL": "0.1"}


def model(name: str) -> str:
    return f"""  {name}:
    cmd: {demo_cmd(name)}
    proxy: http://127.0.0.1:${{PORT}}
"""


async def listed(ls: Llamaswap) -> list[str]:
    reply = await ls.get("/v1/models")
    assert reply.status == 200, reply.text
    return sorted(m["id"] for m in reply.json()["data"])


async def test_watch_config_reloads_an_edited_config_file(
    start_cli: StartCli, tmp_path: Path
) -> None:
    """Editing the ``-config`` file is picked up by the poller and reloaded."""
    cfg = tmp_path / "config.yaml"
    port = free_port_block(8)
    write_config(cfg, f"startPort: {port}\nmodels:\n{model('alpha')}")
    ls = await start_cli("-config", str(cfg), "-watch-config", env=FAST_POLL)
    await ls.wait_output("watching configuration for changes (poll-based, 0.1s interval)")
    assert (await ls.chat("alpha")).status == 200
    write_config(cfg, f"startPort: {port}\nmodels:\n{model('alpha')}{model('beta')}")
    await ls.wait_output("configuration reloaded")
    assert await listed(ls) == ["alpha", "beta"]
    reply = await ls.chat("beta")
    assert reply.status == 200, reply.text
    assert ls.starts("alpha") == 1


async def test_watch_config_reloads_when_a_config_dir_file_is_added(
    start_cli: StartCli, tmp_path: Path
) -> None:
    """A YAML file added to ``-config-dir`` is merged in by a reload."""
    cfg = tmp_path / "config.yaml"
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    write_config(cfg, f"startPort: {free_port_block(8)}\n")
    write_config(conf_d / "a.yaml", f"models:\n{model('alpha')}")
    ls = await start_cli(
        "-config", str(cfg), "-config-dir", str(conf_d), "-watch-config", env=FAST_POLL
    )
    await ls.wait_output("watching configuration for changes")
    assert await listed(ls) == ["alpha"]
    (conf_d / "notes.txt").write_text("not yaml: never matters\n")
    write_config(conf_d / "b.yml", f"models:\n{model('beta')}")
    await ls.wait_output("configuration reloaded")
    assert await listed(ls) == ["alpha", "beta"]
    assert (await ls.chat("beta")).status == 200
    assert ls.output().count("reloading configuration") == 1
