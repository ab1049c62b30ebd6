"""Benchmark (not a test): PCO trainer throughput and one cycle's wall time, default model size.

    .venv/bin/python bench/pco.py [--path ../shared/data/ml-100k] [--threads 1]
    python3 bench/pco.py --device-check [--out FILE]      # on a CUDA machine

Uses MovieLens-100K contexts (genre-combo, K=20, no DSIE: groups do not change the cost) when
the folder exists, else synthetic contexts. Writes bench/results/pco.json and prints a table.

`--device-check` (GPU): the default-size benchmark on CUDA, then a Qwen2.5-0.5B-shaped model
(hidden 896, 24 layers, 14 heads / 2 KV, MLP 4864; our word-level vocabulary) with bf16 mixed
precision: a few SFT / reward / DPO(+KL) steps, one generate + score pass (fp32 and bf16
weights) and one PCO cycle, with peak GPU memory per phase and a check that every model ran on
the GPU. Writes bench/results/pco-<gpu>.json.
"""

from __future__ import annotations

import argparse
import dataclasses
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


# LMConfig fields of the built-in model; "0.5b" is Qwen2.5-0.5B's shape (vocab: ours)
SHAPES = {
    "small": {},
    "0.5b": {
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_layers": 24,
        "num_heads": 14,
        "num_kv_heads": 2,
    },
}


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_config(shape: str = "small", device: str = "cpu", bf16: bool = False, base=None, **kw):
    """`base` (default PCOConfig()) with the built-in model of `shape`, trainers on `device`."""
    from learners.pco.config import PCOConfig
    from models.lm.config import LMConfig

    cfg = dataclasses.replace(base or PCOConfig(), **kw)
    run = {"use_cpu": device == "cpu", "bf16": bf16}
    trainers = {k: dataclasses.replace(getattr(cfg, k), **run) for k in TRAINERS}
    lm = LMConfig(**SHAPES[shape])
    return dataclasses.replace(cfg, novelty=lm, relevance=dataclasses.replace(lm), **trainers)


TRAINERS = ("sft", "reward", "reward_update", "dpo")


def gpu_reset() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def gpu_stats(model=None) -> dict:
    """Peak GPU memory since gpu_reset() and where `model`'s parameters are."""
    import torch

    out = {}
    if model is not None:
        out["param_devices"] = sorted({str(p.device) for p in model.parameters()})
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        out["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def bench_trainers(
    contexts, cats, n_sft: int, n_pairs: int, n_dpo: int, cfg=None, keep: dict | None = None
) -> dict:
    """One epoch of each trainer (default: default model size, CPU); metrics per trainer.

    `keep`, when given, receives the tokenizer and the trained SFT and reward models.
    """
    from learners.pco.data import NegativeSampler, reward_pairs, sft_examples
    from models.lm.backbone import attach_lora, build_model
    from models.lm.kl import train_dpo
    from models.lm.novelty import train_sft
    from models.lm.relevance import train_reward
    from models.lm.tokenizer import build_tokenizer

    cfg = cfg or bench_config()
    b, tok, one = cfg.builder(), build_tokenizer(cats), {"epochs": 1.0}
    sft = sft_examples(contexts, b)[:n_sft]
    sampler = NegativeSampler.from_contexts(contexts, cats)
    pairs = reward_pairs(contexts, b, sampler, random.Random(0))[:n_pairs]
    rows = {}
    model = build_model(cfg.novelty, tok, "causal")
    sft_settings = type(cfg.sft)(**(vars(cfg.sft) | one))
    gpu_reset()
    model, rows["sft (full, batch 32)"] = train_sft(model, tok, sft, sft_settings, cfg.novelty)
    rows["sft (full, batch 32)"] |= gpu_stats(model)
    rm = build_model(cfg.relevance, tok, "reward")
    rm_settings = type(cfg.reward)(**(vars(cfg.reward) | one))
    gpu_reset()
    rm, rows["reward (full, batch 32)"] = train_reward(
        rm, tok, pairs, rm_settings, cfg.relevance, lora=False
    )
    rows["reward (full, batch 32)"] |= gpu_stats(rm)
    if keep is not None:
        keep |= {"tokenizer": tok, "novelty": model, "relevance": rm}
        model = rm = None
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
        name = f"dpo lora (alpha {alpha}, batch 16)"
        gpu_reset()
        policy, rows[name] = train_dpo(policy, tok, dpo, s, cfg.novelty)
        rows[name] |= gpu_stats(policy)
        policy = None
    return rows


def bench_cycle(contexts, cats, device: str = "cpu") -> float:
    """Wall time of one default PCO cycle (128 sampled contexts) after a quick cycle 0."""
    from learners.pco.config import PCOConfig
    from learners.pco.cycle import run_cycle
    from learners.pco.state import bootstrap

    tiny = bench_config(device=device, base=PCOConfig.tiny(m_candidates=10))
    tmp = Path(tempfile.mkdtemp(prefix="pco-bench-"))
    try:
        models, _ = bootstrap(contexts[:200], cats, {}, tiny, tmp)
        models.config = bench_config(device=device, min_samples=128)  # the cycle: defaults
        _, seconds = timed(lambda: run_cycle(models, contexts, 1, tmp, random.Random(0)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return seconds


def bench(path: Path, n_sft: int, n_pairs: int, n_dpo: int, device: str = "cpu") -> dict:
    contexts, cats, source = load_contexts(path)
    rows = bench_trainers(contexts, cats, n_sft, n_pairs, n_dpo, bench_config(device=device))
    return {
        "source": source,
        "contexts": len(contexts),
        "categories": len(cats),
        "device": device,
        "trainers": rows,
        "cycle_seconds": bench_cycle(contexts, cats, device),
        "cycle_samples": 128,
    }


def bench_inference(models, contexts) -> dict:
    """One generate (top-M, eq. 10) + score (eq. 13) pass over all contexts."""
    import numpy as np

    from learners.pco.cycle import generate, score

    gpu_reset()
    cands, t_gen = timed(lambda: generate(models, contexts))
    scores, t_score = timed(lambda: score(models, contexts, cands))
    n = sum(len(r) for r in cands)
    assert n == len(np.concatenate(scores)), "one score per candidate"
    return {
        "users": len(contexts),
        "candidates": n,
        "generate_s": t_gen,
        "score_s": t_score,
        "generate_users_per_s": len(contexts) / t_gen,
        "score_candidates_per_s": n / t_score,
        "generate_score_users_per_s": len(contexts) / (t_gen + t_score),
        "scorer_device": str(models.category_scorer().device),
        "reward_device": str(next(models.relevance.parameters()).device),
    } | gpu_stats()


def device_check(path: Path, shape: str, n_sft: int, n_pairs: int, n_dpo: int, save) -> dict:
    """Default size on CUDA (vs CPU numbers), then `shape` + bf16: trainers, inference, cycle.

    `save(result)` is called after every stage, so a run cut short keeps what it measured.
    """
    import torch

    from learners.pco.cycle import run_cycle
    from learners.pco.state import PCOModels
    from models.lm.backbone import attach_lora

    t0, device = time.perf_counter(), "cuda" if torch.cuda.is_available() else "cpu"

    def stage(name: str) -> None:
        save(res)
        print(f"[{time.perf_counter() - t0:6.1f} s] {name} done", flush=True)

    contexts, cats, source = load_contexts(path)
    res: dict = {"source": source, "contexts": len(contexts), "categories": len(cats)}
    res["default_size"] = bench(path, 2000, 2000, 512, device)
    stage("default size")
    cfg = bench_config(shape, device, bf16=device == "cuda", min_samples=128)
    keep: dict = {}
    big = res[shape] = {"shape": SHAPES[shape], "bf16_training": device == "cuda"}
    big["trainers"] = bench_trainers(contexts, cats, n_sft, n_pairs, n_dpo, cfg, keep)
    tok, lm, rm = keep["tokenizer"], keep["novelty"], keep["relevance"]
    big["parameters"] = sum(p.numel() for p in lm.parameters())
    big["vocab"] = len(tok)
    stage(f"{shape} trainers")
    models = PCOModels(lm.to(device), rm.to(device), tok, cats, cfg)
    big["inference_fp32"] = bench_inference(models, contexts)
    stage(f"{shape} inference fp32")
    # one cycle: LoRA on both trained bases, as after bootstrap (DPO + KL, reward update, ...)
    models.novelty = attach_lora(lm, cfg.novelty, "causal")
    models.relevance = attach_lora(rm, cfg.relevance, "reward")
    tmp = Path(tempfile.mkdtemp(prefix="pco-bench-"))
    try:
        gpu_reset()
        (_, m), seconds = timed(lambda: run_cycle(models, contexts, 1, tmp, random.Random(0)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    big["cycle"] = {k: m[k] for k in ("sampled", "dpo_pairs", "reward_pairs", "kl_to_ref")}
    big["cycle"] |= {
        "seconds": seconds,
        "dpo_examples_per_s": m["dpo"]["examples_per_s"],
        "reward_examples_per_s": m["reward"]["examples_per_s"],
    }
    big["cycle"] |= gpu_stats(models.novelty)
    big["cycle"]["relevance_devices"] = gpu_stats(models.relevance)["param_devices"]
    stage(f"{shape} cycle")
    if device == "cuda":  # the models after the cycle: LoRA attached, unmerged (not like-for-like)
        models.novelty.to(torch.bfloat16)
        models.relevance.to(torch.bfloat16)
        big["inference_bf16"] = bench_inference(models, contexts)
    parts = [*big["trainers"].values(), big["cycle"]]
    devices = {d for part in parts for d in part.get("param_devices", [])}
    devices |= set(big["cycle"]["relevance_devices"])
    devices |= {big["inference_fp32"]["scorer_device"], big["inference_fp32"]["reward_device"]}
    big["all_on"] = sorted(devices)
    stage(f"{shape} inference bf16")
    return res


def print_trainers(rows: dict) -> None:
    print(
        f"{'trainer':<28} {'examples':>8} {'steps':>6} {'seconds':>8} {'examples/s':>11}  peak MiB"
    )
    for name, m in rows.items():
        print(
            f"{name:<28} {m['examples']:>8} {m['steps']:>6} {m['runtime_s']:>8.2f}"
            f" {m['examples_per_s']:>11.1f}  {m.get('peak_gpu_mib', '-')}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--path", default=str(ML100K))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--sft", type=int, default=2000, help="SFT examples")
    p.add_argument("--pairs", type=int, default=2000, help="reward pairs")
    p.add_argument("--dpo", type=int, default=512, help="DPO pairs")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="trainers' device")
    p.add_argument("--device-check", action="store_true", help="the GPU check (see above)")
    p.add_argument("--shape", choices=sorted(SHAPES), default="0.5b", help="device-check model")
    p.add_argument("--out", default=None, help="JSON (default bench/results/pco[-<gpu>].json)")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    env = {
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "torch": torch.__version__,
        "load_avg_1min": os.getloadavg()[0],
    }
    name = "pco.json"
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
        name = "pco-" + env["gpu"].lower().replace(" ", "-") + ".json"
    out = Path(args.out or ROOT / "bench" / "results" / (name if args.device_check else "pco.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.device_check:

        def save(partial: dict) -> None:
            out.write_text(json.dumps(partial | env, indent=1) + "\n")

        res = device_check(Path(args.path), args.shape, args.sft, args.pairs, args.dpo, save)
        d, big = res["default_size"], res[args.shape]
        print(f"default size on {d['device']}; cycle {d['cycle_seconds']:.2f} s")
        print_trainers(d["trainers"])
        print(f"{args.shape} shape ({big['parameters']:,} parameters, vocab {big['vocab']})")
        print_trainers(big["trainers"])
        for k in ("inference_fp32", "inference_bf16"):
            if k in big:
                m = big[k]
                print(
                    f"{k}: generate {m['generate_users_per_s']:.0f} users/s, score "
                    f"{m['score_candidates_per_s']:.0f} candidates/s, both "
                    f"{m['generate_score_users_per_s']:.0f} users/s, peak "
                    f"{m.get('peak_gpu_mib', '-')} MiB"
                )
        print(f"one cycle: {big['cycle']}")
        print(f"models ran on: {big['all_on']}  -> {out}")
        return
    res = bench(Path(args.path), args.sft, args.pairs, args.dpo, args.device) | env
    out.write_text(json.dumps(res, indent=1) + "\n")
    print_trainers(res["trainers"])
    print(
        f"one PCO cycle ({res['cycle_samples']} sampled contexts of {res['contexts']}): "
        f"{res['cycle_seconds']:.2f} s   [{res['source']}, {res['threads']} thread(s), "
        f"load {res['load_avg_1min']:.1f}]  -> {out}"
    )


if __name__ == "__main__":
    main()
