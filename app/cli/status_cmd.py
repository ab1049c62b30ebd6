"""`coea status`: what the system is doing, in one screen (or one JSON object)."""

from __future__ import annotations

import json
from typing import Any

import click

from coea.settings import get_settings


def _fmt_error(section: Any) -> str | None:
    return section.get("error") if isinstance(section, dict) else None


def format_text(r: dict[str, Any]) -> str:
    """The report of `coea.ops.status.gather` as lines for a terminal."""
    out = [f"broker {r['bootstrap_servers']}, topics {r['prefix']}.*"]
    cluster = r.get("cluster", {})
    if _fmt_error(cluster):
        out.append(f"  cluster: {cluster['error']}")
    else:
        brokers = ", ".join(f"{b['id']}@{b['host']}:{b['port']}" for b in cluster["brokers"])
        out.append(f"  brokers: {brokers} (controller {cluster['controller_id']})")
    out.append("topics:")
    topics = r.get("topics", {})
    if _fmt_error(topics):
        out.append(f"  {topics['error']}")
    else:
        for name, t in topics.items():
            if not t.get("exists"):
                out.append(f"  {name:<34} missing")
                continue
            ends = " ".join(f"{p}:{o}" for p, o in t["end_offsets"].items())
            out.append(f"  {name:<34} {t['records']:>9} records  end offsets {ends}")
    out.append("consumer groups:")
    groups = r.get("groups", {})
    if _fmt_error(groups):
        out.append(f"  {groups['error']}")
    else:
        for name, g in groups.items():
            lag = f"lag {g['lag']}" if "lag" in g else ""
            out.append(f"  {name:<34} {g['role']:<8} {g['state']:<12} {lag}")
            for topic, t in g.get("topics", {}).items():
                parts = " ".join(f"{p}:{v}" for p, v in t["partitions"].items())
                out.append(f"    {topic:<32} lag {t['lag']} ({parts})")
    table = r.get("table", {})
    if _fmt_error(table):
        out.append(f"served table: {table['error']}")
    elif table.get("version") is None:
        out.append("served table: no complete version yet")
    else:
        out.append(
            f"served table: version {table['version']} (cycle {table['cycle']}), "
            f"{table['rows']} rows, default group {table['default_group']}"
        )
    lr = r.get("learner", {})
    if _fmt_error(lr):
        out.append(f"learner: {lr['error']}")
    elif lr.get("cycle") is None:
        out.append(f"learner: no cycle written yet under {lr.get('artifacts')}")
    else:
        m = lr["metrics"]
        losses = ", ".join(f"{k} {v:.4f}" for k, v in m["losses"].items() if v is not None)
        published = "published" if lr["published"] else "NOT published"
        share = m.get("aligned_share")
        facts = [f"{m.get('users')} users", f"{m.get('rows')} rows"]
        if share is not None:
            facts.append(f"aligned share {share:.2f}")
        if m.get("cycle_seconds") is not None:
            facts.append(f"{m['cycle_seconds']}s")
        out.append(
            f"learner: last cycle {lr['cycle']} ({lr['reason']}, {published}): " + ", ".join(facts)
        )
        if losses:
            out.append(f"  losses: {losses}")
    dlq = r.get("dlq", {})
    if _fmt_error(dlq):
        out.append(f"dead letters: {dlq['error']}")
    else:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(dlq["by_reason"].items())) or "none"
        out.append(f"dead letters: {dlq['total']} ({reasons}; last {dlq['scanned']} read)")
    for key, who in (("worker_probe", "worker"), ("learner_probe", "learner")):
        p = r.get(key)
        if p is None:
            continue
        state = (
            f"not answering ({p['error']})"
            if p.get("status") is None
            else ("ready" if p["status"] == 200 else f"not ready ({p['status']})")
        )
        out.append(f"{who} {p['url']}: {state}")
    return "\n".join(out)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--timeout", type=float, default=30.0, show_default=True, help="Seconds to read the table."
)
@click.option(
    "--dlq-scan",
    type=int,
    default=100_000,
    show_default=True,
    help="Count reasons over at most this many of the newest dead letters.",
)
def status(as_json: bool, timeout: float, dlq_scan: int) -> None:
    """Show the broker(s), topics with end offsets, consumer groups with lag, the served
    table version and cycle, the learner's last cycle and its metrics, dead letters by
    reason, and whether the worker and the learner are ready."""
    from coea.broker import answers
    from coea.ops.status import gather
    from stream_app.config import app_id

    settings = get_settings()
    if not answers(settings):
        raise click.ClickException(f"no Kafka broker answers at {settings.bootstrap_servers}")
    groups = {app_id(settings): "worker", settings.learner_group: "learner"}
    report = gather(settings, groups, timeout_s=timeout, dlq_scan=dlq_scan)
    click.echo(json.dumps(report, indent=2, default=str) if as_json else format_text(report))
