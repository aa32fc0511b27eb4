"""Read ``-config`` then every ``*.yml``/``*.yaml`` of ``-config-dir`` and merge them.

Each key remembers the file it came from, so an error in a ``-config-dir`` file
names that file (design.md, "Config error format").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from llamaswap.config.envsubst import substitute_env
from llamaswap.config.errors import ConfigError, KeyPath, format_path

IDENTITY_MAPS: frozenset[KeyPath] = frozenset(
    {
        ("models",),
        ("groups",),
        ("profiles",),
        ("selectors",),
        ("peers",),
        ("matrix",),
        ("routing", "router", "settings", "groups"),
        ("routing", "router", "settings", "matrix"),
    }
)
"""Mappings whose children name entities: one source may define each child."""


@dataclass
class Sources:
    """The merged document plus where each key came from."""

    document: dict[str, Any]
    files: list[str]
    default_file: str
    origins: dict[KeyPath, str] = field(default_factory=dict)

    def locate(self, path: KeyPath) -> str:
        """The file that defined ``path`` (or its nearest defined parent)."""
        for end in range(len(path), 0, -1):
            found = self.origins.get(path[:end])
            if found is not None:
                return found
        return self.default_file


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML 1.2 (``on``/``no`` stay strings; anchors and merge keys work)."""
    try:
        return materialise(YAML(typ="safe", pure=True).load(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        parts = [p for p in (exc.context, exc.problem) if p]
        raise ConfigError([f"{file}: invalid YAML: {', '.join(parts)}{where}"]) from None
    except YAMLError as exc:
        raise ConfigError([f"{file}: invalid YAML: {exc}"]) from None


def materialise(node: Any) -> Any:
    """Copy aliased nodes apart (later steps mutate) and make every mapping key text."""
    if isinstance(node, dict):
        return {scalar_text(k): materialise(v) for k, v in node.items()}
    if isinstance(node, list):
        return [materialise(item) for item in node]
    return node


def scalar_text(value: Any) -> str:
    """A scalar as Go's ``%v`` would print it (``true``, ``5``, ``1.5``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def config_dir_files(config_dir: str) -> list[Path]:
    directory = Path(config_dir)
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise ConfigError([f"{config_dir}: cannot read config directory: {exc.strerror}"]) from None
    return [p for p in entries if p.suffix in (".yml", ".yaml") and p.is_file()]


def load_sources(config_path: str | None, config_dir: str | None) -> Sources:
    """Read, env-substitute, parse and merge every source; raise ConfigError on failure."""
    paths: list[Path] = [Path(config_path)] if config_path else []
    if config_dir:
        dir_files = config_dir_files(config_dir)
        if config_path and any(_same_file(Path(config_path), p) for p in dir_files):
            raise ConfigError(
                [f"{config_path}: the -config file is also inside -config-dir {config_dir}"]
            )
        paths.extend(dir_files)
    default = config_path or config_dir or "<config>"
    merged = Sources(document={}, files=[str(p) for p in paths], default_file=default)
    errors: list[str] = []
    for path in paths:
        file = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            errors.append(f"{file}: cannot read config file: {reason}")
            continue
        text, env_errors = substitute_env(text)
        if env_errors:
            errors.extend(f"{file}: {message}" for message in env_errors)
            continue
        try:
            document = parse_yaml(text, file)
        except ConfigError as exc:
            errors.extend(exc.errors)
            continue
        if document is None:
            continue
        if not isinstance(document, dict):
            errors.append(f"{file}: the top level of a config file must be a mapping")
            continue
        errors.extend(_merge_into(merged, document, file))
    if errors:
        raise ConfigError(errors)
    return merged


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _merge_into(merged: Sources, document: dict[str, Any], file: str) -> list[str]:
    errors: list[str] = []
    _merge_mapping(merged, merged.document, document, (), file, errors)
    return errors


def _merge_mapping(
    merged: Sources,
    target: dict[Any, Any],
    incoming: dict[Any, Any],
    path: KeyPath,
    file: str,
    errors: list[str],
) -> None:
    identity = path in IDENTITY_MAPS
    for key, value in incoming.items():
        child: KeyPath = (*path, key)
        if key not in target:
            target[key] = value
            _record(merged, child, value, file)
            continue
        if identity:
            errors.append(
                f'{file}: {format_path(child)}: duplicate {format_path(path)} "{key}" '
                f"found in {file} (already defined in another config source: "
                f"{merged.locate(child)})"
            )
            continue
        existing = target[key]
        if existing is None:
            target[key] = value
            _record(merged, child, value, file)
        elif value is None:
            continue
        elif isinstance(existing, dict) and isinstance(value, dict):
            _merge_mapping(merged, existing, value, child, file, errors)
        elif isinstance(existing, list) and isinstance(value, list):
            offset = len(existing)
            existing.extend(value)
            for i, item in enumerate(value):
                _record(merged, (*child, offset + i), item, file)
        elif isinstance(existing, dict | list) or isinstance(value, dict | list):
            errors.append(
                f'{file}: {format_path(child)}: conflict at "{format_path(child)}": '
                f"{_kind(value)} here, {_kind(existing)} in {merged.locate(child)}"
            )
        elif type(existing) is not type(value) or existing != value:
            errors.append(
                f'{file}: {format_path(child)}: conflict at "{format_path(child)}": '
                f"{value!r} here, {existing!r} in {merged.locate(child)}"
            )


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a sequence"
    return "a scalar"


def _record(merged: Sources, path: KeyPath, value: Any, file: str) -> None:
    """Remember ``file`` for ``path`` and everything below it not yet claimed."""
    merged.origins.setdefault(path, file)
    if isinstance(value, dict):
        for key, child in value.items():
            _record(merged, (*path, key), child, file)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _record(merged, (*path, i), item, file)
