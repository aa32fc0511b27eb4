"""A tiny random-weight llama GGUF, so a real llama-server can run in tests without a download.

The weights are noise on purpose: what matters is that llama-server loads the file in well
under a second, tokenizes any UTF-8 text, renders chat messages with a ChatML template,
computes embeddings, and generates text that always runs to ``max_tokens``.

Generation control: rows of the output projection for tokens that are not printable text
(control tokens, EOS, bytes outside printable ASCII) are zero, while every other row has
random logits with a spread of several units. With llama-server's default samplers (top-k,
min-p) and with greedy decoding, the zero rows never win, so EOS is never sampled and the
text is always valid UTF-8. Clients must send ``max_tokens`` / ``n_predict``; without one a
request runs until the context is full.

``python -m tests.support.gguf OUT.gguf`` writes one for manual use and the benchmarks.
"""

from __future__ import annotations

import argparse
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np
import numpy.typing as npt

CHATML_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
"""ChatML, the format llama-server recognises by its ``<|im_start|>`` marker."""

SPACE = "\u2581"
"""SentencePiece's visible space: llama's tokenizer turns ' ' into it before lookup."""

UNK, BOS, EOS, IM_START, IM_END = range(5)
CONTROL_PIECES = ("<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>")
FIRST_BYTE_TOKEN = len(CONTROL_PIECES)

_WORDS = (
    "hello", "world", "the", "a", "an", "and", "or", "of", "to", "in", "on", "is", "it", "be",
    "for", "with", "as", "at", "by", "you", "we", "they", "this", "that", "model", "llama",
    "swap", "proxy", "server", "token", "stream", "chat", "test", "load", "ready",
)  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    """Pieces, scores and token types in id order, plus which ids may ever be generated."""

    pieces: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    types: list[int] = field(default_factory=list)
    emittable: list[bool] = field(default_factory=list)

    def add(self, piece: str, score: float, token_type: int, emittable: bool) -> None:
        self.pieces.append(piece)
        self.scores.append(score)
        self.types.append(token_type)
        self.emittable.append(emittable)

    def __len__(self) -> int:
        return len(self.pieces)


def build_vocabulary() -> Vocabulary:
    """Control tokens, 256 byte-fallback tokens, then text pieces SentencePiece can merge into.

    SentencePiece merges adjacent symbols only when the joined piece is in the vocabulary,
    so every word comes with all its prefixes; longer pieces score higher and win merges.
    """
    vocab = Vocabulary()
    for piece in CONTROL_PIECES:
        kind = gguf.TokenType.UNKNOWN if piece == "<unk>" else gguf.TokenType.CONTROL
        vocab.add(piece, 0.0, int(kind), emittable=False)
    for byte in range(256):
        printable = 0x20 <= byte < 0x7F or byte == 0x0A
        vocab.add(f"<0x{byte:02X}>", 0.0, int(gguf.TokenType.BYTE), emittable=printable)
    chars = [c for c in string.printable if not c.isspace()]
    pieces: dict[str, None] = dict.fromkeys([SPACE, *chars, *(SPACE + c for c in chars)])
    for word in _WORDS:
        spelled = SPACE + word
        for end in range(2, len(spelled) + 1):
            pieces.setdefault(spelled[:end])
    for rank, piece in enumerate(pieces):
        vocab.add(piece, len(piece) - rank * 1e-4, int(gguf.TokenType.NORMAL), emittable=True)
    return vocab


@dataclass(frozen=True)
class TinyModel:
    """Shape of the generated model; the defaults load in a few ms and weigh ~300 KB."""

    layers: int = 2
    embd: int = 64
    heads: int = 4
    kv_heads: int = 2
    ff: int = 128
    ctx: int = 2048
    seed: int = 0
    name: str = "tiny-llama"

    @property
    def head_dim(self) -> int:
        return self.embd // self.heads


def write_tiny_gguf(path: Path, model: TinyModel | None = None) -> Path:
    """Write a llama-architecture GGUF to ``path`` (2-D weights F16, norms F32); return it."""
    model = model or TinyModel()
    if model.embd % model.heads or model.heads % model.kv_heads:
        raise ValueError("embd must be a multiple of heads, and heads of kv_heads")
    vocab = build_vocabulary()
    rng = np.random.default_rng(model.seed)

    def matrix(rows: int, cols: int, std: float | None = None) -> npt.NDArray[np.float16]:
        scale = std if std is not None else 1.0 / np.sqrt(cols)
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float16)

    def ones() -> npt.NDArray[np.float32]:
        return np.ones(model.embd, dtype=np.float32)

    writer = gguf.GGUFWriter(str(path), "llama")
    _write_hparams(writer, model, len(vocab))
    _write_tokenizer(writer, vocab)
    kv_rows = model.head_dim * model.kv_heads
    writer.add_tensor("token_embd.weight", matrix(len(vocab), model.embd, std=1.0))
    for layer in range(model.layers):
        blk = f"blk.{layer}."
        writer.add_tensor(blk + "attn_norm.weight", ones())
        writer.add_tensor(blk + "attn_q.weight", matrix(model.embd, model.embd))
        writer.add_tensor(blk + "attn_k.weight", matrix(kv_rows, model.embd))
        writer.add_tensor(blk + "attn_v.weight", matrix(kv_rows, model.embd))
        writer.add_tensor(blk + "attn_output.weight", matrix(model.embd, model.embd))
        writer.add_tensor(blk + "ffn_norm.weight", ones())
        writer.add_tensor(blk + "ffn_gate.weight", matrix(model.ff, model.embd))
        writer.add_tensor(blk + "ffn_up.weight", matrix(model.ff, model.embd))
        writer.add_tensor(blk + "ffn_down.weight", matrix(model.embd, model.ff))
    writer.add_tensor("output_norm.weight", ones())
    # std 1 rows against a unit-RMS hidden state: logits spread ~sqrt(embd), so zero rows
    # sit far below the top-k cut and the min-p floor.
    output = matrix(len(vocab), model.embd, std=1.0)
    output[~np.array(vocab.emittable)] = 0
    writer.add_tensor("output.weight", output)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _write_hparams(writer: gguf.GGUFWriter, model: TinyModel, n_vocab: int) -> None:
    writer.add_name(model.name)
    writer.add_context_length(model.ctx)
    writer.add_embedding_length(model.embd)
    writer.add_block_count(model.layers)
    writer.add_feed_forward_length(model.ff)
    writer.add_head_count(model.heads)
    writer.add_head_count_kv(model.kv_heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(model.head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)


def _write_tokenizer(writer: gguf.GGUFWriter, vocab: Vocabulary) -> None:
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(vocab.pieces)
    writer.add_token_scores(vocab.scores)
    writer.add_token_types(vocab.types)
    writer.add_unk_token_id(UNK)
    writer.add_bos_token_id(BOS)
    writer.add_eos_token_id(EOS)
    writer.add_eot_token_id(IM_END)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHATML_TEMPLATE)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a tiny random llama GGUF.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args(argv)
    path = write_tiny_gguf(args.out, TinyModel(seed=args.seed, layers=args.layers))
    print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
