"""Benchmark: one learner cycle's stages at 10k, 100k and 1M synthetic users, with peak memory.

A synthetic population (taste groups over a catalogue of categories; each user's long-term
items, recent categories and exposures drawn from their taste) fills a `WindowStore` as the
learner's window records would. The first cycle (DSIE fit + PCO bootstrap, the default
built-in models) runs once on a small population (``--bootstrap-users``; training is not
what this bench measures); then for each size the stages of a
cycle are timed on the real code:

- assignment: `CycleEngine.assign` (DSIE encoder + RQ-VAE + group map) for every user;
- contexts: the PCO contexts of every user (`CycleEngine._contexts`);
- generation and scoring: the Novelty LLM's candidates and the Relevance LLM's scores for
  every distinct (group, C'_short) key, at most `EngineConfig.max_keys` (20,000) per cycle;
- table: the rows of `learners.engine.novel_table` (generation and scoring again, so its
  time is reported as the whole table stage) and the version's records;
- publish: those records to a scratch table topic on the local broker (`publish_version`).

Peak memory: the process's peak RSS after each size (sizes run in increasing order, so each
figure is the most that size needed). Writes bench/results/learner_scale.json and prints
one line per stage and size.

    .venv/bin/python bench/learner_scale.py [--sizes 10000 100000 1000000]
    (needs `coea broker up` for the publish stage)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coea.settings import Settings  # noqa: E402
from coea.state import ordered_set_last  # noqa: E402
from coea.table import version_records  # noqa: E402
from coea.table_io import publish_version  # noqa: E402
from learners.dataset import UserRecord, WindowStore  # noqa: E402
from learners.engine import CycleEngine, EngineConfig, novel_table  # noqa: E402
from learners.pco.cycle import generate, score  # noqa: E402
from stream_app.testing import delete_topics  # noqa: E402


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def population(n: int, n_categories: int, n_tastes: int, seed: int) -> WindowStore:
    """`n` users: each has a taste (a Dirichlet over categories); items belong to categories."""
    rng = np.random.default_rng(seed)
    cats = [f"c{i:03d}" for i in range(n_categories)]
    tastes = rng.dirichlet(np.full(n_categories, 0.05), size=n_tastes)
    store = WindowStore()
    for u in range(n):
        taste = tastes[rng.integers(n_tastes)]
        n_long = int(min(200, rng.lognormal(3.0, 1.0)))
        long_c = rng.choice(n_categories, size=n_long, p=taste)
        long_items = [f"i{c}-{rng.integers(500)}" for c in long_c.tolist()]
        short = [cats[c] for c in rng.choice(n_categories, size=10, p=taste).tolist()]
        seen = ordered_set_last(short)
        negatives = [cats[c] for c in rng.integers(0, n_categories, size=5).tolist()]
        long_categories = [cats[c] for c in long_c.tolist()]
        store.users[f"u{u}"] = UserRecord(
            user_id=f"u{u}",
            long_items=long_items,
            long_categories=long_categories,
            short_categories=short,
            short_set=seen,
            negatives=[c for c in negatives if c not in seen],
            positives=short[-3:],
            features={"age": int(rng.integers(18, 70))},
            last_window=1,
            clicked_categories=sorted(set(long_categories) | set(short)),
        )
    store.records = n
    store.window_ids = {1}
    return store


class Stages:
    """Seconds per named stage: ``with stages("assign_s"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, label: str) -> Stages:
        self.label = label
        return self

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc) -> None:
        self.seconds[self.label] = round(time.perf_counter() - self.start, 2)


def one_size(engine: CycleEngine, n: int, args, settings: Settings) -> dict:
    """Time a cycle's stages (no training) on a population of `n` users."""
    stage = Stages()
    with stage("population_s"):
        store = population(n, args.categories, args.tastes, seed=n)
    users = [u for _, u in sorted(store.users.items())]
    with stage("assign_s"):
        assigned = engine.assign(users)
    with stage("contexts_s"):
        contexts = engine._contexts(users, assigned, engine.models.categories)
    keys: dict = {}
    for ctx in contexts:
        keys.setdefault((ctx.group, ctx.table_short), ctx)
    chosen = [keys[k] for k in sorted(keys)[: engine.config.max_keys]]
    with stage("generate_s"):
        cands = generate(engine.models, chosen)
    with stage("score_s"):
        score(engine.models, chosen, cands)
    default = engine.dsie.default_group
    with stage("table_s"):
        rows, _ = novel_table(engine.models, contexts, default, engine.config.max_keys)
    records = version_records(rows, 1, 1, engine.dsie.version, 0, default_group=default)
    with stage("publish_s"):
        publish_version(records, settings)
    s = stage.seconds
    return {
        "users": n,
        "distinct_keys": len(keys),
        "keys_scored": len(chosen),
        "rows": len(rows),
        "records": len(records),
        **s,
        "assign_users_per_s": round(n / s["assign_s"], 1),
        "peak_rss_mib": round(rss_mib(), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--categories", type=int, default=200)
    ap.add_argument("--tastes", type=int, default=100, help="latent taste groups")
    ap.add_argument("--bootstrap-users", type=int, default=150, help="users of the first cycle")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "learner_scale.json")
    args = ap.parse_args()
    cats = [f"c{i:03d}" for i in range(args.categories)]
    settings = Settings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}")
    result: dict = {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg_start": os.getloadavg()[0],
        "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        engine = CycleEngine(tmp, EngineConfig())
        first = population(args.bootstrap_users, args.categories, args.tastes, seed=0)
        start = time.perf_counter()
        out, _ = engine.run(first, 1, cats)
        result["first_cycle"] = {
            "users": len(first.users),
            "seconds": round(time.perf_counter() - start, 1),
            "groups": engine.dsie.n_groups,
            "note": "DSIE fit + PCO bootstrap (SFT + reward model) + table, built-in models",
        }
        print(
            f"first cycle (fit + bootstrap) on {len(first.users):,} users: "
            f"{result['first_cycle']['seconds']} s"
        )
        try:
            for n in args.sizes:
                e = result["sizes"][n] = one_size(engine, n, args, settings)
                print(
                    f"{n:>9,} users  assign {e['assign_s']:>7} s "
                    f"({e['assign_users_per_s']:,.0f}/s)  contexts {e['contexts_s']} s  "
                    f"generate {e['generate_s']} s  score {e['score_s']} s  "
                    f"table {e['table_s']} s  publish {e['publish_s']} s  "
                    f"({e['keys_scored']:,} of {e['distinct_keys']:,} keys)  "
                    f"peak RSS {e['peak_rss_mib']:,.0f} MiB",
                    flush=True,
                )
        finally:
            delete_topics(settings)
    result["load_avg_end"] = os.getloadavg()[0]
    result["ts"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
