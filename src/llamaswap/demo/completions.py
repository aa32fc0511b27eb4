"""OpenAI-shaped payloads of the demo upstream, with llama-server-style ``timings``.

The numbers are made up but consistent (token counts match the chunks sent), so
activity extraction and streaming tests can check them exactly.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

_WORDS = ("Hello", " from", " the", " llamaswap", " demo", " model", ".", " ")


def reply_tokens(n: int) -> list[str]:
    """``n`` content pieces; joined they read like a (repetitive) sentence."""
    return [_WORDS[i % len(_WORDS)] for i in range(n)]


def prompt_tokens(body: dict[str, Any]) -> int:
    """A deterministic stand-in for tokenising the prompt: 1 token per 4 bytes."""
    text = json.dumps(body.get("messages", body.get("prompt", body.get("input", ""))))
    return max(1, len(text) // 4)


def usage(prompt_n: int, predicted_n: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_n,
        "completion_tokens": predicted_n,
        "total_tokens": prompt_n + predicted_n,
    }


def timings(prompt_n: int, predicted_n: int, predicted_ms: float) -> dict[str, float]:
    prompt_ms = 1.0 + prompt_n * 0.01
    predicted_ms = max(predicted_ms, 0.001)
    return {
        "cache_n": 0,
        "prompt_n": prompt_n,
        "prompt_ms": prompt_ms,
        "prompt_per_token_ms": prompt_ms / prompt_n,
        "prompt_per_second": prompt_n * 1000.0 / prompt_ms,
        "predicted_n": predicted_n,
        "predicted_ms": predicted_ms,
        "predicted_per_token_ms": predicted_ms / max(predicted_n, 1),
        "predicted_per_second": predicted_n * 1000.0 / predicted_ms,
    }


class Completion:
    """One chat or text completion, rendered as a JSON body or as SSE events."""

    def __init__(self, *, chat: bool, model: str, body: dict[str, Any], n_tokens: int) -> None:
        self.chat = chat
        self.model = model
        self.id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
        self.created = int(time.time())
        self.tokens = reply_tokens(n_tokens)
        self.prompt_n = prompt_tokens(body)

    @property
    def _object(self) -> str:
        return "chat.completion" if self.chat else "text_completion"

    def _choice(self, text: str, finish: str | None, *, delta: bool) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
        if not self.chat:
            choice["text"] = text
        elif delta:
            choice["delta"] = {"content": text} if text else {}
        else:
            choice["message"] = {"role": "assistant", "content": text}
        return choice

    def full(self, elapsed_ms: float) -> dict[str, Any]:
        n = len(self.tokens)
        return {
            "id": self.id,
            "object": self._object,
            "created": self.created,
            "model": self.model,
            "choices": [self._choice("".join(self.tokens), "stop", delta=False)],
            "usage": usage(self.prompt_n, n),
            "timings": timings(self.prompt_n, n, elapsed_ms),
        }

    def _event(self, payload: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"

    def chunk(self, text: str) -> bytes:
        return self._event(
            {
                "id": self.id,
                "object": self._object + ".chunk" if self.chat else self._object,
                "created": self.created,
                "model": self.model,
                "choices": [self._choice(text, None, delta=True)],
            }
        )

    def last_chunk(self, elapsed_ms: float) -> bytes:
        """The final event, as llama-server sends it: finish reason, usage and timings."""
        n = len(self.tokens)
        return self._event(
            {
                "id": self.id,
                "object": self._object + ".chunk" if self.chat else self._object,
                "created": self.created,
                "model": self.model,
                "choices": [self._choice("", "stop", delta=True)],
                "usage": usage(self.prompt_n, n),
                "timings": timings(self.prompt_n, n, elapsed_ms),
            }
        )


DONE = b"data: [DONE]\n\n"


def embeddings(model: str, body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("input", "")
    inputs = raw if isinstance(raw, list) else [raw]
    data = []
    for i, item in enumerate(inputs):
        seed = sum(str(item).encode()) or 1
        vector = [((seed * (k + 1)) % 997) / 997.0 for k in range(8)]
        data.append({"object": "embedding", "index": i, "embedding": vector})
    n = prompt_tokens(body)
    return {
        "object": "list",
        "model": model,
        "data": data,
        "usage": {"prompt_tokens": n, "total_tokens": n},
    }
