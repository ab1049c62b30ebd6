"""Benchmark: serving lookups on the running endpoint vs a raw rocksdict get (same run).

Sets up a private topic prefix on the local broker, starts `coea worker`, replays a slice
of MovieLens-100K (users get stream state), publishes user groups and one table version
directly (no learner: this measures serving, not learning), then sends a bounded number of
GET /v1/novel-categories/{user} requests over one keep-alive connection per client thread
and reports p50/p99 latency and requests/s. In the same run: the raw ceiling, rocksdict gets
of the same number of keys. Writes bench/results/serve.json.

    .venv/bin/python bench/serve.py [--requests 5000] [--clients 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coea.admin import create_topics  # noqa: E402
from coea.data.movielens import load_ml_100k  # noqa: E402
from coea.schemas import UserGroup  # noqa: E402
from coea.settings import Settings  # noqa: E402
from coea.table import TableRow, record_key, version_records  # noqa: E402
from coea.table_io import publish_version  # noqa: E402
from coea.topics import USER_GROUPS  # noqa: E402
from stream_app.testing import ML_ENV, Worker, run_cli, wait_for  # noqa: E402

ML100K = ROOT.parent / "shared" / "data" / "ml-100k"


def _setup(tmp: Path, n_events: int):
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    env = (
        dict(os.environ)
        | ML_ENV
        | {
            "COEA_TOPIC_PREFIX": prefix,
            "COEA_DATA_DIR": str(tmp / "data"),
            "COEA_ARTIFACTS_DIR": str(tmp / "art"),
            "COEA_WINDOW_IDLE_FLUSH_S": "0",
        }
    )
    settings = Settings(topic_prefix=prefix, data_dir=tmp / "data", artifacts_dir=tmp / "art")
    create_topics(settings)
    worker = Worker.start(env, tmp / "worker.log")
    run_cli(env, "replay", "--ml-100k", str(ML100K), "--limit", str(n_events))
    log = load_ml_100k(ML100K)
    cats = sorted(set(log.categories("genre").values()))
    users = sorted({r.user_id for r in log.ratings[:n_events]}, key=int)
    rng = random.Random(0)
    groups = {u: rng.randrange(20) for u in users}
    from kafka import KafkaProducer

    from coea.security import kafka_python_options

    p = KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all", **kafka_python_options(settings)
    )
    for u, g in groups.items():
        rec = UserGroup(user_id=u, csid=[g, 0, 0, 0], group=g, model_version="bench", ts=0)
        p.send(USER_GROUPS.name(settings), rec.to_bytes(), key=u.encode())
    p.flush()
    p.close()
    rows = [
        TableRow(g, (), tuple((c, 1.0 - i / 20) for i, c in enumerate(rng.sample(cats, 12))))
        for g in range(20)
    ]
    publish_version(version_records(rows, 1, 1, "bench", 0, default_group=0), settings)
    wait_for(
        lambda: worker.stats() and worker.stats()["applied"] >= n_events, 300, "replay applied"
    )
    wait_for(
        lambda: (
            _get(worker.port, f"/v1/novel-categories/{users[-1]}")[0] == 200
            and _get(worker.port, f"/v1/novel-categories/{users[-1]}")[1]["csid"] is not None
        ),
        120,
        "table and groups served",
    )
    return worker, users, rows


def _get(port: int, path: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    return resp.status, body


def _client(port: int, paths: list[str], out: list[float], errors: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for path in paths:
        t = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        out.append(time.perf_counter() - t)
        if resp.status != 200:
            errors.append(resp.status)
    conn.close()


def _load(port: int, users: list[str], n: int, clients: int) -> dict:
    rng = random.Random(1)
    paths = [f"/v1/novel-categories/{rng.choice(users)}" for _ in range(n)]
    lat: list[float] = []
    errors: list[int] = []
    threads = [
        threading.Thread(target=_client, args=(port, paths[i::clients], lat, errors))
        for i in range(clients)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(lat, n=100)
    return {
        "requests": n,
        "clients": clients,
        "errors": len(errors),
        "p50_ms": round(q[49] * 1000, 3),
        "p99_ms": round(q[98] * 1000, 3),
        "requests_per_s": round(n / wall, 1),
    }


def _raw_rocksdict(tmp: Path, rows, n: int) -> dict:
    from rocksdict import Rdict

    db = Rdict(str(tmp / "raw.db"))
    recs = version_records(rows, 1, 1, "bench", 0)
    for k, v in recs:
        db[k.encode()] = v
    keys = [record_key(1, r.key).encode() for r in rows]
    rng = random.Random(2)
    sample = [rng.choice(keys) for _ in range(n)]
    lat = []
    t0 = time.perf_counter()
    for k in sample:
        t = time.perf_counter()
        db.get(k)
        lat.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    db.close()
    q = statistics.quantiles(lat, n=100)
    return {
        "gets": n,
        "p50_us": round(q[49] * 1e6, 3),
        "p99_us": round(q[98] * 1e6, 3),
        "gets_per_s": round(n / wall, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=5000, help="HTTP requests (bounded).")
    ap.add_argument("--clients", type=int, default=4, help="Concurrent keep-alive clients.")
    ap.add_argument("--events", type=int, default=20000, help="ML-100K events replayed first.")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        worker, users, rows = _setup(tmp, args.events)
        try:
            endpoint = _load(worker.port, users, args.requests, args.clients)
        finally:
            worker.stop()
        raw = _raw_rocksdict(tmp, rows, args.requests)
    result = {
        "endpoint": endpoint,
        "raw_rocksdict_get": raw,
        "ratio_endpoint_to_raw_rate": round(endpoint["requests_per_s"] / raw["gets_per_s"], 6),
        "machine": f"{os.cpu_count()} cores",
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(
        f"endpoint: p50 {endpoint['p50_ms']} ms, p99 {endpoint['p99_ms']} ms, "
        f"{endpoint['requests_per_s']} req/s ({endpoint['clients']} clients, "
        f"{endpoint['errors']} errors)"
    )
    print(
        f"raw rocksdict get: p50 {raw['p50_us']} us, p99 {raw['p99_us']} us, "
        f"{raw['gets_per_s']} gets/s"
    )
    print(f"ratio (endpoint req/s / raw gets/s): {result['ratio_endpoint_to_raw_rate']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
