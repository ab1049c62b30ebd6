"""Measures of a PCO run: next-category accuracy, novelty of generated categories, alignment.

Novelty (the quantity of the paper's Figure 4, defined here):

- ``novel_share@M`` (primary): mean over users of |top-M \\ C_hist(u)| / M, with C_hist the
  categories the user ever clicked (long-term and short-term);
- ``ncp@M``: NCP@K of appendix A.4.3, mean of |top-M \\ C_hist(u)| / |C|;
- ``coverage``: distinct categories over all users' top-M / |C|;
- ``cltp@M``: CLTP@K of appendix A.4.4 (long tail = bottom 20% of categories by clicks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from learners.pco.cycle import align, generate, novelty_prompts, score
from learners.pco.data import UserContext, steps
from learners.pco.state import PCOModels
from models.lm.kl import next_token_kl_to_base
from models.lm.novelty import top_candidates
from models.lm.relevance import pairwise_accuracy


def sft_steps(
    contexts: Sequence[UserContext], novel_only: bool, min_context: int
) -> list[tuple[UserContext, list[str], str]]:
    """(context, prefix C'_short, target) of every SFT step of `contexts`."""
    return [
        (ctx, prefix, target)
        for ctx in contexts
        for prefix, target in steps(
            ctx.short_seq, ctx.long_categories if novel_only else (), min_context
        )
    ]


def next_category_rows(
    models: PCOModels, contexts: Sequence[UserContext], m: int
) -> tuple[list[list[str]], list[str]]:
    """Novelty LLM top-m (prefix masked) and the target of every SFT step of `contexts`."""
    cfg, b = models.config, models.config.builder()
    items = sft_steps(contexts, cfg.novel_only_sft, cfg.min_context)
    if not items:
        return [], []
    prompts = [
        b.novelty(
            c.profile,
            c.group,
            p,
            cfg.trigger_in_sft and t not in set(c.long_categories),
            c.long_categories,
        )
        for c, p, t in items
    ]
    log_probs = models.category_scorer().log_probs(prompts)
    rows = top_candidates(log_probs, models.categories, [p for _, p, _ in items], m)
    return [[c.category for c in r] for r in rows], [t for _, _, t in items]


def most_popular_rows(
    train: Sequence[UserContext],
    contexts: Sequence[UserContext],
    novel_only: bool,
    min_context: int,
    m: int,
) -> tuple[list[list[str]], list[str]]:
    """The most-popular predictor: most frequent training SFT targets not in the prefix."""
    counts = Counter(t for _, _, t in sft_steps(train, novel_only, min_context))
    ranking = [c for c, _ in counts.most_common()]
    items = sft_steps(contexts, novel_only, min_context)
    rows = [[c for c in ranking if c not in set(p)][:m] for _, p, _ in items]
    return rows, [t for _, _, t in items]


def _hit_vectors(
    rows: list[list[str]], targets: list[str], m: int
) -> tuple[np.ndarray, np.ndarray]:
    top1 = np.array([bool(r) and r[0] == t for r, t in zip(rows, targets, strict=True)], float)
    topm = np.array([t in r[:m] for r, t in zip(rows, targets, strict=True)], float)
    return top1, topm


def _hits(rows: list[list[str]], targets: list[str], m: int) -> dict:
    if not rows:
        return {"n": 0, "acc@1": float("nan"), f"hit@{m}": float("nan")}
    top1, topm = _hit_vectors(rows, targets, m)
    return {"n": len(rows), "acc@1": float(top1.mean()), f"hit@{m}": float(topm.mean())}


def compare_to_most_popular(
    models: PCOModels,
    train: Sequence[UserContext],
    contexts: Sequence[UserContext],
    m: int,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict:
    """Held-out next-category accuracy of the Novelty LLM vs most-popular, with paired
    bootstrap 95% intervals (over steps) of the differences."""
    cfg = models.config
    ours, targets = next_category_rows(models, contexts, m)
    pop, _ = most_popular_rows(train, contexts, cfg.novel_only_sft, cfg.min_context, m)
    out = {"novelty_llm": _hits(ours, targets, m), "most_popular": _hits(pop, targets, m)}
    if not targets:
        return out
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(targets), size=(n_boot, len(targets)))
    for name, a, b in zip(
        ("acc@1", f"hit@{m}"),
        _hit_vectors(ours, targets, m),
        _hit_vectors(pop, targets, m),
        strict=True,
    ):
        diffs = (a - b)[idx].mean(1)
        out[f"diff_{name}"] = {
            "mean": float((a - b).mean()),
            "ci95": [float(np.quantile(diffs, 0.025)), float(np.quantile(diffs, 0.975))],
        }
    return out


def long_tail(
    contexts: Sequence[UserContext], categories: Sequence[str], share: float = 0.2
) -> set[str]:
    """Bottom `share` of categories by click volume (appendix A.4.4)."""
    counts = Counter(c for ctx in contexts for c in [*ctx.long_categories, *ctx.short_seq])
    ranked = sorted(categories, key=lambda c: (counts.get(c, 0), c))
    return set(ranked[: max(1, int(share * len(ranked)))])


def novelty_metrics(
    rows: Sequence[Sequence[str]],
    contexts: Sequence[UserContext],
    categories: Sequence[str],
    tail: set[str],
    m: int,
) -> dict:
    """novel_share@m, ncp@m, cltp@m and coverage of generated category lists."""
    if not rows:
        return {}
    n_cat = len(categories)
    new = [sum(c not in ctx.history for c in r[:m]) for r, ctx in zip(rows, contexts, strict=True)]
    return {
        f"novel_share@{m}": float(np.mean([n / m for n in new])),
        f"ncp@{m}": float(np.mean([n / n_cat for n in new])),
        f"cltp@{m}": float(np.mean([sum(c in tail for c in r[:m]) / n_cat for r in rows])),
        "coverage": len({c for r in rows for c in r[:m]}) / n_cat,
    }


def evaluate(
    models: PCOModels,
    eval_set: Sequence[tuple[UserContext, str]],
    heldout_pairs: Sequence[dict],
    tail: set[str],
) -> dict:
    """Novelty, quality (hit of the held-out next novel category) and alignment on a fixed set."""
    m = models.config.m_candidates
    contexts = [c for c, _ in eval_set]
    targets = [t for _, t in eval_set]
    cands = generate(models, contexts)
    rows = [[c.category for c in r] for r in cands]
    prompts = novelty_prompts(models, contexts)
    out = novelty_metrics(rows, contexts, models.categories, tail, m)
    out[f"hit@{m}"] = (
        float(np.mean([t in r for r, t in zip(rows, targets, strict=True)]))
        if rows
        else float("nan")
    )
    out["kl_to_base"] = next_token_kl_to_base(models.novelty, models.tokenizer, prompts)
    if models.config.use_relevance:
        kept = align(cands, score(models, contexts, cands), models.config.tau_align)
        kept_rows = [[c for c, _ in r] for r in kept]
        out["aligned_share"] = sum(map(len, kept_rows)) / max(1, sum(map(len, rows)))
        out["aligned_hit"] = float(
            np.mean([t in r for r, t in zip(kept_rows, targets, strict=True)])
        )
        aligned_new = [
            sum(c not in ctx.history for c in r) for r, ctx in zip(kept_rows, contexts, strict=True)
        ]
        out["aligned_novel_share"] = sum(aligned_new) / max(1, sum(map(len, kept_rows)))
        out["reward_pairwise_acc"] = pairwise_accuracy(models.reward_scorer(), heldout_pairs)
    return out
