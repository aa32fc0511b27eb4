"""Names that stand for other names: steps 1-2 of features.md §4.1.

An active profile's pin is applied first, then a selector (which may be a pin's
target) picks one of its targets. Each rewrites the request in place, so everything
after it (aliases, filters, ``useModelName``, peers, the upstream) sees a request that
named the target itself: the JSON ``model``, the multipart field, the url-encoded form
and the query all carry the new name. Nothing here runs when no profile is active and
no selector is configured.
"""

from __future__ import annotations

from aiohttp import web

from llamaswap.errors import NotFound
from llamaswap.process.state import ProcessState
from llamaswap.server.extract import NO_MODEL, Extracted
from llamaswap.server.keys import LIVE, ROUTER, SELECTOR
from llamaswap.server.model_field import rename_model
from llamaswap.server.selectors import Choice


def in_use(app: web.Application) -> bool:
    """Whether a request may need steps 1-2 at all (the proxy's fast path skips them)."""
    return app[LIVE].profiles.active is not None or bool(app[LIVE].selectors)


def resolve_virtual(
    request: web.Request, ext: Extracted, path_qs: str
) -> tuple[str, Choice | None]:
    """Apply the active pin, then a selector, to ``ext`` (in place).

    Returns the path (its query may name the model) and the selector's choice, whose
    ``release()`` the caller owes in ``finally``. A disabled pin is the 404 ``no model
    id could be identified``; a selector with no usable target is a 503."""
    app = request.app
    name = ext.model
    pinned = app[LIVE].profiles.pins.get(name)
    if pinned is not None:
        if not pinned:
            raise NotFound(NO_MODEL)
        name = pinned
    choice: Choice | None = None
    selectors = app[LIVE].selectors
    if name in selectors:
        router = app[ROUTER]

        def state_of(model_id: str) -> ProcessState:
            return router.state(model_id) if router.handles(model_id) else ProcessState.STOPPED

        choice = selectors.choose(name, state_of)
        request[SELECTOR] = name
        name = choice.name
    if name != ext.model:
        try:
            path_qs = rename_model(ext, path_qs, request.headers.get("Content-Type", ""), name)
        except BaseException:
            if choice is not None:
                choice.release()
            raise
    return path_qs, choice
