"""Which models a reload keeps, replaces, removes and adds (router/reload_plan.py).

Configs go through the real loader; the planner is the real group planner of the new
config. ``running`` stands for the models whose process was live at the reload.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Set
from pathlib import Path

import pytest

from llamaswap.config.loader import load_config
from llamaswap.config.schema import Config, Group
from llamaswap.router.factory import build_planner
from llamaswap.router.planners.group import GroupPlanner
from llamaswap.router.reload_plan import ReloadPlan, co_runnable, plan_reload

Load = Callable[..., Config]


@pytest.fixture
def load(tmp_path: Path) -> Load:
    def run(text: str, previous: Config | None = None) -> Config:
        path = tmp_path / "config.yaml"
        path.write_text(textwrap.dedent(text))
        ports = None
        if previous is not None:
            ports = {m: c.port for m, c in previous.models.items() if c.port is not None}
        return load_config(str(path), previous_ports=ports).config

    return run


def plan(old: Config, new: Config, running: Set[str] = frozenset()) -> ReloadPlan:
    return plan_reload(old, new, running, build_planner(new))


BASE = """
startPort: 9000
models:
  a:
    cmd: serve --port ${PORT} --name a
  b:
    cmd: serve --port ${PORT} --name b
"""


def test_identical_config_keeps_every_model(load: Load) -> None:
    """Nothing changed: every process is kept, nothing retired or created."""
    old = load(BASE)
    got = plan(old, load(BASE, old), {"a"})
    assert got == ReloadPlan(frozenset("ab"), frozenset(), frozenset(), frozenset())


def test_changed_cmd_replaces_only_that_model(load: Load) -> None:
    """A model whose cmd changed is retired and created anew; the other is kept."""
    old = load(BASE)
    new = load(BASE.replace("--name b", "--name b --fast"), old)
    got = plan(old, new, {"a", "b"})
    assert got.keep == {"a"}
    assert got.retire == got.create == {"b"}
    assert not got.removed


def test_removed_model_is_retired_and_not_created(load: Load) -> None:
    """A model missing from the new config is retired and listed as removed."""
    old = load(BASE)
    new = load(BASE.split("  b:")[0], old)
    got = plan(old, new, {"b"})
    assert got.keep == {"a"}
    assert got.retire == got.removed == {"b"}
    assert not got.create


def test_added_model_is_created_stopped(load: Load) -> None:
    """A new model only gets a process; the existing ones are kept."""
    old = load(BASE)
    new = load(BASE + "  c:\n    cmd: serve --port ${PORT} --name c\n", old)
    got = plan(old, new, {"a"})
    assert got.keep == {"a", "b"}
    assert not got.retire
    assert got.create == {"c"}


def test_kept_ports_keep_models_even_when_a_new_model_sorts_first(load: Load) -> None:
    """With the previous ports passed in, a new model that sorts before the others takes a
    fresh port instead of shifting theirs, so they stay unchanged."""
    old = load(BASE)
    new = load(BASE + "  0first:\n    cmd: serve --port ${PORT}\n", old)
    assert new.models["a"].port == old.models["a"].port
    assert plan(old, new, {"a"}).keep == {"a", "b"}


def test_changed_port_replaces_the_model(load: Load) -> None:
    """The allocated port is part of the compared config."""
    old = load(BASE)
    new = load(BASE.replace("startPort: 9000", "startPort: 9100"))  # no previous ports
    assert plan(old, new, {"a"}).retire == {"a", "b"}


def test_global_value_folded_into_a_process_replaces_every_model(load: Load) -> None:
    """``healthCheckTimeout`` and ``globalTTL`` shape every process, so all are replaced."""
    old = load(BASE)
    new = load("globalTTL: 60\n" + BASE, old)
    assert plan(old, new, {"a"}).retire == {"a", "b"}


def test_running_models_the_new_groups_forbid_together_are_not_all_kept(load: Load) -> None:
    """Two models running side by side in a non-swapping group, then regrouped into
    the swapping default group: only one may go on running; the other is replaced."""
    grouped = BASE + "groups:\n  both:\n    swap: false\n    members: [a, b]\n"
    old = load(grouped)
    got = plan(old, load(BASE, old), {"a", "b"})
    assert got.keep == {"a"}
    assert got.retire == got.create == {"b"}


def test_stopped_models_are_kept_whatever_the_new_groups_say(load: Load) -> None:
    """Co-runnability only matters for running processes."""
    grouped = BASE + "groups:\n  both:\n    swap: false\n    members: [a, b]\n"
    old = load(grouped)
    assert plan(old, load(BASE, old), {"a"}).keep == {"a", "b"}


def test_co_runnable_keeps_members_of_a_non_swapping_group_together() -> None:
    """The greedy check admits a model only when no kept model's swap would evict it."""
    planner = GroupPlanner(
        {"g": Group(members=["a", "b"], swap=False), "h": Group(members=["c"])}, "abc"
    )
    assert co_runnable(planner, {"a", "b", "c"}) == {"a", "b"}


def test_describe_names_each_kind_once() -> None:
    """The log line separates replaced (retired and re-created) from added models."""
    plan_ = ReloadPlan(
        keep=frozenset({"a"}),
        retire=frozenset({"b", "c"}),
        create=frozenset({"b", "d"}),
        removed=frozenset({"c"}),
    )
    assert plan_.describe() == "kept=[a] replaced=[b] removed=[c] added=[d]"


def test_http_only_fields_do_not_restart_a_model(load: Load) -> None:
    """Name, description, aliases, filters and metadata are read per request, so a
    change to them keeps the running process."""
    old = load(BASE)
    edited = BASE.replace(
        "    cmd: serve --port ${PORT} --name a\n",
        "    cmd: serve --port ${PORT} --name a\n"
        "    name: Model A\n    description: now described\n    aliases: [aa]\n"
        "    useModelName: upstream-a\n    metadata: {k: 1}\n"
        "    filters: {stripParams: temperature}\n",
    )
    got = plan(old, load(edited, old), {"a"})
    assert got == ReloadPlan(frozenset("ab"), frozenset(), frozenset(), frozenset())


def test_changed_env_replaces_the_model(load: Load) -> None:
    """``env`` reaches the process, so a change to it restarts the model."""
    old = load(BASE)
    edited = BASE.replace(
        "    cmd: serve --port ${PORT} --name a\n",
        "    cmd: serve --port ${PORT} --name a\n    env: [X=1]\n",
    )
    got = plan(old, load(edited, old), {"a"})
    assert "a" in got.retire
    assert "a" in got.create
    assert "b" in got.keep
