"""The worker's Prometheus metrics (no Faust import: the families are built from plain facts
that `stream_app.probes` gathers at scrape time, so they are tested alone).

Counters come from the worker's `IngestStats`; lag, assignment, readiness, store size and the
served table version are read when Prometheus scrapes. Names: docs/operations.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from coea.ops.reasons import REASONS

disable_created_metrics()  # no `_created` series beside each counter and histogram

PREFIX = "coea_worker"
#: Seconds to process and write one batch of events (decode, state, sends, table writes).
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: stats key -> (counter name without _total, help)
COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("records", "events", "Event records received on the events topic (in order, admitted)."),
    ("applied", "events_applied", "Events applied to a user's state."),
    ("duplicates", "events_duplicate", "Events already applied (redelivery, same event id)."),
    ("refused", "events_refused", "Records past an offset gap, refused until sought back."),
    ("windows_emitted", "windows_emitted", "Training-window records sent (one per user)."),
    ("flushes", "window_flushes", "Windows closed by a flush marker (idle or end of replay)."),
    ("seeks", "seeks", "Seeks back to a missing offset."),
    ("batches", "batches", "Batches processed."),
)


@dataclass
class WorkerFacts:
    """What one scrape reports besides the histogram (gathered by `stream_app.probes`)."""

    stats: Mapping[str, Any]  # IngestStats.as_dict()
    dead_letters: Mapping[str, int]  # reason label -> count
    lag: Mapping[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition)
    assigned: int = 0
    ready: bool = False
    store_bytes: Mapping[str, int] = field(default_factory=dict)  # table -> bytes on disk
    served_version: int | None = None


def lag_of(highwater: int | None, processed: int | None, committed: int | None) -> int | None:
    """Records behind the end of a partition: the highwater minus the next offset to process
    (after the last processed one, else the committed one); None when unknown."""
    if highwater is None:
        return None
    if processed is not None:
        return max(0, highwater - (processed + 1))
    if committed is not None:
        return max(0, highwater - committed)
    return None


def families(facts: WorkerFacts) -> list[Metric]:
    """Every metric family of the worker except the histogram and process metrics (pure)."""
    out: list[Metric] = []
    for key, name, doc in COUNTERS:
        c = CounterMetricFamily(f"{PREFIX}_{name}", doc)
        c.add_metric([], float(facts.stats.get(key, 0)))
        out.append(c)
    dl = CounterMetricFamily(
        f"{PREFIX}_dead_letters",
        "Records sent to the dead-letter topic, by reason.",
        labels=["reason"],
    )
    for reason in REASONS:  # every label present from the start: rate() sees the first one
        dl.add_metric([reason], float(facts.dead_letters.get(reason, 0)))
    out.append(dl)
    lag = GaugeMetricFamily(
        f"{PREFIX}_consumer_lag_records",
        "Records between the partition's end and the worker's position.",
        labels=["topic", "partition"],
    )
    for (topic, partition), value in sorted(facts.lag.items()):
        lag.add_metric([topic, str(partition)], float(value))
    out.append(lag)
    store = GaugeMetricFamily(
        f"{PREFIX}_state_store_bytes", "Size on disk of the local RocksDB tables.", labels=["table"]
    )
    for table, size in sorted(facts.store_bytes.items()):
        store.add_metric([table], float(size))
    out.append(store)
    out.append(_gauge("assigned_partitions", "Partitions assigned to this worker.", facts.assigned))
    out.append(_gauge("ready", "1 when assigned partitions are recovered (/readyz).", facts.ready))
    out.append(
        _gauge(
            "open_windows",
            "Events partitions with an open window.",
            len(facts.stats.get("open_windows", [])),
        )
    )
    out.append(
        _gauge(
            "served_table_version",
            "Version of the novel-category table served (0: none yet).",
            facts.served_version or 0,
        )
    )
    return out


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    g = GaugeMetricFamily(f"{PREFIX}_{name}", doc)
    g.add_metric([], float(value))
    return g


def store_sizes(tabledir: Path) -> dict[str, int]:
    """Bytes on disk per table under Faust's table folder (``<table>-<partition>.db``)."""
    out: dict[str, int] = {}
    base = Path(tabledir)
    if not base.is_dir():
        return out
    for db in base.glob("*.db"):
        table = db.name[: -len(".db")].rsplit("-", 1)[0]
        size = 0
        for f in db.rglob("*"):
            with contextlib.suppress(OSError):  # RocksDB removed it while we walked
                size += f.stat().st_size if f.is_file() else 0
        out[table] = out.get(table, 0) + size
    return out


class _FactsCollector:
    def __init__(self, gather: Callable[[], WorkerFacts]) -> None:
        self.gather = gather

    def collect(self) -> Iterable[Metric]:
        return families(self.gather())


class WorkerMetrics:
    """The worker's registry: the batch-latency histogram, the facts collector, process
    metrics. `render()` is the /metrics body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.batch_seconds = Histogram(
            f"{PREFIX}_batch_duration_seconds",
            "Time to process and write one batch of events.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self._gather: Callable[[], WorkerFacts] | None = None

    def collect_facts(self, gather: Callable[[], WorkerFacts]) -> None:
        """Register the facts collector (once; the web view module calls it at import)."""
        if self._gather is None:
            self._gather = gather
            self.registry.register(_FactsCollector(gather))

    def render(self) -> bytes:
        return generate_latest(self.registry)


metrics = WorkerMetrics()
