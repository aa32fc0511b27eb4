"""SIGHUP reload through the real CLI: unchanged models keep running, the rest follow
the new config (design.md deviation 1)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.integration.e2e.conftest import Llamaswap, chat_body, demo_cmd
from tests.support.ports import free_port_block
from tests.support.wait import async_wait_until

from .conftest import StartCli, pid_of, write_config

pytestmark = pytest.mark.timeout(60)

SLOW_STREAM = ("--stream-chunks", "20", "--stream-interval", "0.1")


def model(name: str, *switches: str, extra: str = "") -> str:
    return f"""  {name}:
    cmd: {demo_cmd(name, *switches)}
    proxy: http://127.0.0.1:${{PORT}}
{extra}"""


def config(start_port: int, *models: str, head: str = "") -> str:
    """A config with a fixed ``startPort``, so a rewrite keeps every model's port."""
    return f"startPort: {start_port}\n{head}models:\n" + "".join(models)


async def reload_via_sighup(ls: Llamaswap) -> None:
    done = ls.output().count("configuration reloaded")
    ls.send_signal(signal.SIGHUP)
    await ls.wait_output("received SIGHUP, reloading config")

    async def reloaded() -> bool:
        return ls.output().count("configuration reloaded") > done

    await async_wait_until(reloaded, timeout=10, message=lambda: ls.output())


async def model_ids(ls: Llamaswap) -> list[str]:
    reply = await ls.get("/v1/models")
    assert reply.status == 200, reply.text
    return sorted(m["id"] for m in reply.json()["data"])


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "config.yaml"


async def test_unchanged_model_keeps_its_pid_and_its_stream_across_sighup(
    start_cli: StartCli, cfg: Path
) -> None:
    """A running model whose config did not change keeps its process; a stream running
    through it during the reload is not interrupted."""
    port = free_port_block(8)
    write_config(cfg, config(port, model("alpha", *SLOW_STREAM), model("beta")))
    ls = await start_cli("-config", str(cfg))
    async with ls.session.post(
        ls.url + "/v1/chat/completions", json=chat_body("alpha", stream=True)
    ) as resp:
        assert resp.status == 200
        first = await resp.content.readany()
        pid = pid_of(ls, "alpha")
        write_config(cfg, config(port, model("alpha", *SLOW_STREAM), model("beta", "--x", "1")))
        await reload_via_sighup(ls)
        rest = await resp.content.read()
    body = first + rest
    assert body.count(b'"content"') >= 20, body
    assert body.endswith(b"data: [DONE]\n\n"), body[-200:]
    assert pid_of(ls, "alpha") == pid
    reply = await ls.chat("alpha")
    assert reply.status == 200, reply.text
    assert ls.starts("alpha") == 1, "an unchanged model must not be restarted"


async def test_changed_model_finishes_its_stream_then_restarts_with_the_new_cmd(
    start_cli: StartCli, cfg: Path
) -> None:
    """A changed model is drained (its stream ends normally), stopped, and the next
    request starts it with the new command."""
    port = free_port_block(8)
    write_config(cfg, config(port, model("alpha", *SLOW_STREAM)))
    ls = await start_cli("-config", str(cfg))
    async with ls.session.post(
        ls.url + "/v1/chat/completions", json=chat_body("alpha", stream=True)
    ) as resp:
        assert resp.status == 200
        first = await resp.content.readany()
        old_pid = pid_of(ls, "alpha")
        write_config(cfg, config(port, model("alpha", "--request-delay", "0.01")))
        await reload_via_sighup(ls)
        rest = await resp.content.read()
    body = first + rest
    assert body.count(b'"content"') >= 20, body
    assert body.endswith(b"data: [DONE]\n\n"), body[-200:]
    reply = await ls.chat("alpha")
    assert reply.status == 200, reply.text
    new_pid = pid_of(ls, "alpha")
    assert new_pid != old_pid
    argv = next(p.cmdline() for p in ls.children() if p.pid == new_pid)
    assert "--request-delay" in argv, argv
    assert ls.starts("alpha") == 2


async def test_removed_model_finishes_its_stream_is_stopped_and_then_answers_404(
    start_cli: StartCli, cfg: Path
) -> None:
    """A model the new config lacks serves its stream to the end, is stopped, and
    requests for it are 404 afterwards."""
    port = free_port_block(8)
    write_config(cfg, config(port, model("alpha", *SLOW_STREAM), model("beta")))
    ls = await start_cli("-config", str(cfg))
    async with ls.session.post(
        ls.url + "/v1/chat/completions", json=chat_body("alpha", stream=True)
    ) as resp:
        assert resp.status == 200
        first = await resp.content.readany()
        write_config(cfg, config(port, model("beta")))
        await reload_via_sighup(ls)
        assert await model_ids(ls) == ["beta"]
        rest = await resp.content.read()
    body = first + rest
    assert body.count(b'"content"') >= 20, body
    assert body.endswith(b"data: [DONE]\n\n"), body[-200:]
    await ls.wait_no_children(within=10)
    reply = await ls.chat("alpha")
    assert reply.status == 404, reply.text
    assert "alpha" not in await ls.running()


async def test_new_model_and_its_alias_become_routable(start_cli: StartCli, cfg: Path) -> None:
    """A model added by the reload is listed and served, also under its new alias."""
    port = free_port_block(8)
    write_config(cfg, config(port, model("alpha")))
    ls = await start_cli("-config", str(cfg))
    assert (await ls.chat("alpha")).status == 200
    added = model("gamma", extra="    aliases: [gee]\n")
    write_config(cfg, config(port, model("alpha"), added))
    await reload_via_sighup(ls)
    assert await model_ids(ls) == ["alpha", "gamma"]
    reply = await ls.chat("gee")
    assert reply.status == 200, reply.text
    assert ls.starts("gamma") == 1


async def test_invalid_config_changes_nothing_and_logs_why(start_cli: StartCli, cfg: Path) -> None:
    """A config that fails to load is reported and the running one stays in use."""
    port = free_port_block(8)
    write_config(cfg, config(port, model("alpha")))
    ls = await start_cli("-config", str(cfg))
    assert (await ls.chat("alpha")).status == 200
    pid = pid_of(ls, "alpha")
    write_config(cfg, config(port, model("alpha"), model("beta", extra="    ttl: -5\n")))
    ls.send_signal(signal.SIGHUP)
    await ls.wait_output("failed to reload config:")
    assert "models.beta.ttl" in ls.output()
    assert "configuration reloaded" not in ls.output()
    assert await model_ids(ls) == ["alpha"]
    assert (await ls.chat("alpha")).status == 200
    assert pid_of(ls, "alpha") == pid


async def test_a_reload_while_one_runs_is_dropped(start_cli: StartCli, cfg: Path) -> None:
    """A trigger arriving while a reload is in progress is dropped, not queued."""
    port = free_port_block(8)
    slow_stop = model("alpha", "--sigterm-delay", "3", extra="    unloadTimeout: 20\n")
    write_config(cfg, config(port, slow_stop))
    ls = await start_cli("-config", str(cfg))
    assert (await ls.chat("alpha")).status == 200
    # An unload blocks the router's run loop while alpha takes 3 s to stop, so the
    # first reload waits in the router for that long.
    unload = asyncio.create_task(ls.get("/unload"))
    try:
        await ls.wait_running({"alpha": "stopping"})
        ls.send_signal(signal.SIGHUP)
        await ls.wait_output("reloading configuration")
        ls.send_signal(signal.SIGHUP)
        await ls.wait_output("this trigger is dropped")
        assert (await unload).status == 200
    finally:
        if not unload.done():
            unload.cancel()
        await asyncio.gather(unload, return_exceptions=True)
    await ls.wait_output("configuration reloaded")
    assert ls.output().count("reloading configuration") == 1
