"""The ``-watch-config`` poller's change rules (features.md §1, observability.md §11).

Stat results are fed in by hand: no files, no clock, no sleeps (except one real
directory scan, which is what decides which files count).
"""

from __future__ import annotations

from pathlib import Path

from llamaswap.reload import (
    WATCH_INTERVAL_S,
    ConfigWatcher,
    DirSnapshot,
    FileStat,
    dir_fires,
    file_fires,
    scan_dir,
    watch_interval,
)


class FakeStats:
    """What the next poll's stat of the file and scan of the directory return."""

    def __init__(self) -> None:
        self.file: FileStat | None = (1, 10)
        self.dir: DirSnapshot | None = (("a.yaml", 1, 10),)

    def watcher(self, *, path: bool = True, directory: bool = False) -> ConfigWatcher:
        return ConfigWatcher(
            "/cfg/config.yaml" if path else None,
            "/cfg/conf.d" if directory else None,
            lambda: None,
            stat=lambda _p: self.file,
            scan=lambda _p: self.dir,
        )


def test_first_poll_only_records_the_baseline() -> None:
    """The first poll never fires, whatever it sees."""
    stats = FakeStats()
    assert stats.watcher(directory=True).poll() is False


def test_file_fires_on_mtime_or_size_change_and_only_once() -> None:
    """Each change fires once; an unchanged file never does."""
    stats = FakeStats()
    w = stats.watcher()
    w.poll()
    assert w.poll() is False
    stats.file = (2, 10)
    assert w.poll() is True
    assert w.poll() is False
    stats.file = (2, 11)
    assert w.poll() is True


def test_file_going_missing_is_silent_and_its_return_fires() -> None:
    """present -> missing is a rename-write in progress; missing -> present fires."""
    stats = FakeStats()
    w = stats.watcher()
    w.poll()
    stats.file = None
    assert w.poll() is False
    stats.file = (1, 10)
    assert w.poll() is True, "a file re-appearing fires even with the old mtime and size"


def test_directory_fires_on_added_removed_or_changed_yaml() -> None:
    """Any difference in the YAML names, mtimes or sizes fires."""
    stats = FakeStats()
    w = stats.watcher(path=False, directory=True)
    w.poll()
    stats.dir = (("a.yaml", 1, 10), ("b.yml", 1, 5))
    assert w.poll() is True
    stats.dir = (("a.yaml", 2, 10), ("b.yml", 1, 5))
    assert w.poll() is True
    stats.dir = (("a.yaml", 2, 10),)
    assert w.poll() is True
    assert w.poll() is False


def test_directory_emptied_or_missing_is_silent_and_content_returning_fires() -> None:
    """Transitions to empty or missing are silent; YAML re-appearing fires."""
    stats = FakeStats()
    w = stats.watcher(path=False, directory=True)
    w.poll()
    stats.dir = ()
    assert w.poll() is False
    stats.dir = None
    assert w.poll() is False
    stats.dir = (("a.yaml", 1, 10),)
    assert w.poll() is True


def test_file_and_directory_changing_together_fire_once() -> None:
    """One poll asks for one reload, however many sources changed."""
    stats = FakeStats()
    w = stats.watcher(directory=True)
    w.poll()
    stats.file = (5, 5)
    stats.dir = (("z.yaml", 1, 1),)
    assert w.poll() is True
    assert w.poll() is False


def test_rule_helpers_match_the_spec_table() -> None:
    """Appearing fires, disappearing and no change do not."""
    assert file_fires(None, (1, 1))
    assert not file_fires((1, 1), None)
    assert not file_fires((1, 1), (1, 1))
    assert dir_fires(None, (("a.yml", 1, 1),))
    assert not dir_fires((("a.yml", 1, 1),), ())


def test_scan_dir_counts_only_regular_yaml_files(tmp_path: Path) -> None:
    """``*.yml``/``*.yaml`` (case-sensitive) regular files; others and sub-dirs never."""
    (tmp_path / "a.yaml").write_text("x: 1\n")
    (tmp_path / "b.yml").write_text("y: 2\n")
    (tmp_path / "c.YAML").write_text("z: 3\n")
    (tmp_path / "notes.txt").write_text("no\n")
    (tmp_path / "sub.yaml").mkdir()
    snapshot = scan_dir(str(tmp_path))
    assert snapshot is not None
    assert [name for name, _m, _s in snapshot] == ["a.yaml", "b.yml"]
    assert scan_dir(str(tmp_path / "missing")) is None


def test_watch_interval_comes_from_the_environment_with_2s_default() -> None:
    """LLAMASWAP_WATCH_INTERVAL overrides 2 s; invalid or non-positive values do not."""
    assert watch_interval({}) == WATCH_INTERVAL_S == 2.0
    assert watch_interval({"LLAMASWAP_WATCH_INTERVAL": "0.1"}) == 0.1
    assert watch_interval({"LLAMASWAP_WATCH_INTERVAL": "0"}) == 2.0
    assert watch_interval({"LLAMASWAP_WATCH_INTERVAL": "soon"}) == 2.0
