"""Large bodies pass byte for byte without being held in memory: a 20 MB base64 JSON
chat and a 50 MB multipart upload (spooled to disk while the ``model`` field is found)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import psutil
import pytest

from tests.integration.server.conftest import Stack, StartStack, demo_cmd

MB = 1024 * 1024
BOUNDARY = "llamaswap-test-boundary-Zx81"


@pytest.fixture
async def stack(llamaswap: StartStack) -> Stack:
    return await llamaswap(
        f"""
models:
  whisper:
    cmd: {demo_cmd()}
  renamed:
    cmd: {demo_cmd()}
    useModelName: upstream-whisper
"""
    )


class PeakRss:
    """Samples this process's RSS while a block runs (the proxy runs in-process)."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.start = self.peak = int(self._proc.memory_info().rss)
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, int(self._proc.memory_info().rss))
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> PeakRss:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / MB


def multipart_parts(model: str, size: int) -> tuple[list[bytes], bytes, int]:
    """(head, file block, tail) pieces; the file is ``size`` bytes of one repeated block."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = (
        f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\n'
        f"{model}\r\n--{BOUNDARY}--\r\n"
    ).encode()
    return [head, tail], os.urandom(MB), size // MB


async def stream_upload(parts: list[bytes], block: bytes, blocks: int) -> AsyncIterator[bytes]:
    yield parts[0]
    for _ in range(blocks):
        yield block
    yield parts[1]


def expected_sha(parts: list[bytes], block: bytes, blocks: int) -> str:
    digest = hashlib.sha256(parts[0])
    for _ in range(blocks):
        digest.update(block)
    digest.update(parts[1])
    return digest.hexdigest()


async def post_multipart(
    client: aiohttp.ClientSession, url: str, parts: list[bytes], block: bytes, blocks: int
) -> dict[str, Any]:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    data = stream_upload(parts, block, blocks)
    async with client.post(url, data=data, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())


async def test_50mb_multipart_upload_passes_intact_without_buffering(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    parts, block, blocks = multipart_parts("whisper", 50 * MB)
    url = stack.url + "/v1/audio/transcriptions"
    await post_multipart(client, url, *multipart_parts("whisper", MB))  # warm: model loaded
    async with PeakRss() as rss:
        seen = await post_multipart(client, url, parts, block, blocks)
    assert seen["body_sha256"] == expected_sha(parts, block, blocks)
    assert seen["body_length"] == len(parts[0]) + len(parts[1]) + 50 * MB
    assert rss.growth_mb < 25, f"proxy RSS grew {rss.growth_mb:.1f} MB for a 50 MB upload"


async def test_multipart_model_field_is_rewritten_by_use_model_name(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    parts, block, blocks = multipart_parts("renamed", 3 * MB)
    seen = await post_multipart(client, stack.url + "/v1/images/edits", parts, block, blocks)
    want, _, _ = multipart_parts("upstream-whisper", 0)
    assert seen["body_sha256"] == expected_sha(want, block, blocks)


async def test_20mb_base64_json_chat_passes_intact(
    stack: Stack, client: aiohttp.ClientSession
) -> None:
    image = base64.b64encode(os.urandom(15 * MB)).decode()
    body = json.dumps(
        {"model": "whisper", "messages": [{"role": "user", "content": image}]}
    ).encode()
    assert len(body) > 20 * MB
    headers = {"Content-Type": "application/json"}
    url = stack.url + "/v1/messages"
    async with client.post(url, data=io.BytesIO(body), headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        seen = await resp.json()
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert seen["body_length"] == len(body)
