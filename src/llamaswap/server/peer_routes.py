"""Which peer serves a requested name (features.md §2.9, router.md §6). Pure lookups.

Every peer model answers to its fully qualified name ``<peerID>/<model>``; the bare
``<model>`` works only when exactly one peer lists it and it is not itself some FQN.
Local IDs and aliases are resolved before this table is consulted, so they always win.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from llamaswap.config.names import peer_names
from llamaswap.config.schema import Config, Peer


@dataclass(frozen=True, slots=True)
class PeerRoute:
    """One routable peer model: the peer, and the model ID the peer itself knows."""

    peer_id: str
    peer: Peer
    model: str

    @property
    def fqn(self) -> str:
        return f"{self.peer_id}/{self.model}"

    @property
    def host(self) -> str:
        """The ``Host`` header a forwarded request carries (host and port of ``proxy``)."""
        return urlsplit(self.peer.proxy).netloc


@dataclass(frozen=True, slots=True)
class PeerPathTarget:
    """``/upstream/<peer model>/<rest>`` split like :class:`rewrite.UpstreamTarget`."""

    name: str
    route: PeerRoute
    rest: str
    segments: int
    """How many leading path segments the name used (the longest match wins)."""


class PeerDirectory:
    """Requested name -> :class:`PeerRoute`, built once per config."""

    def __init__(self, config: Config) -> None:
        fqns, bare = peer_names(config)
        routes: dict[str, PeerRoute] = {}
        for fqn, (peer_id, model) in fqns.items():
            routes[fqn] = PeerRoute(peer_id, config.peers[peer_id], model)
        for model, peer_ids in bare.items():
            if len(peer_ids) == 1 and model not in fqns:
                peer_id = next(iter(peer_ids))
                routes[model] = routes[f"{peer_id}/{model}"]
        self._routes = routes

    def __bool__(self) -> bool:
        return bool(self._routes)

    def resolve(self, name: str) -> PeerRoute | None:
        return self._routes.get(name)

    def routes(self) -> list[PeerRoute]:
        """Every peer model once, sorted by FQN (for ``/v1/models``)."""
        unique = {route.fqn: route for route in self._routes.values()}
        return [unique[fqn] for fqn in sorted(unique)]

    def split_path(self, raw_tail: str) -> PeerPathTarget | None:
        """Longest leading run of raw path segments that names a peer model."""
        if not self._routes:
            return None
        segments = raw_tail.split("/")
        for k in range(len(segments), 0, -1):
            name = unquote("/".join(segments[:k]))
            route = self._routes.get(name) if name else None
            if route is not None:
                rest = "/".join(segments[k:])
                return PeerPathTarget(name, route, "/" + rest if k < len(segments) else "", k)
        return None
