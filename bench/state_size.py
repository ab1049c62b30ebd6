"""Benchmark: stream-state bytes per user at scale, in RocksDB and in a compacted changelog.

1. A population of ``--users`` users (default 1,000,000) with events per user drawn from a
   log-normal of mean ``--mean-events`` (at least 1), items from a Zipf catalogue of
   ``--items`` items in ``--categories`` categories, a share ``--exposures`` of the events
   exposures (the rest clicks), spread over 30 daily windows. Each user's events are folded
   through `coea.state.update_state` with the worker's default `StateParams`, then the final
   state is written, as the worker writes it (`UserState.to_json`), to
   - a RocksDB opened with Faust's own options (`faust.stores.rocksdb.RocksDBOptions`), then
     flushed and compacted: bytes on disk per user;
   - a compacted topic on the local broker (4 partitions, the worker's changelog settings:
     no producer compression): bytes of the topic's log segments per user.
2. The bound: the same for ``--sample`` users at fixed events per user (10 ... 5,000), which
   shows how a state grows with a user's history and where its caps stop it.

Writes bench/results/state_size.json and prints one line per figure.

    .venv/bin/python bench/state_size.py [--users 1000000] [--mean-events 20]
    (needs `coea broker up`)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coea.broker import BrokerPaths  # noqa: E402
from coea.schemas import ClickEvent, ExposureEvent  # noqa: E402
from coea.settings import Settings  # noqa: E402
from coea.state import StateParams, UserState, update_state  # noqa: E402
from stream_app.testing import delete_topics  # noqa: E402

DAY_MS = 86_400_000
CURVE = (10, 50, 220, 1_000, 5_000)
BREAKDOWN_USERS = 2_000


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class Population:
    """Synthetic users' events (deterministic for a seed), folded into states one by one."""

    def __init__(self, n_items: int, n_categories: int, exposures: float, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.n_items, self.n_categories, self.exposures = n_items, n_categories, exposures
        self.params = StateParams.from_settings(Settings())

    def state(self, user: int, n_events: int) -> UserState:
        rng, uid = self.rng, f"u{user}"
        items = (rng.zipf(1.2, n_events) - 1) % self.n_items
        shown = rng.random(n_events) < self.exposures
        ts = np.sort(rng.integers(0, 30 * DAY_MS, n_events)) + 1_700_000_000_000
        state = UserState(user_id=uid)
        for k in range(n_events):
            item, t = int(items[k]), int(ts[k])
            kind = ExposureEvent if shown[k] else ClickEvent
            event = kind.model_construct(
                event_id=f"{uid}-{k}", user_id=uid, item_id=f"i{item}", ts=t, features=None
            )
            category = f"c{item % self.n_categories:03d}"
            update_state(state, event, category, self.params, window_id=t // DAY_MS)
        return state

    def states(self, users: int, mean_events: float) -> Iterator[UserState]:
        sigma = 1.0  # log-normal spread: most users light, a long tail of heavy ones
        mu = np.log(mean_events) - sigma**2 / 2
        for user in range(users):
            yield self.state(user, max(1, int(self.rng.lognormal(mu, sigma))))


class Stores:
    """One RocksDB with Faust's options and one compacted topic, written together."""

    def __init__(self, folder: Path, settings: Settings, topic: str) -> None:
        from faust.stores.rocksdb import RocksDBOptions
        from kafka import KafkaAdminClient, KafkaProducer
        from kafka.admin import NewTopic

        from coea.security import kafka_python_options

        self.path = folder / "users.db"
        self.db = RocksDBOptions(use_rocksdict=True).open(self.path)
        security = kafka_python_options(settings)
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **security)
        admin.create_topics([NewTopic(topic, 4, 1, topic_configs={"cleanup.policy": "compact"})])
        admin.close()
        self.topic, self.settings = topic, settings
        self.producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            linger_ms=20,
            acks="all",
            enable_idempotence=True,
            **security,
        )
        self.batch: list[tuple[bytes, bytes]] = []
        self.users = self.json_bytes = 0
        self.fields: dict[str, int] = {}  # JSON bytes of each state field, summed over users

    def put(self, state: UserState) -> None:
        key, value = state.user_id.encode(), state.to_json()
        self.batch.append((key, value))
        self.producer.send(self.topic, key=key, value=value)
        self.users += 1
        self.json_bytes += len(key) + len(value)
        if self.users <= 2_000:  # a sample is enough for the breakdown
            for name, field in state.to_dict().items():
                self.fields[name] = (
                    self.fields.get(name, 0) + len(json.dumps(field)) + len(name) + 4
                )
        if len(self.batch) >= 1000:
            self._write()

    def _write(self) -> None:
        from rocksdict import WriteBatch

        wb = WriteBatch(raw_mode=True)
        for key, value in self.batch:
            wb.put(key, value)
        self.db.write(wb)
        self.batch.clear()

    def close(self) -> dict:
        self._write()
        self.producer.flush()
        self.producer.close()
        self.db.flush()
        self.db.compact_range(None, None)
        self.db.close()
        logs = BrokerPaths(Path(self.settings.kafka_home)).data
        # record data only: the broker preallocates its index files
        topic_bytes = sum(f.stat().st_size for f in logs.glob(f"{self.topic}-*/*.log"))
        sampled = min(self.users, BREAKDOWN_USERS)
        return {
            "users": self.users,
            "json_bytes_per_user": round(self.json_bytes / self.users, 1),
            "rocksdb_bytes_per_user": round(folder_bytes(self.path) / self.users, 1),
            "changelog_bytes_per_user": round(topic_bytes / self.users, 1),
            "json_bytes_by_field": {k: round(v / sampled, 1) for k, v in self.fields.items()},
        }


def measure(settings: Settings, folder: Path, states: Iterator[UserState], label: str) -> dict:
    scratch = Settings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}")
    topic = f"{scratch.topic_prefix}.state-size"
    stores = Stores(folder / label, settings, topic)
    start = time.perf_counter()
    try:
        for n, state in enumerate(states, 1):
            stores.put(state)
            if n % 10_000 == 0:
                rate = n / (time.perf_counter() - start)
                print(f"\r{label}: {n:,} users ({rate:,.0f}/s)", end="", file=sys.stderr)
        result = stores.close()
    finally:
        delete_topics(scratch)
        shutil.rmtree(folder / label, ignore_errors=True)
    print(file=sys.stderr)
    return result | {"seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--mean-events", type=float, default=20.0, help="mean events per user")
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--categories", type=int, default=200)
    ap.add_argument("--exposures", type=float, default=0.3, help="share of exposure events")
    ap.add_argument("--sample", type=int, default=2_000, help="users per point of the bound")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "state_size.json")
    args = ap.parse_args()
    settings = Settings()
    result: dict = {"params": StateParams.from_settings(settings).__dict__, "curve": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n_events in CURVE:
            pop = Population(args.items, args.categories, args.exposures, seed=n_events)
            states = (pop.state(u, n_events) for u in range(args.sample))
            point = measure(settings, folder, states, f"{n_events}-events")
            result["curve"][n_events] = point
            print(
                f"{n_events:>6} events/user  state {point['json_bytes_per_user']:>9,.0f} B json, "
                f"{point['rocksdb_bytes_per_user']:>9,.0f} B RocksDB, "
                f"{point['changelog_bytes_per_user']:>9,.0f} B changelog"
            )
        pop = Population(args.items, args.categories, args.exposures, seed=0)
        scale = measure(settings, folder, pop.states(args.users, args.mean_events), "population")
    result["population"] = scale | {"mean_events": args.mean_events}
    result["goal_bytes_per_user"] = 2048
    result["machine"] = {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}
    result["ts"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(
        f"{args.users:,} users (mean {args.mean_events:g} events): "
        f"{scale['json_bytes_per_user']:,.0f} B json, "
        f"{scale['rocksdb_bytes_per_user']:,.0f} B RocksDB, "
        f"{scale['changelog_bytes_per_user']:,.0f} B changelog per user "
        f"(goal <= 2,048) in {scale['seconds']} s"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
