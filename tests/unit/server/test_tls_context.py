"""``-tls-cert-file``/``-tls-key-file`` problems name the files (Go's error does too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamaswap.server.runner import load_tls_context


def test_no_certificate_means_plain_http() -> None:
    assert load_tls_context(None, None) is None


def test_missing_certificate_file_is_named_in_the_error(tmp_path: Path) -> None:
    cert, key = tmp_path / "missing-cert.pem", tmp_path / "missing-key.pem"
    with pytest.raises(ValueError, match="No such file or directory") as info:
        load_tls_context(str(cert), str(key))
    assert str(cert) in str(info.value)
    assert str(key) in str(info.value)


def test_unreadable_pem_is_named_in_the_error(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate\n")
    with pytest.raises(ValueError, match="cannot load TLS certificate") as info:
        load_tls_context(str(cert), str(cert))
    assert str(cert) in str(info.value)
