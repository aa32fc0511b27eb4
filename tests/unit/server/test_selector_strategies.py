"""Selector strategies (features.md §4.3) as pure decisions over advisory states."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llamaswap.config.loader import load_config
from llamaswap.config.schema import Config
from llamaswap.errors import ServiceUnavailable
from llamaswap.process.state import ProcessState
from llamaswap.server.selectors import Selectors, Target, pick_spillover, pick_warm

READY, STARTING, STOPPED, STOPPING = (
    ProcessState.READY,
    ProcessState.STARTING,
    ProcessState.STOPPED,
    ProcessState.STOPPING,
)
A, B, C = Target("a", "a", True), Target("b", "b", True), Target("c", "c", True)
PEER = Target("far/r1", "far/r1", False)


def states(**known: ProcessState) -> Callable[[str], ProcessState]:
    return lambda model_id: known.get(model_id, STOPPED)


def spill(
    targets: list[Target],
    reserved: dict[str, int],
    state_of: Callable[[str], ProcessState],
    *,
    spillover: int = 1,
    turn: int = 0,
) -> str | None:
    target, _ = pick_spillover(targets, reserved, spillover, turn, state_of)
    return None if target is None else target.name


def test_warm_picks_the_first_ready_target() -> None:
    assert pick_warm([A, B, C], states(b=STARTING, c=READY)) is C


def test_warm_picks_the_first_starting_target_when_none_is_ready() -> None:
    assert pick_warm([A, B, C], states(b=STARTING, c=STARTING)) is B


def test_warm_falls_back_to_the_first_target_when_all_are_cold() -> None:
    assert pick_warm([A, B], states(a=STOPPING)) is A


def test_spillover_with_nothing_active_takes_the_first_cold_target() -> None:
    assert spill([A, B], {}, states()) == "a"


def test_spillover_keeps_an_active_target_below_its_spillover_count() -> None:
    assert spill([A, B], {"a": 1}, states(a=READY), spillover=2) == "a"


def test_spillover_wakes_a_cold_target_once_every_active_one_is_full() -> None:
    assert spill([A, B, C], {"a": 1}, states(a=READY)) == "b"


def test_spillover_overloads_the_least_busy_target_when_nothing_is_cold() -> None:
    reserved = {"a": 3, "b": 2}
    assert spill([A, B], reserved, states(a=READY, b=STARTING)) == "b"


def test_spillover_skips_stopping_targets_even_with_reservations() -> None:
    assert spill([A, B], {"a": 1}, states(a=STOPPING)) == "b"


def test_spillover_counts_a_stopped_target_with_reservations_as_active() -> None:
    assert spill([A, B], {"a": 1}, states(), spillover=2) == "a"


def test_spillover_remote_target_is_active_only_while_it_has_reservations() -> None:
    assert spill([PEER, A], {}, states(a=READY)) == "a", "an idle peer is cold"
    assert spill([PEER, A], {"far/r1": 1}, states(a=READY)) == "a"
    assert spill([PEER, A], {"far/r1": 1, "a": 1}, states(a=READY)) == "far/r1"


def test_spillover_round_robins_between_tied_active_targets() -> None:
    state_of = states(a=READY, b=READY)
    assert [spill([A, B], {}, state_of, turn=t) for t in range(3)] == ["a", "b", "a"]


def test_spillover_with_every_target_stopping_has_no_choice() -> None:
    assert spill([A, B], {}, states(a=STOPPING, b=STOPPING)) is None


CONFIG = """
models:
  a: {cmd: "x --port ${PORT}", aliases: [alpha]}
  b: {cmd: "x --port ${PORT}"}
routing:
  router:
    settings:
      groups:
        pair: {swap: false, members: [a, b]}
selectors:
  spill: {strategy: spillover, targets: [alpha, b], settings: {spillover: 1}}
  pin: {strategy: pin, targets: [b, a]}
  warm: {strategy: warm, targets: [a, b]}
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return load_config(str(path)).config


def test_spillover_choice_reserves_until_released(config: Config) -> None:
    sel = Selectors(config)
    first = sel.choose("spill", states())
    assert first.name == "alpha", "the request is rewritten to the target as configured"
    assert sel.reserved("spill") == {"a": 1}, "counters are keyed by the resolved model"
    second = sel.choose("spill", states(a=READY))
    assert second.name == "b"
    with first, second:
        pass
    assert sel.reserved("spill") == {}


def test_release_is_idempotent(config: Config) -> None:
    sel = Selectors(config)
    choice = sel.choose("spill", states())
    choice.release()
    choice.release()
    assert sel.reserved("spill") == {}


def test_spillover_with_no_usable_target_is_503(config: Config) -> None:
    sel = Selectors(config)
    with pytest.raises(ServiceUnavailable) as caught:
        sel.choose("spill", states(a=STOPPING, b=STOPPING))
    assert caught.value.status == 503
    assert caught.value.message == 'selector "spill" has no available spillover targets'


def test_pin_and_warm_choices_reserve_nothing(config: Config) -> None:
    sel = Selectors(config)
    assert sel.choose("pin", states(a=READY)).name == "b"
    assert sel.choose("warm", states(b=READY)).name == "b"
    assert sel.reserved("spill") == {}
    assert "pin" in sel
    assert "a" not in sel
