"""``/running`` and ``/v1/models``: what is configured and what runs (router.md §9).

``/v1/models`` also lists selectors and the active profile's pins
(``selectors.py``, ``profiles.py``).

Both read the router's advisory state snapshot; neither changes anything.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from llamaswap.config.schema import Config
from llamaswap.process.state import ProcessState
from llamaswap.server.gojson import json_response
from llamaswap.server.keys import LIVE, ROUTER
from llamaswap.server.peer_routes import PeerDirectory
from llamaswap.server.peers import peer_model_record


def running_entries(config: Config, states: dict[str, ProcessState]) -> list[dict[str, Any]]:
    """One record per starting/ready/stopping model, all seven keys, sorted by model."""
    entries = []
    for model_id in sorted(states):
        state = states[model_id]
        if not state.is_running or model_id not in config.models:
            continue
        model = config.models[model_id]
        entries.append(
            {
                "model": model_id,
                "state": state.value,
                "cmd": model.cmd,
                "proxy": model.proxy,
                "ttl": config.effective_ttl(model_id),
                "name": model.name,
                "description": model.description,
            }
        )
    return entries


def aliases_by_model(config: Config) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for alias, model_id in sorted(config.alias_to_id.items()):
        out.setdefault(model_id, []).append(alias)
    return out


def _record(
    record_id: str,
    model_id: str,
    config: Config,
    loaded: bool,
    created: int,
    meta: dict[str, Any],
) -> dict[str, Any]:
    model = config.models[model_id]
    rec: dict[str, Any] = {"id": record_id, "object": "model", "created": created}
    rec["owned_by"] = "llama-swap"
    if model.name.strip():
        rec["name"] = model.name.strip()
    if model.description.strip():
        rec["description"] = model.description.strip()
    rec["status"] = {"value": "loaded" if loaded else "unloaded"}
    rec["meta"] = {"llamaswap": {**model.metadata, **meta}}
    return rec


def model_records(
    config: Config,
    states: dict[str, ProcessState],
    created: int,
    peers: PeerDirectory | None = None,
) -> list[dict[str, Any]]:
    """Local models (unlisted hidden), with ``includeAliasesInList`` their aliases, and
    every peer model under its fully qualified name."""
    aliases = aliases_by_model(config)
    records = []
    for model_id, model in config.models.items():
        if model.unlisted:
            continue
        loaded = states.get(model_id, ProcessState.STOPPED).is_running
        names = aliases.get(model_id, [])
        meta = {"type": "model", "aliases": names}
        records.append(_record(model_id, model_id, config, loaded, created, meta))
        if config.include_aliases_in_list:
            for alias in names:
                alias_meta = {"type": "alias", "modelID": model_id}
                records.append(_record(alias, model_id, config, loaded, created, alias_meta))
    if peers is not None:
        records.extend(peer_model_record(route, created) for route in peers.routes())
    records.sort(key=lambda r: str(r["id"]))
    return records


async def handle_running(request: web.Request) -> web.Response:
    states = request.app[ROUTER].states()
    return json_response({"running": running_entries(request.app[LIVE].config, states)})


async def handle_models(request: web.Request) -> web.Response:
    app = request.app
    states = app[ROUTER].states()
    created = int(time.time())
    config = app[LIVE].config
    data = model_records(config, states, created, app[LIVE].peers)
    if app[LIVE].selectors:
        data.extend(app[LIVE].selectors.records(states, created))
    profiles = app[LIVE].profiles
    if profiles.active is not None:
        peers = app[LIVE].peers

        def exists(name: str) -> bool:
            """A model ID, alias, selector or peer model (FQN or bare) by that name."""
            return (
                config.resolve_model(name) is not None
                or name in config.selectors
                or peers.resolve(name) is not None
            )

        data.extend(profiles.records(config, states, created, exists))
    data.sort(key=lambda r: str(r["id"]))
    resp = json_response({"object": "list", "data": data})
    origin = request.headers.get("Origin")
    if origin:
        resp.headers["Access-Control-Allow-Origin"] = origin
    return resp


def add_routes(app: web.Application) -> None:
    app.router.add_get("/running", handle_running)
    app.router.add_get("/v1/models", handle_models)
    app.router.add_get("/models", handle_models)
