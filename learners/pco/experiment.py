"""PCO on MovieLens-100K: cycle 0 (SFT + reward model), then N closed-loop cycles with and
without the KL term (the paper's Figure 4 effect), written to JSON and a PNG plot.

    python -m learners.pco.experiment --path ../shared/data/ml-100k --out var/pco-ml100k \
        --cycles 10 --compare-kl --json docs/results/pco-ml100k.json \
        --png docs/results/pco-ml100k.png

Data: by default D_k is all stored data for every k and each cycle feeds back a sample of it,
as in the paper's Figure 4 protocol ("each round feeds back 1% stored data"). With
`--start-share s < 1` ratings are ordered by time, cycle 0 sees the first s of them and cycle k
the first s + k (1 - s) / N (growing windows). Cycle 0 trains on every step of each training
user's clicks (`--train-short-k 0`); cycles and evaluation use K-click windows (`--short-k`).
10% of users (stable hash) are held out of all training: next-category accuracy, reward
pairwise accuracy and the per-cycle novelty are measured on them.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from learners.pco import artifacts
from learners.pco.config import PCOConfig
from learners.pco.cycle import run_cycle
from learners.pco.data import (
    NegativeSampler,
    UserContext,
    contexts_from_log,
    eval_target,
    reward_pairs,
    split_users,
)
from learners.pco.metrics import compare_to_most_popular, evaluate, long_tail
from learners.pco.options import add_arguments
from learners.pco.state import bootstrap, load_models
from models.lm.relevance import pairwise_accuracy


@dataclass
class Prepared:
    """Everything the runs share: log, DSIE, windows, held-out users and their targets."""

    log: object
    dsie: object
    mode: str
    short_k: int
    dsie_short_k: int
    windows: list[int]  # until_ts of cycle 0..N
    train_ids: set[str]
    heldout: list[UserContext]
    categories: list[str]
    profiles: dict[int, str]
    train_k: int = 0  # window of cycle 0's training contexts; 0: all clicks
    _cache: dict = field(default_factory=dict)

    def training_contexts(self) -> list[UserContext]:
        """Cycle 0's SFT / reward data: training users' steps over a `train_k` window."""
        if "train" not in self._cache:
            all_ctx = contexts_from_log(
                self.log,
                self.dsie,
                mode=self.mode,
                short_k=self.train_k or 10**9,
                until_ts=self.windows[0],
                dsie_short_k=self.dsie_short_k,
            )
            self._cache["train"] = [c for c in all_ctx if c.user_id in self.train_ids]
        return self._cache["train"]

    def contexts(self, cycle: int) -> list[UserContext]:
        """D_k: training users' contexts from the ratings up to window `cycle`."""
        if cycle not in self._cache:
            all_ctx = contexts_from_log(
                self.log,
                self.dsie,
                mode=self.mode,
                short_k=self.short_k,
                until_ts=self.windows[cycle],
                dsie_short_k=self.dsie_short_k,
            )
            self._cache[cycle] = [c for c in all_ctx if c.user_id in self.train_ids]
        return self._cache[cycle]


def time_windows(log, n_cycles: int, start_share: float) -> list[int]:
    """until_ts of cycle 0..n: quantiles of the rating times."""
    ts = [r.ts for r in log.ratings]
    shares = [start_share + k * (1 - start_share) / max(n_cycles, 1) for k in range(n_cycles + 1)]
    return [ts[min(len(ts) - 1, int(s * len(ts)) - 1)] for s in shares]


def fit_or_load_dsie(
    log,
    mode: str,
    short_k: int,
    tau: int,
    artifact: str | None,
    n_groups: int,
    progress: bool,
    tiny: bool = False,
):
    """DSIE fitted on the whole log's long-term sequences, or loaded."""
    from coea.data.sequences import ml_user_sequences
    from models.dsie import DSIE, DSIEConfig, UserSequence

    if artifact:
        return DSIE.load(artifact)
    hist = ml_user_sequences(log, tau, 4.0, short_k, mode)
    users = [UserSequence.of(h) for h in hist]
    cfg = DSIEConfig.tiny(n_groups=n_groups) if tiny else DSIEConfig(n_groups=n_groups)
    return DSIE.fit(users, log.categories(mode), cfg, progress=progress)


def prepare(args: argparse.Namespace) -> Prepared:
    from coea.data.movielens import load_movielens

    log = load_movielens(args.dataset, args.path)
    if args.max_users:
        keep = {u for u in sorted(log.by_user(), key=int)[: args.max_users]}
        log.ratings = [r for r in log.ratings if r.user_id in keep]
    dsie = None
    if not args.no_dsie:
        dsie = fit_or_load_dsie(
            log,
            args.mode,
            args.dsie_short_k,
            args.tau,
            args.groups_artifact,
            args.groups,
            args.progress,
            tiny=args.dsie_tiny,
        )
    full = contexts_from_log(
        log, dsie, mode=args.mode, short_k=args.short_k, dsie_short_k=args.dsie_short_k
    )
    train, held = split_users(full, args.holdout, args.seed)
    profiles = {g: p.text for g, p in dsie.profiles.items()} if dsie else {}
    return Prepared(
        log,
        dsie,
        args.mode,
        args.short_k,
        args.dsie_short_k,
        time_windows(log, args.cycles, args.start_share),
        {c.user_id for c in train},
        held,
        sorted(set(log.categories(args.mode).values())),
        profiles,
        args.train_short_k,
    )


def stage0(prep: Prepared, config: PCOConfig, root: Path, reuse: bool = False) -> dict:
    """Cycle 0 and its held-out quality: SFT vs most-popular, reward pairwise accuracy.

    `reuse`: load an existing complete cycle 0 under `root` instead of training it again.
    """
    train = prep.training_contexts()
    if reuse and 0 in artifacts.complete_cycles(root):
        models = load_models(root, 0, config)
        metrics = artifacts.read_manifest(artifacts.cycle_dir(root, 0))["metrics"]
    else:
        if root.exists():
            shutil.rmtree(root)
        window = {"until_ts": prep.windows[0], "train_k": prep.train_k}
        models, metrics = bootstrap(train, prep.categories, prep.profiles, config, root, window)
    m, pairs = config.m_candidates, heldout_pairs(prep, config)
    # baselines: popularity over the same training steps, and over the K-window steps of D_0
    window = compare_to_most_popular(models, prep.contexts(0), prep.heldout, m, seed=config.seed)
    return {
        "train_users": len(train),
        "heldout_users": len(prep.heldout),
        **metrics,
        **compare_to_most_popular(models, train, prep.heldout, m, seed=config.seed),
        "most_popular_window": window["most_popular"],
        **{f"{k}_window": v for k, v in window.items() if k.startswith("diff_")},
        "reward_pairwise_acc": pairwise_accuracy(models.reward_scorer(), pairs),
        "reward_heldout_pairs": len(pairs),
    }


def heldout_pairs(prep: Prepared, config: PCOConfig) -> list[dict]:
    sampler = NegativeSampler.from_contexts(prep.contexts(0), prep.categories)
    return reward_pairs(prep.heldout, config.builder(), sampler, random.Random(config.seed + 1))


def run_variant(
    prep: Prepared, config: PCOConfig, stage_root: Path, root: Path, cycles: int, label: str
) -> list[dict]:
    """Copy cycle 0, then run `cycles` cycles; one evaluated row per cycle (cycle 0 included)."""
    from tqdm.auto import tqdm

    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(stage_root, root)
    models = load_models(root, 0, config)
    eval_set = [e for e in (eval_target(c, config.min_context) for c in prep.heldout) if e]
    pairs, tail = heldout_pairs(prep, config), long_tail(prep.contexts(0), prep.categories)
    rows = [{"cycle": 0, **evaluate(models, eval_set, pairs, tail)}]
    rng = random.Random(config.seed)
    for k in tqdm(range(1, cycles + 1), desc=f"PCO cycles ({label})", file=sys.stderr):
        window = {"from_ts": prep.windows[k - 1], "until_ts": prep.windows[k]}
        models, cm = run_cycle(models, prep.contexts(k), k, root, rng, window)
        rows.append({"cycle": k, **_cycle_row(cm), **evaluate(models, eval_set, pairs, tail)})
        print_row(label, rows[-1], config.m_candidates)
    return rows


def _cycle_row(cm: dict) -> dict:
    dpo, rew = cm.get("dpo", {}), cm.get("reward", {})
    return {
        "dpo_loss": dpo.get("loss_last", float("nan")),
        "kl_train": dpo.get("kl_train", float("nan")),
        "kl_to_ref": cm.get("kl_to_ref", float("nan")),
        "reward_loss": rew.get("loss_last", float("nan")),
        "dpo_pairs": cm.get("dpo_pairs", 0),
        "sampled": cm["sampled"],
        "cycle_seconds": cm["cycle_seconds"],
    }


HEADER = (
    "variant      cyc  dpo_loss  rm_loss   rm_acc   KL_ref  KL_base  aligned  novel@M"
    "    cover    hit@M"
)


def print_row(label: str, r: dict, m: int) -> None:
    def f(key: str) -> str:
        v = r.get(key, float("nan"))
        return f"{v:7.4f}" if isinstance(v, float) else f"{v!s:>7}"

    print(
        f"{label:<12} {r['cycle']:>3}  {f('dpo_loss')}  {f('reward_loss')}"
        f"  {f('reward_pairwise_acc')}  {f('kl_to_ref')}  {f('kl_to_base')}  {f('aligned_share')}"
        f"  {f(f'novel_share@{m}')}  {f('coverage')}  {f(f'hit@{m}')}",
        flush=True,
    )


def build_config(args: argparse.Namespace) -> PCOConfig:
    """PCOConfig from the command line (paper defaults unless overridden)."""
    cfg = PCOConfig(
        seed=args.seed,
        fraction=args.fraction,
        min_samples=args.min_samples,
        m_candidates=args.m_candidates,
        progress=False,
    )
    cfg.dpo.alpha, cfg.dpo.beta = args.alpha, args.beta
    if args.dpo_lr is not None:
        cfg.dpo.builtin_learning_rate = cfg.dpo.learning_rate = args.dpo_lr
    if args.sft_epochs is not None:
        cfg.sft.epochs = args.sft_epochs
    if args.reward_epochs is not None:
        cfg.reward.epochs = args.reward_epochs
    if args.checkpoint:
        cfg.novelty.checkpoint = cfg.relevance.checkpoint = args.checkpoint
    for settings in (cfg.sft, cfg.reward, cfg.reward_update, cfg.dpo):
        settings.seed = args.seed
    return cfg.with_ablation(args.ablation).on_device(getattr(args, "device", "cpu"))


def parser() -> argparse.ArgumentParser:
    """The experiment's command line: every option of `learners.pco.options.OPTIONS`."""
    return add_arguments(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))


def run(args: argparse.Namespace, command: str) -> dict:
    """The whole experiment; returns (and optionally writes) the results."""
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    config = build_config(args)
    prep = prepare(args)
    out = Path(args.out)
    stage_root = out / "cycle0"
    s0 = stage0(prep, config, stage_root, reuse=args.reuse_cycle0)
    print_stage0(s0, config.m_candidates)
    print(HEADER, flush=True)
    variants = {_variant_name(args.ablation, config): config}
    if args.compare_kl:
        variants["without_kl"] = config.with_ablation("no-kl")
    runs = {
        name: run_variant(prep, cfg, stage_root, out / name, args.cycles, name)
        for name, cfg in variants.items()
    }
    results = summarise(args, command, config, prep, s0, runs, time.perf_counter() - t0)
    from learners.pco.report import plot, write_json

    if args.json:
        write_json(results, args.json)
    if args.png:
        plot(results, args.png)
    return results


def _variant_name(ablation: str, config: PCOConfig) -> str:
    if ablation != "none":
        return ablation
    return "with_kl" if config.dpo.alpha > 0 else "without_kl"


def print_stage0(s0: dict, m: int) -> None:
    nov = s0["novelty_llm"]
    print(f"cycle 0: SFT {s0['sft_examples']} examples, reward {s0['reward_pairs']} pairs")
    print(f"  held-out next novel category ({nov['n']} steps of {s0['heldout_users']} users):")
    rows = (
        ("Novelty LLM", nov, ""),
        ("most-popular (same training steps)", s0["most_popular"], ""),
        ("most-popular (K-window steps)", s0["most_popular_window"], "_window"),
    )
    for name, r, suffix in rows:
        line = f"    {name:<36} acc@1 {r['acc@1']:.4f}  hit@{m} {r[f'hit@{m}']:.4f}"
        for key in ("acc@1", f"hit@{m}") if name != "Novelty LLM" else ():
            d = s0.get(f"diff_{key}{suffix}")
            if d:
                lo, hi = d["ci95"]
                line += f"  | LLM-minus {key} {d['mean']:+.4f} [{lo:+.4f}, {hi:+.4f}]"
        print(line)
    print(
        f"  reward pairwise accuracy {s0['reward_pairwise_acc']:.4f} on "
        f"{s0['reward_heldout_pairs']} held-out pairs",
        flush=True,
    )


def summarise(args, command, config, prep, s0, runs, seconds) -> dict:
    m = config.m_candidates
    key = f"novel_share@{m}"
    stability = {}
    for name, rows in runs.items():
        first = rows[1][key] if len(rows) > 1 else rows[0][key]
        worst = (
            max(abs(r[key] - first) / first for r in rows[1:]) if len(rows) > 1 and first else 0.0
        )
        stability[name] = {
            "cycle1": first,
            "last": rows[-1][key],
            "max_rel_change_vs_cycle1": worst,
        }
    return {
        "command": command,
        "dataset": args.dataset,
        "category_mode": args.mode,
        "n_categories": len(prep.categories),
        "novelty_measure": f"{key}: mean over held-out users of |top-{m} candidates not in "
        f"the user's clicked categories| / {m}",
        "windows_until_ts": prep.windows,
        "dsie": prep.dsie.summary() if prep.dsie else None,
        "config": config.to_json(),
        "stage0": s0,
        "runs": runs,
        "novelty_stability": stability,
        "seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    run(args, "python -m learners.pco.experiment " + " ".join(argv))


if __name__ == "__main__":
    main()
