"""Web views of the worker: one user's state, and the worker's counters."""

from __future__ import annotations

from typing import Any

from coea.state import UserState
from stream_app.access import user_id_problem
from stream_app.agents.ingest import params
from stream_app.app import app
from stream_app.routing import table_route
from stream_app.stats import stats
from stream_app.tables import users_table


@app.page("/state/{user_id}/")
@table_route(users_table, "user_id")
async def user_state(web: Any, request: Any, user_id: str) -> Any:
    """GET /state/<user_id>/: the user's derived sequences and counters as JSON (404 if none,
    400 if the id is not one the event schema allows)."""
    problem = user_id_problem(user_id)
    if problem:
        return web.json({"error": problem}, status=400)
    raw = users_table.get(user_id.encode())
    if raw is None:
        return web.json({"error": f"no state for user {user_id!r}"}, status=404)
    return web.json(UserState.from_json(raw).view(params))


@app.page("/stats/")
async def worker_stats(web: Any, request: Any) -> Any:
    """GET /stats/: records processed, dead letters, windows emitted, offsets per partition."""
    return web.json(stats.as_dict())


@app.page("/debug/commits/")
async def commit_bookkeeping(web: Any, request: Any) -> Any:
    """GET /debug/commits/: Faust's offset bookkeeping per partition (committed, read, acked
    head, gaps) to diagnose a commit that stops advancing (faust-streaming #606)."""
    consumer = app.consumer
    out = {}
    for tp in sorted(consumer.assignment(), key=lambda t: (t.topic, t.partition)):
        acked = sorted(consumer._acked.get(tp, []))
        out[f"{tp.topic}:{tp.partition}"] = {
            "committed": consumer._committed_offset.get(tp),
            "read": consumer._read_offset.get(tp),
            "acked_head": acked[:5],
            "acked": len(acked),
            "gaps": [[iv.begin, iv.end] for iv in sorted(consumer._gap.get(tp, []))][:5],
        }
    return web.json(out)
