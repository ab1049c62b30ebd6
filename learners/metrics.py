"""The learner's Prometheus metrics: counters and histograms updated as cycles run, gauges
read from the learner when Prometheus scrapes. Names: docs/operations.md.

`stage_seconds`, `losses` and `size_quantiles` are pure (tested alone).
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

disable_created_metrics()  # no `_created` series beside each counter and histogram

PREFIX = "coea_learner"
CYCLE_REASONS = ("windows", "drift", "time", "idle")
#: Stages timed by the learner around the engine, and inside PCO (from the cycle's metrics).
STAGES = ("catalogue", "engine", "train_sft", "train_reward", "train_dpo", "persist", "publish")
TRAINED = (("sft", "sft"), ("reward", "reward"), ("dpo", "dpo"))  # (pco metrics key, label)
QUANTILES = (0.0, 0.5, 0.9, 1.0)
DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)


def stage_seconds(cycle_metrics: Mapping[str, Any], measured: Mapping[str, float]) -> dict:
    """Seconds per stage of one cycle: the learner's own timings plus the trainers' runtimes
    found in the engine's metrics (a stage that did not run is absent)."""
    out = {k: float(v) for k, v in measured.items() if k in STAGES}
    pco = cycle_metrics.get("pco") or {}
    for key, label in TRAINED:
        runtime = (pco.get(key) or {}).get("runtime_s")
        if isinstance(runtime, int | float):
            out[f"train_{label}"] = float(runtime)
    return out


def losses(cycle_metrics: Mapping[str, Any]) -> dict[str, float]:
    """Last training loss per model trained in the cycle (sft, reward, dpo)."""
    pco = cycle_metrics.get("pco") or {}
    out = {}
    for key, label in TRAINED:
        loss = (pco.get(key) or {}).get("loss_last")
        if isinstance(loss, int | float):
            out[label] = float(loss)
    return out


def size_quantiles(sizes: Iterable[int]) -> dict[str, float]:
    """Min, median, 90th percentile and max of group sizes (nearest rank); {} when empty."""
    s = sorted(sizes)
    if not s:
        return {}
    return {f"{q:g}": float(s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]) for q in QUANTILES}


@dataclass
class LearnerFacts:
    """What one scrape reads from the learner."""

    cycle: int = 0
    ready: bool = False
    records: int = 0
    duplicates: int = 0
    users: int = 0
    group_sizes: list[int] = field(default_factory=list)
    lag: Mapping[int, int] = field(default_factory=dict)  # training-windows partition -> records


def families(f: LearnerFacts) -> list[Metric]:
    """Gauges and counters read at scrape time (pure)."""

    def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
        g = GaugeMetricFamily(f"{PREFIX}_{name}", doc)
        g.add_metric([], float(value))
        return g

    records = CounterMetricFamily(f"{PREFIX}_window_records", "Training-window records added.")
    records.add_metric([], float(f.records))
    dups = CounterMetricFamily(
        f"{PREFIX}_window_duplicates", "Training-window records skipped as re-sent."
    )
    dups.add_metric([], float(f.duplicates))
    per_group = GaugeMetricFamily(
        f"{PREFIX}_users_per_group",
        "Users per DSIE group: min (0), median, 90th percentile, max (1).",
        labels=["quantile"],
    )
    for q, v in size_quantiles(f.group_sizes).items():
        per_group.add_metric([q], v)
    lag = GaugeMetricFamily(
        f"{PREFIX}_consumer_lag_records",
        "Training-window records not yet read, per partition.",
        labels=["partition"],
    )
    for p, v in sorted(f.lag.items()):
        lag.add_metric([str(p)], float(v))
    return [
        records,
        dups,
        per_group,
        lag,
        gauge("cycle", "Last cycle published (0: none).", f.cycle),
        gauge("ready", "1 when a complete table version is published (/readyz).", f.ready),
        gauge("users", "Users in D_k.", f.users),
        gauge("groups", "Non-empty DSIE groups.", len(f.group_sizes)),
    ]


class _FactsCollector:
    def __init__(self, gather: Callable[[], LearnerFacts]) -> None:
        self.gather = gather

    def collect(self) -> Iterable[Metric]:
        return families(self.gather())


class LearnerMetrics:
    """One learner's registry (a fresh one per Learner: tests run several in one process)."""

    def __init__(self, gather: Callable[[], LearnerFacts] | None = None) -> None:
        r = self.registry = CollectorRegistry(auto_describe=False)
        self.cycles = Counter(
            f"{PREFIX}_cycles", "Cycles published, by what closed them.", ["reason"], registry=r
        )
        for reason in CYCLE_REASONS:
            self.cycles.labels(reason)
        self.postponed = Counter(
            f"{PREFIX}_cycles_postponed", "Cycles postponed for lack of data.", registry=r
        )
        self.publish_failures = Counter(
            f"{PREFIX}_publish_failures", "Table or user-group publishes that failed.", registry=r
        )
        self.duration = Histogram(
            f"{PREFIX}_cycle_duration_seconds",
            "Wall time of one cycle, catalogue read to publish.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.stage = Histogram(
            f"{PREFIX}_cycle_stage_duration_seconds",
            "Wall time of one stage of a cycle.",
            ["stage"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.loss = Gauge(
            f"{PREFIX}_training_loss",
            "Last loss of the cycle's training, by model.",
            ["model"],
            registry=r,
        )
        self.aligned = Gauge(
            f"{PREFIX}_aligned_share",
            "Share of generated candidates kept (score > tau_align) in the last cycle.",
            registry=r,
        )
        self.version = Gauge(
            f"{PREFIX}_table_version", "Table version last published (0: none).", registry=r
        )
        self.rows = Gauge(f"{PREFIX}_table_rows", "Rows of the table last published.", registry=r)
        self.last_cycle = Gauge(
            f"{PREFIX}_last_cycle_timestamp_seconds",
            "Unix time the last cycle was published.",
            registry=r,
        )
        ProcessCollector(registry=r)
        if gather is not None:
            r.register(_FactsCollector(gather))

    def cycle_done(
        self,
        reason: str,
        version: int,
        rows: int,
        cycle_metrics: Mapping[str, Any],
        measured: Mapping[str, float],
        total_s: float,
        now: float,
    ) -> None:
        """Record one published cycle."""
        self.cycles.labels(reason if reason in CYCLE_REASONS else "windows").inc()
        self.duration.observe(total_s)
        for stage, seconds in stage_seconds(cycle_metrics, measured).items():
            self.stage.labels(stage).observe(seconds)
        for model, value in losses(cycle_metrics).items():
            self.loss.labels(model).set(value)
        share = cycle_metrics.get("aligned_share")
        if isinstance(share, int | float):
            self.aligned.set(share)
        self.table_published(version, rows)
        self.last_cycle.set(now)

    def table_published(self, version: int, rows: int) -> None:
        self.version.set(version)
        self.rows.set(rows)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def group_sizes(groups: Iterable[int]) -> list[int]:
    """Users per group from each user's group number."""
    return sorted(Tally(groups).values())
