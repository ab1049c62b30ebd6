"""One closed-loop PCO cycle end to end on tiny synthetic data (built-in models)."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace

import pytest
import torch

from learners.pco import artifacts
from learners.pco.config import PCOConfig
from learners.pco.cycle import align, generate, run_cycle
from learners.pco.state import bootstrap, load_models
from learners.pco.synthetic import synthetic_contexts
from models.lm.config import RewardSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cycle0(tmp_path_factory):
    contexts, cats, profiles = synthetic_contexts(n_users=48, n_categories=10)
    root = tmp_path_factory.mktemp("pco") / "run"
    # 8 full passes (no early stopping): in 3 the tiny reward model's loss barely leaves
    # ln 2 (chance), so whether it fell depended on the initialisation
    config = PCOConfig.tiny(
        reward=RewardSettings(epochs=8.0, batch_size=16, validation_fraction=0.0)
    )
    models, metrics = bootstrap(contexts, cats, profiles, config, root)
    return contexts, root, metrics


def _copy(cycle0, tmp_path, config: PCOConfig | None = None):
    contexts, root, _ = cycle0
    dest = tmp_path / "run"
    shutil.copytree(root, dest)
    return contexts, dest, load_models(dest, config=config)


def _adapter(model, name="default") -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters() if f".{name}." in k}


def test_bootstrap_trains_both_models(cycle0):
    _, root, metrics = cycle0
    assert metrics["sft"]["loss_last"] < metrics["sft"]["loss_first"]
    assert metrics["reward"]["loss_last"] < metrics["reward"]["loss_first"]
    assert artifacts.complete_cycles(root) == [0]
    assert (root / "base" / "novelty" / "config.json").is_file()


def test_cycle_trains_against_frozen_previous_cycle_and_saves(cycle0, tmp_path):
    contexts, root, models = _copy(cycle0, tmp_path)
    prev_novelty, prev_rel = _adapter(models.novelty), _adapter(models.relevance)
    models, m = run_cycle(models, contexts, 1, root, random.Random(0), {"window": 1})
    assert m["dpo_pairs"] > 0 and m["reward_pairs"] > 0 and m["kl_to_ref"] > 0
    ref = _adapter(models.novelty, "ref")
    assert set(ref) == {k.replace(".default.", ".ref.") for k in prev_novelty}
    for k, v in prev_novelty.items():
        assert torch.equal(ref[k.replace(".default.", ".ref.")], v)  # ref == cycle k-1
    assert not all(torch.equal(v, _adapter(models.novelty)[k]) for k, v in prev_novelty.items())
    assert not all(torch.equal(v, _adapter(models.relevance)[k]) for k, v in prev_rel.items())
    man = artifacts.read_manifest(artifacts.cycle_dir(root, 1))
    assert man["parent_cycle"] == 0 and man["data_window"] == {"window": 1}
    assert "ref" not in {p.name for p in (root / "cycle-0001" / "novelty").iterdir()}
    resumed = load_models(root)
    assert resumed.cycle == 1
    a = models.category_scorer().log_probs(["<bos> <short> Cat0 Cat1|Combo <novel>"])
    b = resumed.category_scorer().log_probs(["<bos> <short> Cat0 Cat1|Combo <novel>"])
    assert torch.allclose(a, b, atol=1e-5)
    for row, ctx in zip(generate(resumed, contexts), contexts, strict=True):
        allowed = len(set(resumed.categories) - ctx.history)
        assert len(row) == min(resumed.config.m_candidates, allowed)
        assert all(c.category in resumed.categories for c in row)
        assert not {c.category for c in row} & ctx.history


def test_ablation_without_relevance_keeps_candidates_and_novelty_model(cycle0, tmp_path):
    config = PCOConfig.tiny().with_ablation("no-rllm")
    contexts, root, models = _copy(cycle0, tmp_path, config)
    before = _adapter(models.novelty)
    models, m = run_cycle(models, contexts, 1, root, random.Random(0))
    assert "dpo_pairs" not in m and m["aligned_share_sample"] == 1.0
    assert all(torch.equal(v, _adapter(models.novelty)[k]) for k, v in before.items())
    cands = generate(models, contexts[:6])
    kept = align(cands, None, 0.5)
    assert [[c for c, _ in r] for r in kept] == [[c.category for c in r] for r in cands]


def test_ablation_without_kl_and_rollback(cycle0, tmp_path):
    config = PCOConfig.tiny().with_ablation("no-kl")
    contexts, root, models = _copy(cycle0, tmp_path, config)
    rng = random.Random(0)
    for k in (1, 2):
        models, m = run_cycle(models, contexts, k, root, rng)
    assert m["dpo"]["kl_train"] == 0.0 and config.dpo.alpha == 0.0
    assert artifacts.rollback(root, 1) == [2]
    assert load_models(root).cycle == 1


def test_generation_masks_every_clicked_category_or_only_the_recent_ones(cycle0, tmp_path):
    contexts, _, models = _copy(cycle0, tmp_path)
    cats = models.categories
    ctx = replace(contexts[1], clicked_categories=cats[:5])
    assert ctx.history - set(ctx.short_set)  # clicked long ago, not in C'_short
    for flag in (True, False):
        models.config = replace(models.config, exclude_history=flag)
        row = {c.category for c in generate(models, [ctx], m=len(cats))[0]}
        banned = ctx.history if flag else set(ctx.short_set)
        assert row == set(cats) - banned


def test_table_key_matches_serving_when_a_recent_category_is_new_to_the_models(cycle0, tmp_path):
    from coea.table import TableView, key_short_set, version_records
    from learners.engine import novel_table

    contexts, _, models = _copy(cycle0, tmp_path)
    models.config = replace(models.config, tau_align=0.0)  # keep every candidate: a row exists
    base = min(contexts, key=lambda c: len(c.history))  # leaves categories to propose
    raw_short = [*base.short_seq, "Arrived Later"]
    known = [c for c in raw_short if c in models.categories]
    served_key = list(key_short_set(raw_short))  # what serving computes from the stream state
    rules = {}
    for name, key_short in (("one key", key_short_set(raw_short)), ("models' view", None)):
        ctx = replace(base, short_seq=known, key_short=key_short)
        rows, _ = novel_table(models, [ctx], default_group=ctx.group)
        view = TableView()
        for k, v in version_records(rows, 1, 1, "m", 0, default_group=ctx.group):
            view.apply(k, v)
        cats, rules[name] = view.serve(ctx.group, served_key)
        assert cats and "Arrived Later" not in {c.category for c in cats}
    assert rules == {"one key": "key", "models' view": "group"}
