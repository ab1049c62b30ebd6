"""One closed-loop PCO cycle k (paper sec. 4.3.3, eq. 15-17).

    sample D_k^sub (eq. 15)
    C_n  = Novelty LLM(P_infer-nov)      top-M, constrained, the user's clicked categories
                                         masked (eq. 10), popularity-debiased (`debias`)
    s_i  = sigmoid(Relevance LLM(P_infer-rel))                                    (eq. 13)
    DPO pairs: c_pos = highest-scored candidate, c_neg = lowest                   (eq. 16)
    Novelty LLM <- DPO + alpha * KL to the cycle k-1 model                        (eq. 17)
    Relevance LLM <- Bradley-Terry update on the sample's real (pos, neg) pairs   (eq. 12)
    regenerate, re-score, keep s_i > tau_align                                   (eq. 14)

P of eq. 15 ("P_infer-nov and the incremental positive categories of cycle k-1"): each
context's C'_short already holds the clicks that arrived since cycle k-1, so P is
P_infer-nov over the current C'_short. Ablation w/o R-LLM: no scores, no DPO, no reward
update; C_align = C_n.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from learners.pco import artifacts
from learners.pco.data import NegativeSampler, UserContext, reward_pairs, sample_contexts
from learners.pco.state import PCOModels
from models.lm.kl import kl_to_reference, train_dpo
from models.lm.novelty import Candidate, debiased, top_candidates
from models.lm.prompts import completion
from models.lm.relevance import train_reward


def novelty_prompts(models: PCOModels, contexts: Sequence[UserContext]) -> list[str]:
    """P_infer-nov of each context (with the novelty trigger)."""
    b = models.config.builder()
    return [
        b.novelty(c.profile, c.group, c.short_set, trigger=True, long=c.long_categories)
        for c in contexts
    ]


def excluded(config, ctx: UserContext) -> set[str]:
    """What a candidate may not be: every category the user clicked (`exclude_history`), or
    only C'_short (the paper's eq. 10)."""
    return ctx.history if config.exclude_history else set(ctx.short_set)


def generate(
    models: PCOModels, contexts: Sequence[UserContext], m: int | None = None
) -> list[list[Candidate]]:
    """C_n: the top-M valid categories of each context outside its excluded set (eq. 10),
    ranked by the popularity-debiased log-probability when `debias` > 0."""
    if not contexts:
        return []
    cfg = models.config
    m = m or cfg.m_candidates
    log_probs = models.category_scorer().log_probs(novelty_prompts(models, contexts))
    ranked = debiased(log_probs, cfg.debias)
    exclude = [excluded(cfg, c) for c in contexts]
    return top_candidates(ranked, models.categories, exclude, m)


def score(
    models: PCOModels, contexts: Sequence[UserContext], candidates: Sequence[Sequence[Candidate]]
) -> list[np.ndarray]:
    """s_i in [0, 1] for each candidate of each context (eq. 13)."""
    b = models.config.builder()
    texts = [
        b.relevance_text(ctx.profile, ctx.group, ctx.short_set, cand.category, ctx.long_categories)
        for ctx, row in zip(contexts, candidates, strict=True)
        for cand in row
    ]
    flat = models.reward_scorer().scores(texts) if texts else np.zeros(0)
    out, i = [], 0
    for row in candidates:
        out.append(flat[i : i + len(row)])
        i += len(row)
    return out


def align(
    candidates: Sequence[Sequence[Candidate]], scores: Sequence[np.ndarray] | None, tau: float
) -> list[list[tuple[str, float | None]]]:
    """C_align: candidates with s_i > tau (eq. 14); without scores, all candidates."""
    if scores is None:
        return [[(c.category, None) for c in row] for row in candidates]
    return [
        [(c.category, float(s)) for c, s in zip(row, sc, strict=True) if s > tau]
        for row, sc in zip(candidates, scores, strict=True)
    ]


def dpo_pairs(
    models: PCOModels,
    contexts: Sequence[UserContext],
    candidates: Sequence[Sequence[Candidate]],
    scores: Sequence[np.ndarray],
) -> list[dict]:
    """(P, c_pos, c_neg): the highest- and lowest-scored candidate of each context."""
    prompts = novelty_prompts(models, contexts)
    out = []
    for prompt, row, sc in zip(prompts, candidates, scores, strict=True):
        if len(row) < 2 or float(sc.max()) == float(sc.min()):
            continue
        hi, lo = int(np.argmax(sc)), int(np.argmin(sc))
        out.append(
            {
                "prompt": prompt,
                "chosen": completion(row[hi].category),
                "rejected": completion(row[lo].category),
            }
        )
    return out


def run_cycle(
    models: PCOModels,
    contexts: Sequence[UserContext],
    cycle: int,
    root: str | Path,
    rng: random.Random,
    data_window: dict | None = None,
) -> tuple[PCOModels, dict]:
    """Cycle `cycle` on D_k = `contexts`; saves cycle-000k and prunes old cycles."""
    cfg, t0 = models.config, time.perf_counter()
    sample = sample_contexts(contexts, cfg.fraction, cfg.min_samples, rng)
    metrics: dict = {"sampled": len(sample), "dk_size": len(contexts)}
    if cfg.use_relevance:
        sampler = NegativeSampler.from_contexts(contexts, models.categories)
        metrics |= _optimise(models, sample, sampler, rng)
    cands = generate(models, sample)
    scores = score(models, sample, cands) if cfg.use_relevance else None
    kept = align(cands, scores, cfg.tau_align)
    n_cands = sum(len(r) for r in cands)
    metrics["aligned_share_sample"] = sum(len(r) for r in kept) / n_cands if n_cands else 0.0
    metrics["cycle_seconds"] = time.perf_counter() - t0
    models.cycle = cycle
    manifest = {"parent_cycle": cycle - 1, "data_window": data_window or {}, "metrics": metrics}
    tok = models.tokenizer
    artifacts.save_cycle(
        root, cycle, models.novelty, models.relevance, tok, manifest | {"config": cfg.to_json()}
    )
    metrics["pruned"] = artifacts.prune(root, cfg.keep_cycles)
    return models, metrics


def _optimise(
    models: PCOModels, sample: Sequence[UserContext], sampler: NegativeSampler, rng: random.Random
) -> dict:
    """DPO + KL on the Novelty LLM, then the reward-model update (eq. 16-17, 12)."""
    cfg, tok = models.config, models.tokenizer
    cands = generate(models, sample)
    pairs = dpo_pairs(models, sample, cands, score(models, sample, cands))
    out: dict = {"dpo_pairs": len(pairs)}
    if pairs:
        models.novelty, out["dpo"] = train_dpo(
            models.novelty, tok, pairs, cfg.dpo, cfg.novelty, cfg.progress
        )
        out["kl_to_ref"] = kl_to_reference(models.novelty, tok, pairs)
    real = reward_pairs(sample, cfg.builder(), sampler, rng, cfg.min_context, cfg.step_source)
    out["reward_pairs"] = len(real)
    if real:
        models.relevance, out["reward"] = train_reward(
            models.relevance,
            tok,
            real,
            cfg.reward_update,
            cfg.relevance,
            lora=False,
            progress=cfg.progress,
        )
    return out
