"""The config the HTTP handlers read, replaced whole by a reload (design.md deviation 1).

aiohttp freezes the app's state once it starts, so nothing derived from the config can
be re-assigned under its own key. Everything that is (the config itself, peer routes,
``upstream.ignorePaths``, the active profile, selectors, API keys) lives in one
:class:`ConfigView`, held under ``app[LIVE]`` by :class:`LiveConfig`. A reload builds
the new view completely, then installs it with one assignment, so each read sees either
the old config or the new one. Handlers read ``app[LIVE]`` when they need it and never
keep a view beyond one request. The active profile starts as none in every new view.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from llamaswap.config.schema import Config
from llamaswap.server.peer_routes import PeerDirectory
from llamaswap.server.profiles import ActiveProfile
from llamaswap.server.selectors import Selectors

SwapListener = Callable[["ConfigView"], None]


@dataclass(frozen=True, slots=True)
class ConfigView:
    config: Config
    peers: PeerDirectory
    ignore_paths: list[re.Pattern[str]]
    profiles: ActiveProfile
    selectors: Selectors
    api_keys: frozenset[str]

    @classmethod
    def build(cls, config: Config) -> ConfigView:
        return cls(
            config=config,
            peers=PeerDirectory(config),
            ignore_paths=[re.compile(p) for p in config.upstream.ignore_paths],
            profiles=ActiveProfile(config),
            selectors=Selectors(config),
            api_keys=frozenset(config.api_keys),
        )


class LiveConfig:
    """The current :class:`ConfigView`; :meth:`swap` is the only writer."""

    def __init__(self, config: Config) -> None:
        self._view = ConfigView.build(config)
        self._listeners: list[SwapListener] = []

    @property
    def view(self) -> ConfigView:
        return self._view

    @property
    def config(self) -> Config:
        return self._view.config

    @property
    def peers(self) -> PeerDirectory:
        return self._view.peers

    @property
    def ignore_paths(self) -> list[re.Pattern[str]]:
        return self._view.ignore_paths

    @property
    def profiles(self) -> ActiveProfile:
        return self._view.profiles

    @property
    def selectors(self) -> Selectors:
        return self._view.selectors

    @property
    def api_keys(self) -> frozenset[str]:
        return self._view.api_keys

    def swap(self, config: Config) -> ConfigView:
        """Install ``config`` (the router has already accepted it); returns the view."""
        view = ConfigView.build(config)
        self._view = view
        for listener in list(self._listeners):
            listener(view)
        return view

    def on_swap(self, listener: SwapListener) -> None:
        """Hook for whatever must follow the config (e.g. an events stream re-listening
        to the new view's profile changes)."""
        self._listeners.append(listener)
