"""Benchmark: serving lookups on the running endpoint vs a raw rocksdict get (same run).

Sets up a private topic prefix on the local broker, starts `coea worker`, replays a slice
of MovieLens-100K (users get stream state), publishes user groups and one table version
directly (no learner: this measures serving, not learning), then loads
GET /v1/novel-categories/{user} in one of two ways:

- closed loop (default): a bounded number of requests over one keep-alive connection per
  client thread, each client sending its next request when the answer came; reports
  p50/p99 latency and the requests/s reached;
- open loop (``--rate R``): requests sent on a fixed schedule, R per second for
  ``--duration`` seconds, whatever the answers do; each latency counts from the request's
  scheduled time (a slow answer delays nobody's clock, so queueing shows in the tail);
  reports p50/p99/p999, the rate achieved and errors (non-200 answers, failures, timeouts).

In the same run: the raw ceiling, rocksdict gets of the same number of keys.
Writes bench/results/serve.json (serve-open.json with --rate) and prints one line per figure.

    .venv/bin/python bench/serve.py [--requests 5000] [--clients 4]
    .venv/bin/python bench/serve.py --rate 1000 [--duration 30]
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
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        **kafka_python_options(settings),
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


def _quantiles_ms(lat: list[float]) -> dict:
    q = statistics.quantiles(lat, n=1000)
    return {
        "p50_ms": round(q[499] * 1000, 3),
        "p99_ms": round(q[989] * 1000, 3),
        "p999_ms": round(q[998] * 1000, 3),
        "max_ms": round(max(lat) * 1000, 3),
    }


class _Connections:
    """Keep-alive HTTP/1.1 connections for the open-loop load: a request takes an idle one or
    opens a new one, so a slow answer never holds back a scheduled request. A plain asyncio
    client (no client library) keeps the load generator's own cost out of the latencies."""

    def __init__(self, port: int) -> None:
        self.port, self.idle, self.opened = port, [], 0

    async def get(self, path: str) -> int:
        import asyncio

        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.opened += 1
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def _open_loop(port: int, users: list[str], rate: float, duration: float) -> dict:
    """Requests on a fixed schedule (`rate` per second); latency from the scheduled time."""
    import asyncio

    rng = random.Random(1)
    n = int(rate * duration)
    paths = [f"/v1/novel-categories/{rng.choice(users)}" for _ in range(n)]
    lat: list[float] = []  # answer time - scheduled time
    service: list[float] = []  # answer time - time the request was handed to the socket
    lag: list[float] = []  # the generator's own lateness: send time - scheduled time
    errors: dict[str, int] = {}
    loop = asyncio.get_running_loop()
    conns = _Connections(port)

    async def one(path: str, due: float) -> None:
        sent = loop.time()
        try:
            status = await asyncio.wait_for(conns.get(path), 5.0)
        except Exception as exc:  # a failed request is an error of the run, not a crash
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return
        if status != 200:
            errors[str(status)] = errors.get(str(status), 0) + 1
        done = loop.time()
        lat.append(done - due)
        service.append(done - sent)
        lag.append(sent - due)

    for path in paths[:200]:  # warm up outside the measurement
        await one(path, loop.time())
    for kept in (lat, service, lag, errors):
        kept.clear()
    # The schedule is kept by a thread (time.sleep has microsecond resolution; the event
    # loop's own timers round up to whole milliseconds), which hands each request to the
    # loop at its time.
    tasks: list[asyncio.Future] = []
    start = loop.time() + 0.05

    def start_one(path: str, due: float) -> None:
        tasks.append(loop.create_task(one(path, due)))

    def schedule() -> None:
        for i, path in enumerate(paths):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                time.sleep(delay)
            loop.call_soon_threadsafe(start_one, path, due)

    await asyncio.to_thread(schedule)
    await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    wall = loop.time() - start
    conns.close()
    return {
        "mode": "open loop",
        "offered_per_s": rate,
        "duration_s": round(wall, 1),
        "requests": n,
        "answered": len(lat),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "achieved_per_s": round(len(lat) / wall, 1),
        "connections_opened": conns.opened,
        **_quantiles_ms(lat),
        "from_send": _quantiles_ms(service),
        "generator_lag": _quantiles_ms(lag),
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
    ap.add_argument(
        "--rate", type=float, help="Open loop: requests per second on a fixed schedule."
    )
    ap.add_argument("--duration", type=float, default=30.0, help="Open loop: seconds of load.")
    ap.add_argument("--events", type=int, default=20000, help="ML-100K events replayed first.")
    ap.add_argument("--out", type=Path, help="JSON output (default bench/results/serve*.json).")
    args = ap.parse_args()
    name = "serve-open.json" if args.rate else "serve.json"
    out = args.out or ROOT / "bench" / "results" / name
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        worker, users, rows = _setup(tmp, args.events)
        try:
            if args.rate:
                import asyncio

                endpoint = asyncio.run(_open_loop(worker.port, users, args.rate, args.duration))
            else:
                endpoint = _load(worker.port, users, args.requests, args.clients)
        finally:
            worker.stop()
        raw = _raw_rocksdict(tmp, rows, endpoint["requests"])
    if args.rate:
        _report_open(endpoint, raw, out)
        return
    result = {
        "endpoint": endpoint,
        "raw_rocksdict_get": raw,
        "ratio_endpoint_to_raw_rate": round(endpoint["requests_per_s"] / raw["gets_per_s"], 6),
        "machine": f"{os.cpu_count()} cores",
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
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
    print(f"wrote {out}")


def _report_open(endpoint: dict, raw: dict, out: Path) -> None:
    result = {
        "endpoint": endpoint,
        "raw_rocksdict_get": raw,
        "goal": {"p99_ms_at_most": 2.0, "errors": 0},
        "meets_goal": endpoint["p99_ms"] <= 2.0 and endpoint["errors"] == 0,
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]},
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    e = endpoint
    print(f"offered     {e['offered_per_s']:,.0f} req/s for {e['duration_s']} s (open loop)")
    print(f"achieved    {e['achieved_per_s']:,.1f} req/s, {e['errors']} errors {e['error_kinds']}")
    print(f"latency     p50 {e['p50_ms']} ms, p99 {e['p99_ms']} ms, p999 {e['p999_ms']} ms")
    print(f"raw get     p50 {raw['p50_us']} us, p99 {raw['p99_us']} us (rocksdict, same run)")
    print(f"goal        p99 <= 2 ms, 0 errors: {'met' if result['meets_goal'] else 'missed'}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
