"""Google-v1 / CoEA adapters over learners.pco, on a small ML-100K subset with tiny models."""

from __future__ import annotations

import os

import pytest

from evaluation.methods import MethodSettings, build_methods, unavailable_reason
from evaluation.protocol import ProtocolConfig, build_split
from evaluation.runner import RunConfig, check_lists, run_methods

pytestmark = pytest.mark.skipif(
    unavailable_reason("coea") is not None, reason=str(unavailable_reason("coea"))
)


@pytest.fixture(scope="module")
def small_split(ml100k):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from coea.data import load_ml_100k

    cfg = ProtocolConfig(mode="genre-combo", max_users=80)
    return build_split(load_ml_100k(ml100k), cfg)


SETTINGS = MethodSettings(pco_overrides={"fast": True}, pco_rounds=1)


@pytest.mark.slow
def test_coea_variants_run_and_kl_matters(small_split) -> None:
    from dataclasses import replace

    from evaluation.methods.seqtrain import SeqConfig

    names = ["sasrec", "google-v1", "coea", "coea-no-kl"]
    settings = replace(SETTINGS, seq=replace(SeqConfig(), epochs=1, dim=16))
    methods = build_methods(names, settings)
    for mth in methods:
        mth.fit(small_split.train, seed=0)
        check_lists(mth.name, mth.recommend(small_split.eval_users, 10), small_split, 10)
    _, google, coea, no_kl = methods
    assert google.kind == "Exploration" and coea.kind == "Ours"
    assert coea.models.cycle == 1 and no_kl.models.cycle == 1
    assert no_kl.models.config.dpo.alpha == 0.0 and coea.models.config.dpo.alpha > 0
    # Same cycle 0, different eq. 17 losses: the LoRA weights must differ after cycle 1
    # (a deep-copied PEFT model would silently ignore its adapters and tie them).
    a = dict(coea.models.novelty.named_parameters())
    b = dict(no_kl.models.novelty.named_parameters())
    lora = [k for k in a if "lora_B.default" in k]
    assert lora and any(not a[k].equal(b[k]) for k in lora)
    paths = coea.explore(small_split.eval_users, 5)
    assert any(paths.values())  # some aligned novel categories
    for user, path in paths.items():
        assert not set(path) & set(coea.final_contexts[user].short_set)  # C'_short is masked


@pytest.mark.slow
def test_figure4_curve_recorded(small_split) -> None:
    from dataclasses import replace

    from evaluation.methods.seqtrain import SeqConfig

    settings = replace(SETTINGS, seq=replace(SeqConfig(), epochs=1, dim=16), pco_rounds=2)
    (_, coea) = run_methods(small_split, ["sasrec", "coea"], settings, RunConfig(seeds=(0,)))
    curve = coea.extras["per_seed"][0]["rounds"]
    assert curve["round"] == [0, 1, 2]
    assert len(curve["C-N@5"]) == 3 and len(curve["NCP@5"]) == 3
