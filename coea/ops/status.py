"""What `coea status` reports, gathered from the broker, the artifacts and the probes.

`gather` returns one JSON-ready dict: brokers, topics with offsets, the project's consumer
groups with lag, the served table version, the learner's last cycle and its metrics, dead
letters by reason, and the worker's and learner's readiness. Each section that cannot be
read carries ``error`` instead of failing the whole report. The pure parts (`group_lag`,
`cycle_summary`) are tested alone.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from coea.ops.reasons import reason_label
from coea.settings import Settings
from coea.topics import ALL_TOPICS, EVENTS, EVENTS_DLQ

Offsets = Mapping[tuple[str, int], int]


def group_lag(ends: Offsets, committed: Offsets) -> dict[str, Any]:
    """Lag of one consumer group per topic and partition: end offset minus the committed
    offset (a partition with no commit counts from its end: lag = end)."""
    topics: dict[str, dict[str, int]] = {}
    for (topic, partition), end in sorted(ends.items()):
        pos = committed.get((topic, partition))
        if pos is None and not any(t == topic for t, _ in committed):
            continue  # the group reads none of this topic
        lag = end - (pos if pos is not None else 0)
        topics.setdefault(topic, {})[str(partition)] = max(0, lag)
    return {
        "lag": sum(sum(p.values()) for p in topics.values()),
        "topics": {t: {"lag": sum(p.values()), "partitions": p} for t, p in topics.items()},
    }


def cycle_summary(manifest: Mapping[str, Any], cycle: int, published: bool) -> dict[str, Any]:
    """The learner's cycle as `coea status` shows it (from the cycle's manifest)."""
    m = manifest.get("metrics") or {}
    pco = m.get("pco") or {}
    losses = {
        k: (pco.get(k) or {}).get("loss_last") for k in ("sft", "reward", "dpo") if pco.get(k)
    }
    return {
        "cycle": cycle,
        "published": published,
        "reason": manifest.get("reason"),
        "created_ms": manifest.get("created_ms"),
        "dsie_version": manifest.get("dsie_version"),
        "metrics": {
            "users": m.get("users"),
            "keys": m.get("keys"),
            "rows": m.get("rows"),
            "aligned_share": m.get("aligned_share"),
            "cycle_seconds": m.get("cycle_seconds"),
            "losses": losses,
        },
    }


def _section(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as exc:  # one unreadable section must not hide the others
        return {"error": f"{type(exc).__name__}: {exc}"}


def _kafka_options(settings: Settings) -> dict[str, Any]:
    try:
        from coea.security import kafka_python_options
    except ImportError:  # pragma: no cover
        return {}
    return kafka_python_options(settings)


def _brokers(admin) -> dict[str, Any]:
    c = admin.describe_cluster()
    return {
        "cluster_id": c.get("cluster_id"),
        "controller_id": c.get("controller_id"),
        "brokers": [
            {"id": b.get("broker_id"), "host": b.get("host"), "port": b.get("port")}
            for b in c.get("brokers", [])
        ],
    }


def _offsets(consumer, settings: Settings) -> tuple[dict, dict, dict]:
    """(topics section, end offsets, beginning offsets) of the project's topics."""
    from kafka import TopicPartition

    existing = consumer.topics()
    section, ends, begins = {}, {}, {}
    for spec in ALL_TOPICS:
        name = spec.name(settings)
        if name not in existing:
            section[name] = {"exists": False}
            continue
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or [])]
        end, begin = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
        for tp in tps:
            ends[(name, tp.partition)], begins[(name, tp.partition)] = end[tp], begin[tp]
        section[name] = {
            "exists": True,
            "partitions": len(tps),
            "end_offsets": {str(tp.partition): end[tp] for tp in tps},
            "records": sum(end[tp] - begin[tp] for tp in tps),
        }
    return section, ends, begins


def _groups(admin, wanted: Mapping[str, str], ends: Offsets) -> dict[str, Any]:
    states = {g["group_id"]: g.get("group_state") for g in admin.list_groups()}
    out = {}
    for group, role in wanted.items():
        if group not in states:
            out[group] = {"role": role, "state": "absent"}
            continue
        committed = admin.list_group_offsets({group: None}).get(group, {})
        pos = {
            (tp.topic, tp.partition): om.offset for tp, om in committed.items() if om.offset >= 0
        }
        out[group] = {"role": role, "state": states[group], **group_lag(ends, pos)}
    return out


def _table(settings: Settings, timeout_s: float) -> dict[str, Any]:
    from coea.table_io import read_table

    view = read_table(settings, timeout_s=timeout_s)
    if not view.version:
        return {"version": None, "cycle": None, "rows": 0}
    return {
        "version": view.version,
        "cycle": view.cycle,
        "rows": len(view.rows),
        "default_group": view.default_group,
    }


def _learner(settings: Settings) -> dict[str, Any]:
    base = Path(settings.artifacts_dir) / "learner" / "cycles"
    done = sorted(
        (int(p.name[6:]), p) for p in base.glob("cycle-*") if (p / "manifest.json").is_file()
    )
    if not done:
        return {"cycle": None, "artifacts": str(base)}
    cycle, folder = done[-1]
    manifest = json.loads((folder / "manifest.json").read_text())
    return cycle_summary(manifest, cycle, (folder / "published").is_file())


def _dlq(consumer, settings: Settings, ends: Offsets, begins: Offsets, scan: int) -> dict:
    """Dead letters: the total on the topic, and by reason over the last `scan` of them."""
    from kafka import TopicPartition

    from coea.schemas import DeadLetter

    topic = EVENTS_DLQ.name(settings)
    parts = sorted(p for t, p in ends if t == topic)
    total = sum(ends[(topic, p)] - begins[(topic, p)] for p in parts)
    per = max(1, scan // max(1, len(parts)))
    tps = [TopicPartition(topic, p) for p in parts]
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, max(begins[(topic, tp.partition)], ends[(topic, tp.partition)] - per))
    reasons: Counter[str] = Counter()
    scanned, pending = 0, {tp for tp in tps if consumer.position(tp) < ends[(topic, tp.partition)]}
    while pending:
        batch = consumer.poll(timeout_ms=1000)
        if not batch:
            break
        for tp, msgs in batch.items():
            for m in msgs:
                if m.offset >= ends[(topic, tp.partition)]:
                    continue
                scanned += 1
                try:
                    reasons[reason_label(DeadLetter.model_validate_json(m.value).reason)] += 1
                except Exception:
                    reasons["unreadable"] += 1
        pending = {tp for tp in pending if consumer.position(tp) < ends[(topic, tp.partition)]}
    return {"topic": topic, "total": total, "scanned": scanned, "by_reason": dict(reasons)}


def probe(url: str, timeout_s: float = 2.0) -> dict[str, Any]:
    """GET a /readyz-style URL: its status and JSON body, or why it did not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:  # noqa: S310 (operator's URL)
            return {"url": url, "status": r.status, "body": json.loads(r.read() or b"null")}
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"null")
        except ValueError:
            body = None
        return {"url": url, "status": exc.code, "body": body}
    except (OSError, ValueError) as exc:
        return {"url": url, "status": None, "error": str(exc)}


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def gather(
    settings: Settings,
    groups: Mapping[str, str],
    timeout_s: float = 30.0,
    dlq_scan: int = 100_000,
) -> dict:
    """The whole report (see the module docstring); `groups` maps each consumer group to
    report to its role ("worker", "learner")."""
    from kafka import KafkaAdminClient, KafkaConsumer

    opts = _kafka_options(settings)
    report: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers}
    report["prefix"] = settings.topic_prefix
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id="coea-status", **opts
    )
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        client_id="coea-status",
        **opts,
    )
    try:
        report["cluster"] = _section(lambda: _brokers(admin))
        offsets = _section(lambda: _offsets(consumer, settings))
        ends, begins = ({}, {}) if isinstance(offsets, dict) else offsets[1:]
        report["topics"] = offsets if isinstance(offsets, dict) else offsets[0]
        report["groups"] = _section(lambda: _groups(admin, groups, ends))
        report["dlq"] = _section(lambda: _dlq(consumer, settings, ends, begins, dlq_scan))
    finally:
        consumer.close()
        admin.close()
    report["table"] = _section(lambda: _table(settings, timeout_s))
    report["learner"] = _section(lambda: _learner(settings))
    worker = f"http://{_local(settings.worker_web_host)}:{settings.worker_web_port}"
    report["worker_probe"] = probe(f"{worker}/readyz")
    if settings.learner_web_port:
        learner = f"http://{_local(settings.learner_web_host)}:{settings.learner_web_port}"
        report["learner_probe"] = probe(f"{learner}/readyz")
    report["events_topic"] = EVENTS.name(settings)
    return report
