"""A llama-swap user's config, written in llama-swap's documented style, loads and routes
unchanged: macros, ``${env.X}``, ``${PORT}``, ``${MODEL_ID}``, aliases, ``ttl``, legacy
top-level ``groups``, ``useModelName``, ``filters.stripParams``, ``env``,
``checkEndpoint``, ``unlisted`` and a multi-line ``cmd: |`` with comments and ``\\``."""

from __future__ import annotations

import json

import psutil
import pytest

from tests.support.ports import free_port_block

from .conftest import StartLlamaswap

pytestmark = pytest.mark.timeout(60)

USER_CONFIG = """\
# llama-swap configuration: the bundled demo stands in for llama-server.
healthCheckTimeout: 60
logLevel: info
startPort: {start_port}

macros:
  "server": "${{env.LLAMASWAP_PYTHON}} -m llamaswap.demo"
  "server-args": --stream-chunks 4

models:
  "qwen-coder":
    name: "Qwen Coder"
    description: "the daily driver"
    cmd: |
      # the demo plays llama-server here
      ${{server}}
        --port ${{PORT}} \\
        --model-name ${{MODEL_ID}}
        # --ctx-size 32768   (commented out; never reaches argv)
        ${{server-args}}
    aliases:
      - "gpt-4o"
      - "coder"
    ttl: 300
    useModelName: "Qwen/Qwen2.5-Coder-7B"
    filters:
      stripParams: "temperature, top_p"
    env:
      - "CUDA_VISIBLE_DEVICES=0"
      - "E2E_MODEL=qwen"
    checkEndpoint: /v1/models

  "llama-hidden":
    cmd: ${{server}} --port ${{PORT}} --model-name ${{MODEL_ID}}
    unlisted: true

  "embedder":
    cmd: >
      ${{server}} --port ${{PORT}}
      --model-name ${{MODEL_ID}}
    checkEndpoint: "/health"

groups:
  "chat":
    swap: true
    exclusive: true
    members:
      - "qwen-coder"
      - "llama-hidden"
  "embeddings":
    swap: false
    exclusive: false
    persistent: true
    members: ["embedder"]
"""


async def test_llama_swap_style_config_loads_and_routes(llamaswap: StartLlamaswap) -> None:
    """Every documented key of a typical llama-swap config takes effect through HTTP."""
    start_port = free_port_block(3)
    ls = await llamaswap(USER_CONFIG.format(start_port=start_port))

    listing = (await ls.get("/v1/models")).json()["data"]
    assert [m["id"] for m in listing] == ["embedder", "qwen-coder"], "unlisted is hidden"
    qwen = listing[1]
    assert qwen["name"] == "Qwen Coder"
    assert sorted(qwen["meta"]["llamaswap"]["aliases"]) == ["coder", "gpt-4o"]

    reply = await ls.chat("gpt-4o")  # an alias
    assert reply.status == 200, reply.text
    assert reply.headers["X-Demo-Model-Name"] == "qwen-coder", "${MODEL_ID} expanded"
    assert reply.json()["model"] == "Qwen/Qwen2.5-Coder-7B", "useModelName rewrites model"
    env = psutil.Process(int(reply.headers["X-Demo-Pid"])).environ()
    assert (env["CUDA_VISIBLE_DEVICES"], env["E2E_MODEL"]) == ("0", "qwen")

    streamed = await ls.chat("coder", stream=True)
    assert streamed.text.count('"content"') == 4, "the macro after a comment line applies"

    echoed = await ls.post(
        "/v1/rerank", {"model": "coder", "temperature": 0.5, "top_p": 0.9, "query": "q"}
    )
    assert echoed.status == 200, echoed.text
    upstream_body = json.loads(echoed.json()["body_text"])
    assert upstream_body == {"model": "Qwen/Qwen2.5-Coder-7B", "query": "q"}

    rows = {r["model"]: r for r in (await ls.get("/running")).json()["running"]}
    row = rows["qwen-coder"]
    assert row["ttl"] == 300
    assert row["proxy"] == f"http://localhost:{start_port + 2}", "ports go in sorted ID order"
    assert "#" not in row["cmd"], f"comment lines are stripped: {row['cmd']!r}"
    assert "${" not in row["cmd"], f"macros are expanded: {row['cmd']!r}"
    assert f"--port {start_port + 2}" in row["cmd"]

    assert (await ls.chat("embedder")).status == 200
    assert await ls.running() == {"qwen-coder": "ready", "embedder": "ready"}
    hidden = await ls.chat("llama-hidden")
    assert hidden.status == 200, "unlisted models stay routable"
    assert await ls.running() == {"llama-hidden": "ready", "embedder": "ready"}
