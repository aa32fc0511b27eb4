"""The incremental multipart scanner finds small fields whatever the chunking."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llamaswap.server.multipart import MultipartScanner, boundary_of

BOUNDARY = "----llamaswapBoundary7MA4YWxk"


def form(*parts: tuple[str, str | None, bytes], preamble: bytes = b"") -> bytes:
    out = bytearray(preamble)
    for name, filename, value in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disp}\r\n".encode()
        if filename:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + value + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


def scan(data: bytes, cuts: list[int]) -> MultipartScanner:
    scanner = MultipartScanner(BOUNDARY)
    pos = 0
    for cut in sorted(set(cuts)):
        scanner.feed(data[pos:cut])
        pos = cut
    scanner.feed(data[pos:])
    return scanner


def test_boundary_is_read_from_content_type() -> None:
    assert boundary_of(f"multipart/form-data; boundary={BOUNDARY}") == BOUNDARY
    assert boundary_of('multipart/form-data; boundary="a b"') == "a b"
    assert boundary_of("multipart/form-data") is None


def test_model_after_a_file_part_is_found_with_its_span() -> None:
    audio = bytes(range(256)) * 40 + b"\r\n--not-the-boundary\r\n"
    data = form(("file", "a.wav", audio), ("model", None, b"whisper"), ("stream", None, b"true"))
    scanner = scan(data, [])
    assert scanner.fields.values == {"model": "whisper", "stream": "true"}
    assert scanner.done
    span = scanner.fields.model_span
    assert span is not None
    assert data[span[0] : span[1]] == b"whisper"


def test_a_file_named_model_is_not_the_model_field() -> None:
    data = form(("model", "model.bin", b"binary"), ("model", None, b"real"))
    assert scan(data, []).fields.values["model"] == "real"


def test_preamble_before_first_delimiter_is_skipped() -> None:
    data = form(("model", None, b"m1"), preamble=b"ignored preamble\r\n")
    assert scan(data, []).fields.values["model"] == "m1"


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=300),
    st.text(min_size=1, max_size=20).filter(lambda s: "\r" not in s and "\n" not in s),
    st.lists(st.integers(min_value=0, max_value=800), max_size=12),
)
def test_any_chunking_finds_the_same_model_and_span(
    payload: bytes, model: str, cuts: list[int]
) -> None:
    data = form(("file", "x.bin", payload), ("model", None, model.encode()))
    scanner = scan(data, [c for c in cuts if c <= len(data)])
    assert scanner.fields.values.get("model") == model
    span = scanner.fields.model_span
    assert span is not None
    assert data[span[0] : span[1]] == model.encode()
