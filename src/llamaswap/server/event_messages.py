"""The ``/api/events`` messages: llama-swap's SSE framing and each payload's shape.

Every message is ``event:message`` + ``data:{"type":T,"data":"<payload JSON as a
string>"}`` + a blank line (observability.md §10); the UI parses ``data`` twice. All
JSON is Go-compact (gojson.py), so the bytes match llama-swap's, except that invalid
UTF-8 in log data becomes the character U+FFFD where Go writes the escape ``\\ufffd``
(the decoded text is the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llamaswap.config.schema import Config
from llamaswap.process.state import ProcessState
from llamaswap.server.gojson import dumps, encode
from llamaswap.server.peer_routes import PeerDirectory

MODEL_STATUS = "modelStatus"
LOG_DATA = "logData"
UI_CONFIG = "uiConfig"
PROFILE_CHANGED = "profileChanged"
INFLIGHT = "inflight"


def message(kind: str, payload: Any) -> bytes:
    """One SSE message, framed as llama-swap writes it (no space after the colons)."""
    return b"event:message\ndata:" + encode({"type": kind, "data": dumps(payload)}) + b"\n\n"


def log_data(source: str, data: bytes) -> bytes:
    """Invalid UTF-8 becomes U+FFFD, as Go's ``json.Marshal`` of ``string(data)`` does."""
    return message(LOG_DATA, {"source": source, "data": data.decode("utf-8", "replace")})


def model_status(
    config: Config, states: Mapping[str, ProcessState], peers: PeerDirectory
) -> list[dict[str, Any]]:
    """Every local model sorted by id with its state (``stopped`` when it has no
    process), then each peer model under its fully qualified name."""
    out: list[dict[str, Any]] = []
    for model_id in sorted(config.models):
        model = config.models[model_id]
        entry: dict[str, Any] = {
            "id": model_id,
            "name": model.name,
            "description": model.description,
            "state": states.get(model_id, ProcessState.STOPPED).value,
            "unlisted": model.unlisted,
            "peerID": "",
        }
        if model.aliases:
            entry["aliases"] = list(model.aliases)
        if model.capabilities.context > 0:
            entry["context_length"] = model.capabilities.context
        out.append(entry)
    for route in peers.routes():
        out.append(
            {
                "id": route.fqn,
                "name": "",
                "description": "",
                "state": "",
                "unlisted": False,
                "peerID": route.peer_id,
            }
        )
    return out


def ui_config(config: Config) -> dict[str, Any]:
    return {"activity": {"session_id": list(config.ui.activity.session_id)}}


def profile_changed(active: str | None) -> dict[str, Any]:
    return {"active": active}
