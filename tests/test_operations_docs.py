"""docs/operations.md lists every metric the processes export; the Grafana dashboard and
Prometheus configuration name only what exists; compose's monitoring stays opt-in."""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client.parser import text_string_to_metric_families

from coea.settings import REPO_ROOT
from learners.metrics import LearnerFacts, LearnerMetrics
from stream_app.metrics import WorkerFacts, WorkerMetrics

DOC = (REPO_ROOT / "docs" / "operations.md").read_text()
DASHBOARD = REPO_ROOT / "infra" / "grafana" / "dashboards" / "coea-stream.json"
SUFFIXES = ("_bucket", "_count", "_sum")


def _exported() -> dict[str, str]:
    """Sample name of each coea_* family (counters with _total) -> its type."""
    worker = WorkerMetrics()
    worker.collect_facts(lambda: WorkerFacts(stats={}, dead_letters={}))
    learner = LearnerMetrics(lambda: LearnerFacts())
    out = {}
    for m in (worker, learner):
        for fam in text_string_to_metric_families(m.render().decode()):
            if fam.name.startswith("coea_"):
                name = fam.name + ("_total" if fam.type == "counter" else "")
                out[name] = fam.type
    return out


def test_every_exported_metric_is_documented_and_named_by_convention():
    exported = _exported()
    assert len(exported) >= 30
    documented = set(re.findall(r"`(coea_(?:worker|learner)_[a-z_]+)`", DOC))
    assert set(exported) == documented, set(exported) ^ documented
    for name, kind in exported.items():
        assert (kind == "counter") == name.endswith("_total"), name
        if kind == "histogram":
            assert name.endswith("_seconds"), name


def test_dashboard_queries_only_exported_metrics():
    exported = set(_exported())
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    used = {n for e in exprs for n in re.findall(r"\bcoea_[a-z_]+", e)}
    base = {next((n[: -len(s)] for s in SUFFIXES if n.endswith(s)), n) for n in used}
    assert base <= exported, base - exported
    assert {"coea_worker_consumer_lag_records", "coea_learner_training_loss"} <= base


def test_monitoring_services_are_opt_in_and_scrape_the_coea_services():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"], name
    for name in ("worker", "learner", "kafka"):
        assert "profiles" not in services[name]
    prom = yaml.safe_load((REPO_ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
    targets = {
        t for job in prom["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    env = {n: services[n].get("environment") or {} for n in ("worker", "learner")}
    assert targets == {
        f"worker:{env['worker']['COEA_WORKER_WEB_PORT']}",
        f"learner:{env['learner']['COEA_LEARNER_WEB_PORT']}",
    }
    for name, path in (("worker", "/readyz"), ("learner", "/healthz")):
        test = " ".join(services[name]["healthcheck"]["test"])
        assert path in test, name
    named = set(compose.get("volumes") or {})
    for volume in services["prometheus"]["volumes"] + services["grafana"]["volumes"]:
        source = volume.split(":")[0]
        assert source in named or (REPO_ROOT / source).exists(), volume
    token = next(j for j in prom["scrape_configs"] if j["job_name"] == "coea-worker")
    assert token["authorization"]["credentials_file"] == _env_file(services["worker"])


def _env_file(service: dict) -> str:
    """The worker's API token file: what Prometheus must present to its /metrics."""
    return service["environment"]["COEA_WORKER_API_TOKEN_FILE"]
