"""Peer name resolution: FQNs always, bare names only when unique and not an FQN."""

from __future__ import annotations

from llamaswap.config.schema import Config, Peer
from llamaswap.server.peer_routes import PeerDirectory


def directory(**peers: list[str]) -> PeerDirectory:
    config = Config(
        peers={
            pid: Peer(proxy=f"http://{pid}.example:81/api", models=ms) for pid, ms in peers.items()
        }
    )
    return PeerDirectory(config)


def test_fqn_resolves_to_the_peer_and_its_own_model_id() -> None:
    route = directory(a=["org/m1"]).resolve("a/org/m1")
    assert route is not None
    assert (route.peer_id, route.model, route.host) == ("a", "org/m1", "a.example:81")


def test_bare_name_resolves_only_when_one_peer_lists_it() -> None:
    peers = directory(a=["m1", "both"], b=["both"])
    route = peers.resolve("m1")
    assert route is not None
    assert route.fqn == "a/m1"
    assert peers.resolve("both") is None
    assert peers.resolve("b/both") is not None


def test_bare_name_that_is_itself_an_fqn_is_reserved() -> None:
    peers = directory(a=["b/x"], b=["x"])
    route = peers.resolve("b/x")
    assert route is not None
    assert route.peer_id == "b", "the FQN b/x wins over a's bare b/x"


def test_routes_lists_each_peer_model_once_sorted() -> None:
    assert [r.fqn for r in directory(b=["z"], a=["y", "x"]).routes()] == ["a/x", "a/y", "b/z"]


def test_split_path_takes_the_longest_peer_name_and_keeps_rest_raw() -> None:
    peers = directory(a=["org", "org/model"])
    target = peers.split_path("a/org/model/v1/a%20b")
    assert target is not None
    assert (target.route.fqn, target.rest) == ("a/org/model", "/v1/a%20b")
    target = peers.split_path("a%2Forg/x")
    assert target is not None
    assert (target.route.fqn, target.rest) == ("a/org", "/x")
    assert peers.split_path("nope/x") is None
