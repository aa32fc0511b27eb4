"""Go-style ``-listen`` addresses: ``:8080`` means every interface."""

from __future__ import annotations

import pytest

from llamaswap.server.runner import ListenAddress


def test_empty_host_means_all_interfaces() -> None:
    address = ListenAddress.parse(":8080")
    assert (address.host, address.port, address.bind_host) == ("", 8080, None)
    assert not address.is_loopback_only()


@pytest.mark.parametrize("text", ["127.0.0.1:9000", "localhost:9000", "[::1]:9000"])
def test_loopback_hosts_are_loopback_only(text: str) -> None:
    assert ListenAddress.parse(text).is_loopback_only()


@pytest.mark.parametrize("text", ["0.0.0.0:8080", "[::]:8080"])
def test_wildcard_hosts_are_not_loopback_only(text: str) -> None:
    assert not ListenAddress.parse(text).is_loopback_only()


def test_ipv6_brackets_are_stripped_and_restored_for_display() -> None:
    address = ListenAddress.parse("[::1]:8443")
    assert address.host == "::1"
    assert address.display() == "[::1]:8443"


@pytest.mark.parametrize("text", ["8080", "host:notaport", "host:70000"])
def test_invalid_listen_addresses_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="invalid listen address"):
        ListenAddress.parse(text)
