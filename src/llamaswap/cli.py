"""The ``llama-swap`` command line: Go ``flag`` grammar, logging, then the runner.

Go's grammar (features.md §1): one or two dashes, ``-flag=value`` or ``-flag value``
for strings, bare or ``=<bool>`` for booleans, no abbreviations, parsing stops at the
first non-flag argument or ``--``; ``-h``/``-help`` print usage and exit 0; an
unknown flag prints usage and exits 2. Tokens are first normalised to
``--name=value`` (Go's rules need each flag's arity), then argparse builds the options.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass

from llamaswap.config.errors import ConfigError
from llamaswap.config.loader import load_config
from llamaswap.logformat import configure_logging
from llamaswap.stdout_writer import STDOUT
from llamaswap.version import version_line

STRING_FLAGS = {
    "config": "config file name",
    "config-dir": "directory of *.yml/*.yaml config files, merged after -config",
    "listen": 'listen address (default ":8080", or ":8443" with TLS)',
    "tls-cert-file": "TLS certificate file (PEM)",
    "tls-key-file": "TLS key file (PEM)",
}
BOOL_FLAGS = {
    "version": "show version of build",
    "watch-config": "automatically reload config file on change",
}
HELP_FLAGS = ("h", "help")
GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})

log = logging.getLogger("llamaswap")


class UsageError(Exception):
    """Bad command line: message and usage go to stderr, exit status 2."""


class HelpRequested(Exception):
    """``-h``/``-help``: usage goes to stderr, exit status 0."""


@dataclass(frozen=True)
class Options:
    config: str
    config_dir: str
    listen: str
    tls_cert_file: str
    tls_key_file: str
    version: bool
    watch_config: bool


def usage() -> str:
    lines = ["Usage of llama-swap:"]
    for name in sorted({**STRING_FLAGS, **BOOL_FLAGS}):
        if name in STRING_FLAGS:
            lines += [f"  -{name} string", f"    \t{STRING_FLAGS[name]}"]
        else:
            lines += [f"  -{name}", f"    \t{BOOL_FLAGS[name]}"]
    return "\n".join(lines) + "\n"


def go_bool(text: str) -> bool:
    if text in GO_TRUE:
        return True
    if text in GO_FALSE:
        return False
    raise ValueError(text)


def normalise_go_flags(argv: list[str]) -> list[str]:
    """Go ``flag`` tokens -> ``--name=value`` tokens; raises UsageError/HelpRequested."""
    tokens: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--" or len(arg) < 2 or not arg.startswith("-"):
            break
        body = arg[2:] if arg.startswith("--") else arg[1:]
        if not body or body[0] in "-=":
            raise UsageError(f"bad flag syntax: {arg}")
        name, has_value, value = body.partition("=")
        if name in HELP_FLAGS:
            raise HelpRequested
        if name in BOOL_FLAGS:
            value = value if has_value else "true"
            try:
                go_bool(value)
            except ValueError:
                raise UsageError(
                    f'invalid boolean value "{value}" for -{name}: parse error'
                ) from None
        elif name in STRING_FLAGS:
            if not has_value:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = argv[i]
        else:
            raise UsageError(f"flag provided but not defined: -{name}")
        tokens.append(f"--{name}={value}")
        i += 1
    return tokens


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llama-swap", add_help=False, allow_abbrev=False, exit_on_error=False
    )
    for name in STRING_FLAGS:
        parser.add_argument(f"-{name}", f"--{name}", default="")
    for name in BOOL_FLAGS:
        parser.add_argument(f"-{name}", f"--{name}", type=go_bool, default=False)
    return parser


def parse_args(argv: list[str]) -> Options:
    try:
        ns = build_parser().parse_args(normalise_go_flags(argv))
    except argparse.ArgumentError as exc:  # pragma: no cover - normalisation prevents it
        raise UsageError(str(exc)) from None
    return Options(
        config=ns.config,
        config_dir=ns.config_dir,
        listen=ns.listen,
        tls_cert_file=ns.tls_cert_file,
        tls_key_file=ns.tls_key_file,
        version=ns.version,
        watch_config=ns.watch_config,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``llama-swap``, ``llamaswap`` and ``python -m llamaswap``."""
    try:
        return _main(argv)
    finally:
        STDOUT.flush()  # our stdout is written by a thread (stdout_writer.py)


def _main(argv: list[str] | None) -> int:
    # Lets configs run the bundled demo with our own interpreter (examples/demo.yaml).
    os.environ.setdefault("LLAMASWAP_PYTHON", sys.executable)
    try:
        opts = parse_args(sys.argv[1:] if argv is None else list(argv))
    except HelpRequested:
        sys.stderr.write(usage())
        return 0
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n{usage()}")
        return 2
    if opts.version:
        print(version_line())
        return 0
    monitors = configure_logging("info", "")
    if bool(opts.tls_cert_file) != bool(opts.tls_key_file):
        log.error("both -tls-cert-file and -tls-key-file must be provided for TLS")
        return 1
    if not opts.config and not opts.config_dir:
        log.error("no config specified: use -config <file> and/or -config-dir <directory>")
        return 1
    try:
        loaded = load_config(opts.config or None, opts.config_dir or None)
    except ConfigError as exc:
        for line in exc.warnings:
            log.warning("%s", line)
        for line in exc.errors:
            log.error("%s", line)
        return 1
    config = loaded.config
    configure_logging(config.log_level, config.log_time_format, config.log_to_stdout, monitors)
    for line in loaded.warnings:
        log.warning("%s", line)
    tls = bool(opts.tls_cert_file)
    from llamaswap.server.runner import run_sync

    return run_sync(
        loaded,
        listen=opts.listen or (":8443" if tls else ":8080"),
        tls_cert=opts.tls_cert_file or None,
        tls_key=opts.tls_key_file or None,
        watch_config=opts.watch_config,
        config_path=opts.config or None,
        config_dir=opts.config_dir or None,
        monitors=monitors,
    )
