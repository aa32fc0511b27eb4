"""Spooled bodies replay byte for byte, with an optional span replaced."""

from __future__ import annotations

import pytest

from llamaswap.errors import NotFound
from llamaswap.server import body as body_module
from llamaswap.server.body import SpooledBody
from llamaswap.server.extract import parse_json_model


async def collect(body: SpooledBody) -> bytes:
    return b"".join([chunk async for chunk in body.payload()])


@pytest.mark.parametrize("memory_limit", [1 << 20, 10])
async def test_spooled_body_replays_what_was_written(
    memory_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(body_module, "SPOOL_MEMORY_LIMIT", memory_limit)
    monkeypatch.setattr(body_module, "CHUNK", 7)
    spool = SpooledBody()
    data = bytes(range(256)) * 3
    for i in range(0, len(data), 50):
        await spool.write(data[i : i + 50])
    try:
        assert spool.size == len(data)
        assert await collect(spool) == data
        assert await collect(spool) == data  # replayable
        spool.replace(100, 110, b"NEW")
        assert spool.size == len(data) - 10 + 3
        assert await collect(spool) == data[:100] + b"NEW" + data[110:]
    finally:
        await spool.aclose()


async def test_replacing_an_empty_span_at_the_end_appends() -> None:
    spool = SpooledBody()
    await spool.write(b"abc")
    spool.replace(3, 3, b"Z")
    assert await collect(spool) == b"abcZ"


def test_json_model_and_stream_are_read() -> None:
    model, stream, obj = parse_json_model(b'{"model":"m","stream":true}')
    assert (model, stream, obj) == ("m", True, {"model": "m", "stream": True})


@pytest.mark.parametrize("data", [b"{not json", b"[1]", b'{"model": 3}', b'{"model": ""}', b"{}"])
def test_unusable_json_is_the_no_model_404(data: bytes) -> None:
    with pytest.raises(NotFound, match="no model id could be identified"):
        parse_json_model(data)
