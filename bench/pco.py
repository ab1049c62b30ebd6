"""Benchmark (not a test): PCO trainer throughput and one cycle's wall time, default model size.

    .venv/bin/python bench/pco.py [--path ../shared/data/ml-100k] [--threads 1]

Uses MovieLens-100K contexts (genre-combo, K=20, no DSIE: groups do not change the cost) when
the folder exists, else synthetic contexts. Writes bench/results/pco.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
ML100K = ROOT.parent / "shared" / "data" / "ml-100k"


def load_contexts(path: Path):
    from learners.pco.data import contexts_from_log
    from learners.pco.synthetic import synthetic_contexts

    if (path / "u.data").is_file():
        from coea.data.movielens import load_ml_100k

        log = load_ml_100k(path)
        cats = sorted(set(log.categories("genre-combo").values()))
        return contexts_from_log(log, None, mode="genre-combo", short_k=20), cats, "ml-100k"
    ctx, cats, _ = synthetic_contexts(n_users=900, n_categories=200, seq_len=20)
    return ctx, cats, "synthetic"


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_trainers(contexts, cats, n_sft: int, n_pairs: int, n_dpo: int) -> dict:
    """One epoch of each trainer at the default model size; metrics per trainer."""
    from learners.pco.config import PCOConfig
    from learners.pco.data import NegativeSampler, reward_pairs, sft_examples
    from models.lm.backbone import attach_lora, build_model
    from models.lm.kl import train_dpo
    from models.lm.novelty import train_sft
    from models.lm.relevance import train_reward
    from models.lm.tokenizer import build_tokenizer

    cfg = PCOConfig()
    b, tok, one = cfg.builder(), build_tokenizer(cats), {"epochs": 1.0}
    sft = sft_examples(contexts, b)[:n_sft]
    sampler = NegativeSampler.from_contexts(contexts, cats)
    pairs = reward_pairs(contexts, b, sampler, random.Random(0))[:n_pairs]
    rows = {}
    model = build_model(cfg.novelty, tok, "causal")
    sft_settings = type(cfg.sft)(**(vars(cfg.sft) | one))
    _, rows["sft (full, batch 32)"] = train_sft(model, tok, sft, sft_settings, cfg.novelty)
    rm = build_model(cfg.relevance, tok, "reward")
    rm_settings = type(cfg.reward)(**(vars(cfg.reward) | one))
    _, rows["reward (full, batch 32)"] = train_reward(
        rm, tok, pairs, rm_settings, cfg.relevance, lora=False
    )
    dpo = [
        {
            "prompt": p["prompt"].replace("<cand>", "<novel>"),
            "chosen": p["chosen"],
            "rejected": p["rejected"],
        }
        for p in pairs[:n_dpo]
    ]
    for alpha in (0.4, 0.0):
        policy = attach_lora(build_model(cfg.novelty, tok, "causal"), cfg.novelty, "causal")
        s = type(cfg.dpo)(**(vars(cfg.dpo) | one | {"alpha": alpha}))
        _, rows[f"dpo lora (alpha {alpha}, batch 16)"] = train_dpo(policy, tok, dpo, s, cfg.novelty)
    return rows


def bench_cycle(contexts, cats) -> float:
    """Wall time of one default PCO cycle (128 sampled contexts) after a quick cycle 0."""
    from learners.pco.config import PCOConfig
    from learners.pco.cycle import run_cycle
    from learners.pco.state import bootstrap

    tmp = Path(tempfile.mkdtemp(prefix="pco-bench-"))
    try:
        models, _ = bootstrap(contexts[:200], cats, {}, PCOConfig.tiny(m_candidates=10), tmp)
        models.config = PCOConfig(min_samples=128)  # the cycle itself runs with the defaults
        _, seconds = timed(lambda: run_cycle(models, contexts, 1, tmp, random.Random(0)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return seconds


def bench(path: Path, n_sft: int, n_pairs: int, n_dpo: int) -> dict:
    contexts, cats, source = load_contexts(path)
    rows = bench_trainers(contexts, cats, n_sft, n_pairs, n_dpo)
    return {
        "source": source,
        "contexts": len(contexts),
        "categories": len(cats),
        "trainers": rows,
        "cycle_seconds": bench_cycle(contexts, cats),
        "cycle_samples": 128,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--path", default=str(ML100K))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--sft", type=int, default=2000, help="SFT examples")
    p.add_argument("--pairs", type=int, default=2000, help="reward pairs")
    p.add_argument("--dpo", type=int, default=512, help="DPO pairs")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "pco.json"))
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    res = bench(Path(args.path), args.sft, args.pairs, args.dpo)
    res |= {
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "torch": torch.__version__,
        "load_avg_1min": os.getloadavg()[0],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"{'trainer':<28} {'examples':>8} {'steps':>6} {'seconds':>8} {'examples/s':>11}")
    for name, m in res["trainers"].items():
        print(
            f"{name:<28} {m['examples']:>8} {m['steps']:>6} {m['runtime_s']:>8.2f}"
            f" {m['examples_per_s']:>11.1f}"
        )
    print(
        f"one PCO cycle ({res['cycle_samples']} sampled contexts of {res['contexts']}): "
        f"{res['cycle_seconds']:.2f} s   [{res['source']}, {res['threads']} thread(s), "
        f"load {res['load_avg_1min']:.1f}]  -> {out}"
    )


if __name__ == "__main__":
    main()
