"""Benchmark DSIE: training time and assignment throughput on ML-100K, assignment on 1M users.

    .venv/bin/python bench/groups.py --path ../shared/data/ml-100k [--artifact DIR]

1. Fit DSIE with the default config on ML-100K (skipped with --artifact: load that instead).
2. Assignment throughput on ML-100K's users (embed + quantise + group), repeated >= 3 s.
3. Assignment throughput on a synthetic population (default 1M users) made in batches: each
   user gets items drawn from the fitted vocabulary, lengths drawn from ML-100K's I'_long
   lengths; only `DSIE.assign` is timed (drawing the sequences is reported separately).
4. Peak memory: ru_maxrss of the process and the tracemalloc peak (Python objects only).
Writes bench/results/groups.json and prints a table. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coea.data.movielens import load_ml_100k  # noqa: E402
from coea.data.sequences import ml_user_sequences  # noqa: E402
from models.dsie import DSIE, DSIEConfig, UserSequence  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "groups.json"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def throughput(model: DSIE, users: list[UserSequence], min_seconds: float = 3.0) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_seconds:
        model.assign(users)
        n += len(users)
    return n / (time.perf_counter() - t0)


def population(model: DSIE, lengths: np.ndarray, n: int, batch: int, seed: int):
    """Batches of synthetic users: vocabulary items, ML-100K-like lengths (>= min_long_items)."""
    rng = np.random.default_rng(seed)
    vocab = np.array(model.vocab.items)
    lengths = lengths[lengths >= model.config.min_long_items]
    for start in range(0, n, batch):
        size = min(batch, n - start)
        lens = rng.choice(lengths, size=size)
        items = vocab[rng.integers(0, len(vocab), size=int(lens.sum()))].tolist()
        ends = np.cumsum(lens)
        yield [
            UserSequence(f"s{start + k}", items[e - ln : e], {"age": int(rng.integers(18, 70))})
            for k, (e, ln) in enumerate(zip(ends, lens, strict=True))
        ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_path = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"
    ap.add_argument("--path", default=str(default_path), help="MovieLens-100K folder")
    ap.add_argument("--artifact", help="load this DSIE artifact instead of fitting")
    ap.add_argument("--epochs", type=int, help="encoder epochs (default: the config's)")
    ap.add_argument("--population", type=int, default=1_000_000, help="synthetic users")
    ap.add_argument("--batch", type=int, default=10_000, help="users per assign() call")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    histories = ml_user_sequences(load_ml_100k(args.path))
    users = [UserSequence.of(h) for h in histories]
    result: dict = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": args.threads,
        "load_avg_start": os.getloadavg()[0],
    }
    if args.artifact:
        model = DSIE.load(args.artifact)
        result["fit_seconds"] = None
    else:
        cfg = DSIEConfig()
        if args.epochs is not None:
            cfg.encoder.epochs = args.epochs
        t0 = time.perf_counter()
        model = DSIE.fit(users, load_ml_100k(args.path).categories(), cfg, progress=True)
        result["fit_seconds"] = round(time.perf_counter() - t0, 1)
    enc = model.config.encoder
    result["config"] = {"encoder_epochs": enc.epochs, "d": enc.d, "layers": enc.n_layers}
    result["config"]["groups"] = model.n_groups
    result["ml100k_users"] = len(users)
    result["ml100k_assign_users_per_s"] = round(throughput(model, users), 1)
    result["rss_mib_after_ml100k"] = round(rss_mib(), 1)
    lengths = np.array([len(u.long_items) for u in users])
    tracemalloc.start()
    assign_s = gen_s = 0.0
    n = 0
    t_gen = time.perf_counter()
    for batch in population(model, lengths, args.population, args.batch, seed=0):
        t = time.perf_counter()
        gen_s += t - t_gen
        model.assign(batch)
        t_gen = time.perf_counter()
        assign_s += t_gen - t
        n += len(batch)
        print(f"\r{n:,}/{args.population:,} users, {n / assign_s:,.0f} users/s", end="", flush=True)
    print()
    result["population"] = n
    result["population_assign_seconds"] = round(assign_s, 1)
    result["population_assign_users_per_s"] = round(n / assign_s, 1)
    result["population_generate_seconds"] = round(gen_s, 1)
    result["tracemalloc_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    result["peak_rss_mib"] = round(rss_mib(), 1)
    result["load_avg_end"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    width = max(map(len, result))
    print("\n".join(f"{k:<{width}}  {v}" for k, v in result.items()))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
