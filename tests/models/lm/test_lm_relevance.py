"""Relevance LLM: Bradley-Terry training and EOS-consistent, normalised scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.lm.backbone import build_model
from models.lm.config import LMConfig, RewardSettings
from models.lm.prompts import PromptBuilder, completion
from models.lm.relevance import RewardScorer, pairwise_accuracy, train_reward
from models.lm.tokenizer import build_tokenizer, encode_checked

CATS = ["Drama", "Comedy|Drama", "Children's", "Sci Fi", "War", "Horror"]
GOOD = {0: "Drama", 1: "War"}  # group g always prefers GOOD[g]


def _pairs(n: int = 40) -> list[dict]:
    b = PromptBuilder()
    out = []
    for i in range(n):
        g = i % 2
        bad = [c for c in CATS if c != GOOD[g]][i % 5]
        prompt = b.relevance("", g, [CATS[2], CATS[3]])
        out.append({"prompt": prompt, "chosen": completion(GOOD[g]), "rejected": completion(bad)})
    return out


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer(CATS, groups=[0, 1])


@pytest.mark.slow
def test_reward_training_changes_weights_lowers_loss_and_ranks(tok):
    lm = LMConfig()
    model = build_model(lm, tok, "reward")
    assert model.config.pad_token_id == tok.pad_token_id
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model, m = train_reward(
        model, tok, _pairs(), RewardSettings(epochs=15, batch_size=8), lm, lora=False
    )
    assert m["loss_last"] < m["loss_first"] - 0.2
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert pairwise_accuracy(RewardScorer(model, tok), _pairs(10)) >= 0.9


def test_scores_append_eos_and_ignore_padding(tok):
    model = build_model(LMConfig(), tok, "reward", seed=3)
    scorer = RewardScorer(model, tok, batch_size=4)
    texts = [p["prompt"] + p["chosen"] for p in _pairs(3)] + ["<bos> <short> War <cand> Drama"]
    batched = scorer.rewards(texts)
    alone = np.array([scorer.rewards([t])[0] for t in texts])
    assert np.allclose(batched, alone, atol=1e-5)
    ids = torch.tensor([encode_checked(tok, texts[0] + tok.eos_token)])
    with torch.no_grad():
        manual = model(input_ids=ids).logits[0, 0].item()
    assert batched[0] == pytest.approx(manual, abs=1e-5)
    s = scorer.scores(texts)
    assert ((s > 0) & (s < 1)).all() and np.allclose(s, 1 / (1 + np.exp(-batched)))
