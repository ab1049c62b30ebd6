"""Operability on the real broker: a worker and a learner run with a bearer token, a Kafka
password and JSON logs; a synthetic replay (with bad records) flows through; a table version
is published with the learner's protocol functions.

Checks: the worker's /metrics parses with Prometheus' parser and its counters moved with the
replay; `coea status --json` names the served version, the group lag and the dead letters by
reason; the learner's probes and metrics answer; no secret appears in any metrics, probe,
status output or log line; JSON log lines carry the stable keys; after losing its local
state, a worker turns ready only once its tables are recovered.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from kafka import KafkaProducer
from prometheus_text import samples  # tests/support

from coea.admin import create_topics
from coea.ops.logs import JSON_KEYS
from coea.settings import Settings
from coea.subprocess_env import free_port
from coea.table import TableRow, version_records
from coea.table_io import publish_version
from coea.topics import EVENTS
from stream_app.config import app_id
from stream_app.testing import (
    COEA,
    Worker,
    delete_topics,
    events_consumed,
    events_end,
    run_cli,
    wait_for,
)

pytestmark = pytest.mark.integration

TOKEN = "canary-token-7f3a9c1e5b2d4068"
PASSWORD = "canary-password-51c0e9d2a7b3"
USERS = ("s0", "s1", "s2")  # synthetic users


def get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    """Status and body of a GET (0 when nothing listens)."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=10
        ) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:  # not listening yet
        return 0, b""


def scrape(port: int, headers: dict | None = None) -> dict[tuple[str, tuple], float]:
    status, body = get(f"http://127.0.0.1:{port}/metrics", headers)
    assert status == 200, body[:500]
    return samples(body.decode())


def _bad_records(settings: Settings) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    topic = EVENTS.name(settings)
    for _ in range(2):
        producer.send(topic, b"{not json", key=b"u1")
    click = {"kind": "click", "event_id": "bad-k", "user_id": "u1", "item_id": "i1", "ts": 1}
    producer.send(topic, json.dumps(click).encode(), key=b"someone-else")
    producer.flush()
    producer.close()


@pytest.fixture(scope="module")
def system(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ops")
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(topic_prefix=prefix, data_dir=tmp / "data", artifacts_dir=tmp / "artifacts")
    create_topics(settings)
    learner_port = free_port()
    env = {
        **os.environ,
        "COEA_TOPIC_PREFIX": prefix,
        "COEA_DATA_DIR": str(tmp / "data"),
        "COEA_ARTIFACTS_DIR": str(tmp / "artifacts"),
        "COEA_WORKER_API_TOKEN": TOKEN,
        "COEA_KAFKA_PASSWORD": PASSWORD,
        "COEA_LOG_FORMAT": "json",
        "COEA_WINDOW_IDLE_FLUSH_S": "2",
        "COEA_LEARNER_WEB_PORT": str(learner_port),
        "COEA_LEARNER_CYCLE_WINDOWS": "1000",
        "COEA_LEARNER_IDLE_SECONDS": "0",
        "COEA_LEARNER_DRIFT": "false",
    }
    worker = Worker.start(env, tmp / "worker.log")
    env["COEA_WORKER_WEB_PORT"] = str(worker.port)  # where `coea status` looks for it
    learner = None
    try:
        before = scrape(worker.port, worker.headers)
        _bad_records(settings)
        run_cli(env, "replay", "--synthetic", "--users", "40", "--days", "3")
        wait_for(
            lambda: events_consumed(settings), 120, "the events consumed", detail=worker.diagnosis
        )
        end = events_end(settings)
        after = scrape(worker.port, worker.headers)
        rows = [TableRow(group=0, short_set=(), categories=(("c1", 0.9),))]
        publish_version(version_records(rows, 1, 1, "m1", 1, default_group=0), settings)
        wait_for(
            lambda: (
                scrape(worker.port, worker.headers)[("coea_worker_served_table_version", ())] == 1
            ),
            60,
            "the worker to serve version 1",
        )
        states = {u: worker.state(u) for u in USERS}
        assert all(states.values()), states
        with open(tmp / "learner.log", "ab") as out:
            learner = subprocess.Popen(
                [COEA, "learner", "--exit-idle", "600", "--profile", "small"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: (
                learner.poll() is not None
                or get(f"http://127.0.0.1:{learner_port}/healthz")[0] == 200
            ),
            120,
            "the learner's /healthz",
        )
        assert learner.poll() is None, (tmp / "learner.log").read_text()[-3000:]
        yield SimpleNamespace(
            env=env,
            settings=settings,
            worker=worker,
            learner=learner,
            tmp=tmp,
            learner_port=learner_port,
            before=before,
            after=after,
            events_end=end,
            states=states,
        )
    finally:
        if learner is not None and learner.poll() is None:
            learner.send_signal(signal.SIGTERM)
            learner.wait(timeout=60)
        worker.stop()
        delete_topics(settings)


def test_worker_metrics_parse_and_move_with_the_replay(system):
    before, after = system.before, system.after
    assert before[("coea_worker_events_total", ())] == 0
    assert after[("coea_worker_events_total", ())] >= system.events_end > 0
    assert after[("coea_worker_events_applied_total", ())] > 0
    assert after[("coea_worker_windows_emitted_total", ())] > 0
    assert (
        after[("coea_worker_batch_duration_seconds_count", ())]
        > before[("coea_worker_batch_duration_seconds_count", ())]
    )
    dl = {
        dict(k[1])["reason"]: v
        for k, v in after.items()
        if k[0] == "coea_worker_dead_letters_total"
    }
    assert dl["bad_json"] == 2 and dl["key_mismatch"] == 1
    assert sum(dl.values()) == 3
    lag = [k for k in after if k[0] == "coea_worker_consumer_lag_records"]
    assert sorted(dict(k[1])["partition"] for k in lag) == ["0", "1", "2", "3"]
    assert after[("coea_worker_ready", ())] == 1
    assert after[("coea_worker_state_store_bytes", (("table", "users"),))] > 0


def test_probes_are_open_and_metrics_ask_for_the_token(system):
    port = system.worker.port
    assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    status, body = get(f"http://127.0.0.1:{port}/readyz")
    assert status == 200 and json.loads(body)["recovery_completed"] is True
    assert get(f"http://127.0.0.1:{port}/metrics")[0] == 401


def test_status_json_names_the_served_version(system):
    out = run_cli(system.env, "status", "--json", timeout_s=120).stdout
    report = json.loads(out)
    s = system.settings
    assert report["table"]["version"] == 1 and report["table"]["cycle"] == 1
    assert (
        report["topics"][EVENTS.name(s)]["records"]
        == sum(report["topics"][EVENTS.name(s)]["end_offsets"].values())
        >= system.events_end
    )
    worker_group = report["groups"][app_id(s)]
    assert worker_group["role"] == "worker" and EVENTS.name(s) in worker_group["topics"]
    assert report["dlq"]["total"] == 3
    assert report["dlq"]["by_reason"] == {"bad_json": 2, "key_mismatch": 1}
    assert report["worker_probe"]["status"] == 200
    assert report["learner_probe"]["status"] == 503  # no cycle yet: no version of its own
    assert report["cluster"]["brokers"][0]["port"] == s.kafka_port


def test_learner_probes_and_metrics(system):
    base = f"http://127.0.0.1:{system.learner_port}"
    status, body = get(f"{base}/readyz")
    assert status == 503 and json.loads(body)["ok"] is False
    live = json.loads(get(f"{base}/healthz")[1])
    assert live["ok"] is True and live["in_cycle"] is False
    got = wait_for(
        lambda: (
            (m := scrape(system.learner_port))[("coea_learner_window_records_total", ())] > 0 and m
        ),
        60,
        "the learner to read training windows",
    )
    assert got[("coea_learner_cycle", ())] == 0
    assert got[("coea_learner_ready", ())] == 0
    assert got[("coea_learner_cycles_total", (("reason", "windows"),))] == 0


def test_secrets_never_appear_in_metrics_probes_status_or_logs(system):
    w, lp = system.worker, system.learner_port
    pages = [
        get(f"http://127.0.0.1:{w.port}{p}", w.headers)[1]
        for p in ("/metrics", "/stats/", "/healthz", "/readyz")
    ]
    pages += [get(f"http://127.0.0.1:{lp}{p}")[1] for p in ("/metrics", "/healthz", "/readyz")]
    pages.append(run_cli(system.env, "status", "--json", timeout_s=120).stdout.encode())
    worker_log = w.log_text()
    learner_log = (system.tmp / "learner.log").read_text(errors="replace")
    for text in [p.decode(errors="replace") for p in pages] + [worker_log, learner_log]:
        assert TOKEN not in text and PASSWORD not in text
    for log in (worker_log, learner_log):
        lines = [json.loads(ln) for ln in log.splitlines() if ln.startswith("{")]
        assert lines, log[-2000:]
        assert all(tuple(ln)[: len(JSON_KEYS)] == JSON_KEYS for ln in lines)
    learner_lines = [json.loads(ln) for ln in learner_log.splitlines() if ln.startswith("{")]
    assert any(ln["event"] == "probes_started" for ln in learner_lines)


def test_readiness_turns_true_only_after_recovery(system):
    """Runs last: it replaces the module's worker by one that lost its local state."""
    system.worker.stop()
    shutil.rmtree(Path(system.settings.data_dir) / "stream")
    fresh = Worker.start(system.env, system.tmp / "worker2.log")
    system.worker = fresh
    seen = []

    def ready() -> bool:
        status, body = get(f"http://127.0.0.1:{fresh.port}/readyz")
        seen.append(json.loads(body))
        return status == 200

    wait_for(ready, 120, "the fresh worker to be ready", every_s=0.2, detail=fresh.diagnosis)
    # the moment it says ready, every user's state is back from the changelog
    assert {u: fresh.state(u) for u in USERS} == system.states
    assert all(s["recovery_completed"] and s["assigned_partitions"] > 0 for s in seen if s["ok"])
    assert seen[-1]["recovery_completed"] is True
