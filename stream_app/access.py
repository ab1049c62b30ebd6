"""Who may call which web view of the worker: the bearer token, private views, user ids.

`decide` and `user_id_problem` are pure; `install` puts one aiohttp middleware in front of
every route of the Faust web server (ours and Faust's own /router/, /table/, ...), so no
view can be added without the check.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from coea.schemas import Id

#: The serving endpoint: always served (behind the token when one is set).
PUBLIC_PREFIX = "/v1/"
#: Paths served without a token (liveness/readiness probes carry no user data).
OPEN_PATHS: frozenset[str] = frozenset({"/health", "/healthz", "/ready", "/readyz"})

_ID = TypeAdapter(Id)


@dataclass(frozen=True)
class Denial:
    status: int
    reason: str


def decide(
    path: str, authorization: str | None, token: str | None, private_views: bool
) -> Denial | None:
    """None when the request may go on; else the status and reason of the refusal.

    Private views (anything but the serving endpoint and the probes) answer 404 when they are
    switched off; with a token set, every other request needs ``Authorization: Bearer <token>``.
    """
    if path in OPEN_PATHS or path.rstrip("/") in OPEN_PATHS:
        return None
    if not private_views and not path.startswith(PUBLIC_PREFIX):
        return Denial(404, "not found")
    if token is None:
        return None
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return Denial(401, "missing bearer token")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return Denial(401, "invalid bearer token")
    return None


def user_id_problem(user_id: str) -> str | None:
    """Why `user_id` is not a user id of the event schema (coea.schemas.Id); None if it is."""
    try:
        _ID.validate_python(user_id)
    except ValidationError as exc:
        err = exc.errors()[0]
        return f"invalid user_id ({len(user_id)} characters): {err['msg']}"
    return None


def install(web_app: Any, token: str | None, private_views: bool) -> None:
    """Add the access middleware to an aiohttp Application (before the server starts)."""
    from aiohttp import web

    @web.middleware
    async def guard(request: Any, handler: Any) -> Any:
        denial = decide(request.path, request.headers.get("Authorization"), token, private_views)
        if denial is None:
            return await handler(request)
        headers = {"WWW-Authenticate": "Bearer"} if denial.status == 401 else None
        return web.json_response({"error": denial.reason}, status=denial.status, headers=headers)

    web_app.middlewares.append(guard)
