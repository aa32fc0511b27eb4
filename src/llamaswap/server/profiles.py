"""Runtime profiles (features.md §2.7, §3.4): one map-form profile's pins, or none.

While a profile is active, a request for one of its pin names is rewritten to the
pin's target before anything else (features.md §4.1 step 1); an empty or null target
disables the name. :class:`ActiveProfile` owns the choice; it starts as none, and a
reload builds a new app, so it is none again after every reload or restart.
Only map-form profiles can be activated: a legacy list profile (design.md deviation 4)
is chosen per request by its ``profile:model`` slug and is not listed here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from llamaswap.config.schema import Config
from llamaswap.errors import BadRequest, NotFound
from llamaswap.process.state import ProcessState
from llamaswap.server.gojson import json_response
from llamaswap.server.keys import LIVE

ProfileListener = Callable[[str | None], None]
"""Called with the new active profile name (or None) after each change."""

_PATH_SAFE = "/:@!$&'()*+,;="
"""Characters a pin target keeps unescaped when it becomes an ``/upstream`` path."""


class ActiveProfile:
    """The active profile and its pins; changed only by ``PUT /api/profiles/active``."""

    def __init__(self, config: Config) -> None:
        self._profiles: dict[str, dict[str, str]] = {
            name: {pin: target or "" for pin, target in profile.pins.items()}
            for name, profile in config.profiles.items()
            if "members" not in profile.model_fields_set
        }
        self._descriptions = {name: config.profiles[name].description for name in self._profiles}
        self._active: str | None = None
        self._pins: Mapping[str, str] = {}
        self._listeners: list[ProfileListener] = []

    @property
    def active(self) -> str | None:
        return self._active

    @property
    def pins(self) -> Mapping[str, str]:
        """The active profile's pins (``""`` = disabled); empty when none is active."""
        return self._pins

    def activate(self, name: str | None) -> bool:
        """Make ``name`` (None or ``""`` = none) active; True when that changed anything.

        Raises ``NotFound`` for a name that is not a map-form profile."""
        name = name or None
        if name is not None and name not in self._profiles:
            raise NotFound(f'profile "{name}" not found')
        if name == self._active:
            return False
        self._active = name
        self._pins = self._profiles[name] if name is not None else {}
        for listener in list(self._listeners):
            listener(name)
        return True

    def on_change(self, listener: ProfileListener) -> None:
        """Hook for the event stream (``profileChanged`` and ``modelStatus``)."""
        self._listeners.append(listener)

    def rewrite_upstream_tail(self, raw_tail: str) -> str | None:
        """``/upstream/<tail>`` with its longest pinned leading path replaced by the
        target, or None when no pin matches. Matching is on the decoded path, so a pin
        holding ``/`` matches whether the client sent ``/`` or ``%2F``."""
        if not self._pins:
            return None
        segments = raw_tail.split("/")
        for k in range(len(segments), 0, -1):
            target = self._pins.get(unquote("/".join(segments[:k])))
            if target is not None:
                rest = segments[k:]
                return "/".join([quote(target, safe=_PATH_SAFE), *rest]) if target else ""
        return None

    def api_listing(self) -> dict[str, Any]:
        """``GET /api/profiles``: the active name and every profile, sorted by id."""
        profiles = [
            {"id": name, "description": self._descriptions[name], "pins": dict(pins)}
            for name, pins in sorted(self._profiles.items())
        ]
        return {"active": self._active, "profiles": profiles}

    def records(
        self,
        config: Config,
        states: Mapping[str, ProcessState],
        created: int,
        exists: Callable[[str], bool],
    ) -> list[dict[str, Any]]:
        """``/v1/models`` records for active pins that are not disabled and do not
        shadow an existing model, alias, peer model or selector (features.md §3.3 (5))."""
        out = []
        for pin, target in sorted(self._pins.items()):
            if not target or exists(pin):
                continue
            model_id = config.resolve_model(target)
            state = states.get(model_id, ProcessState.STOPPED) if model_id else None
            loaded = state is not None and state.is_running
            meta = {"type": "profile", "profile": self._active, "target": target}
            out.append(
                {
                    "id": pin,
                    "object": "model",
                    "created": created,
                    "owned_by": "llama-swap",
                    "status": {"value": "loaded" if loaded else "unloaded"},
                    "meta": {"llamaswap": meta},
                }
            )
        return out


async def handle_list(request: web.Request) -> web.Response:
    return json_response(request.app[LIVE].profiles.api_listing())


async def handle_activate(request: web.Request) -> web.Response:
    """``PUT /api/profiles/active`` with ``{"name": "<profile>" | null}`` (``""`` = none)."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise BadRequest("invalid profile request") from None
    if not isinstance(body, dict):
        raise BadRequest("invalid profile request")
    if "name" not in body:
        raise BadRequest("profile name is required")
    name = body["name"]
    if name is not None and not isinstance(name, str):
        raise BadRequest("profile name must be a string or null")
    profiles = request.app[LIVE].profiles
    profiles.activate(name)
    return json_response({"active": profiles.active})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/profiles", handle_list)
    app.router.add_put("/api/profiles/active", handle_activate)
