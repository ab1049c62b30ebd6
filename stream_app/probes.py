"""Operators' views of the worker: GET /metrics (Prometheus text), /healthz (live), /readyz
(ready: partitions assigned and their tables recovered). /healthz and /readyz answer without
the bearer token (stream_app.access); /metrics is a private view like /stats/."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from coea.ops import health
from coea.table import MARKER_KEY, marker_of
from stream_app.agents.ingest import committed_offset
from stream_app.app import app, settings
from stream_app.config import datadir
from stream_app.metrics import WorkerFacts, lag_of, metrics, store_sizes
from stream_app.serving import novel_table
from stream_app.stats import stats
from stream_app.topics import events_topic


def _live() -> dict[str, Any]:
    return health.worker_live(running=bool(app.started), crashed=bool(app.crashed))


def _ready() -> dict[str, Any]:
    live = _live()["ok"]
    try:
        assigned = len(app.consumer.assignment())
    except Exception:  # the consumer is not started yet
        assigned = 0
    recovery = app.tables.recovery
    return health.worker_ready(
        live,
        assigned,
        recovery.completed.is_set() and not recovery.in_recovery,
        bool(app.rebalancing),
    )


def _lag() -> dict[tuple[str, int], int]:
    topic, consumer, out = events_topic.get_topic_name(), app.consumer, {}
    for tp in consumer.assignment():
        if tp.topic != topic:
            continue
        try:
            highwater = consumer.highwater(tp)
        except Exception:  # not fetched yet
            highwater = None
        value = lag_of(highwater, stats.offsets.get(tp.partition), committed_offset(tp.partition))
        if value is not None:
            out[(topic, tp.partition)] = value
    return out


def _served_version() -> int | None:
    try:
        marker = marker_of(novel_table.get(MARKER_KEY.encode()))
    except Exception:  # the global table is still being recovered
        return None
    return marker.version if marker else None


def gather() -> WorkerFacts:
    """The facts one scrape reports (read from the running app)."""
    ready = _ready()
    try:
        lag = _lag()
    except Exception:  # no consumer yet
        lag = {}
    return WorkerFacts(
        stats=stats.as_dict(),
        dead_letters=dict(stats.dead_letter_reasons),
        lag=lag,
        assigned=ready["assigned_partitions"],
        ready=ready["ok"],
        store_bytes=store_sizes(datadir(settings) / "tables"),
        served_version=_served_version(),
    )


metrics.collect_facts(gather)


@app.page("/metrics")
async def prometheus_metrics(web: Any, request: Any) -> Any:
    """GET /metrics: the worker's metrics in Prometheus' text format."""
    # aiohttp refuses a charset in content_type=; the header carries Prometheus' full type
    return web.bytes(metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


@app.page("/healthz")
async def healthz(web: Any, request: Any) -> Any:
    """GET /healthz: 200 while the worker's services run (the event loop answers), else 503."""
    body = _live()
    return web.json(body, status=200 if body["ok"] else 503)


@app.page("/readyz")
async def readyz(web: Any, request: Any) -> Any:
    """GET /readyz: 200 once partitions are assigned and recovered and no rebalance runs."""
    body = _ready()
    return web.json(body, status=200 if body["ok"] else 503)
