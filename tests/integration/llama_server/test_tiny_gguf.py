"""The tiny GGUF generator, read back with gguf's own reader (no llama-server needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from tests.support.gguf import (
    BOS,
    EOS,
    FIRST_BYTE_TOKEN,
    IM_END,
    IM_START,
    SPACE,
    TinyModel,
    build_vocabulary,
    write_tiny_gguf,
)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> gguf.GGUFReader:
    path = write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")
    return gguf.GGUFReader(path)


def field(reader: gguf.GGUFReader, key: str) -> Any:
    found = reader.get_field(key)
    assert found is not None, f"metadata key {key} missing"
    return found.contents()


def tensor(reader: gguf.GGUFReader, name: str) -> gguf.ReaderTensor:
    matches = [t for t in reader.tensors if t.name == name]
    assert matches, f"tensor {name} missing"
    return matches[0]


def test_file_is_well_under_one_megabyte(tmp_path: Path) -> None:
    """The model is small enough to write per test and never worth committing."""
    size = write_tiny_gguf(tmp_path / "m.gguf").stat().st_size
    assert size < 512 * 1024, f"got {size} bytes, want < 512 KiB"


def test_metadata_describes_a_small_llama(reader: gguf.GGUFReader) -> None:
    """Architecture and hyperparameters are what llama.cpp's llama loader reads."""
    model = TinyModel()
    assert field(reader, "general.architecture") == "llama"
    assert field(reader, "llama.block_count") == model.layers
    assert field(reader, "llama.embedding_length") == model.embd
    assert field(reader, "llama.attention.head_count") == model.heads
    assert field(reader, "llama.attention.head_count_kv") == model.kv_heads
    assert field(reader, "llama.rope.dimension_count") == model.head_dim
    assert field(reader, "tokenizer.ggml.model") == "llama"


def test_chat_template_is_chatml(reader: gguf.GGUFReader) -> None:
    """llama-server needs a template for /v1/chat/completions and /v1/messages."""
    template = field(reader, "tokenizer.chat_template")
    assert "<|im_start|>" in template
    assert "add_generation_prompt" in template


def test_special_token_ids_point_at_control_tokens(reader: gguf.GGUFReader) -> None:
    """BOS, EOS and EOT are control tokens, so they never appear as text."""
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    assert field(reader, "tokenizer.ggml.bos_token_id") == BOS
    assert field(reader, "tokenizer.ggml.eos_token_id") == EOS
    assert field(reader, "tokenizer.ggml.eot_token_id") == IM_END
    assert tokens[IM_START] == "<|im_start|>"
    for token_id in (BOS, EOS, IM_START, IM_END):
        assert types[token_id] == gguf.TokenType.CONTROL, tokens[token_id]


def test_every_byte_has_a_fallback_token() -> None:
    """Byte fallback is what lets any UTF-8 text tokenize."""
    vocab = build_vocabulary()
    for byte in range(256):
        token_id = FIRST_BYTE_TOKEN + byte
        assert vocab.pieces[token_id] == f"<0x{byte:02X}>"
        assert vocab.types[token_id] == gguf.TokenType.BYTE


def test_every_text_piece_is_reachable_by_merges() -> None:
    """SentencePiece only merges into pieces whose prefix is itself a piece."""
    vocab = build_vocabulary()
    pieces = set(vocab.pieces)
    normal = [p for p, t in zip(vocab.pieces, vocab.types, strict=True) if t == 1]
    assert len(normal) == len(set(normal)), "duplicate pieces"
    unreachable = [p for p in normal if len(p) > 1 and p[:-1] not in pieces]
    assert not unreachable, f"pieces without their prefix: {unreachable}"
    assert SPACE + "hello" in pieces


def test_tensor_shapes_match_the_hyperparameters(reader: gguf.GGUFReader) -> None:
    """llama.cpp refuses a file whose tensor shapes disagree with its metadata."""
    model = TinyModel()
    n_vocab = len(field(reader, "tokenizer.ggml.tokens"))
    kv = model.head_dim * model.kv_heads
    want = {
        "token_embd.weight": (n_vocab, model.embd),
        "output.weight": (n_vocab, model.embd),
        "output_norm.weight": (model.embd,),
        "blk.0.attn_k.weight": (kv, model.embd),
        "blk.1.ffn_down.weight": (model.embd, model.ff),
    }
    for name, shape in want.items():
        assert tensor(reader, name).data.shape == shape, name
    assert len(reader.tensors) == 3 + 9 * model.layers


def test_only_printable_tokens_have_output_rows(reader: gguf.GGUFReader) -> None:
    """Zero rows for EOS, control and non-printable bytes: generation runs to max_tokens."""
    output = np.asarray(tensor(reader, "output.weight").data, dtype=np.float32)
    emittable = np.array(build_vocabulary().emittable)
    assert not output[~emittable].any()
    assert np.all(np.abs(output[emittable]).sum(axis=1) > 0)
    assert not emittable[EOS]
    assert not emittable[IM_END]
    assert emittable[FIRST_BYTE_TOKEN + ord("\n")]
    assert not emittable[FIRST_BYTE_TOKEN + 0xC3], "a lone UTF-8 lead byte is not text"


def test_seed_makes_the_file_reproducible(tmp_path: Path) -> None:
    """Same seed, same bytes: a failing run can be repeated exactly."""
    first = write_tiny_gguf(tmp_path / "a.gguf", TinyModel(seed=7)).read_bytes()
    second = write_tiny_gguf(tmp_path / "b.gguf", TinyModel(seed=7)).read_bytes()
    other = write_tiny_gguf(tmp_path / "c.gguf", TinyModel(seed=8)).read_bytes()
    assert first == second
    assert first != other
