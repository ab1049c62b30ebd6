"""A local checkpoint folder runs through the same code: text templates, its own tokenizer,
LoRA from cycle 0, multi-token categories scored as sequences."""

from __future__ import annotations

import random
import re

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from learners.pco import artifacts
from learners.pco.config import PCOConfig
from learners.pco.cycle import generate, run_cycle
from learners.pco.state import bootstrap, load_models
from learners.pco.synthetic import synthetic_contexts
from models.lm.backbone import build_model
from models.lm.config import LMConfig
from models.lm.prompts import NOVELTY_TEMPLATE, NOVELTY_TRIGGER, RELEVANCE_TEMPLATE

pytestmark = pytest.mark.slow


def _checkpoint(folder, categories) -> str:
    """A tiny 'pretrained' Qwen2 + a word-level tokenizer that splits category names."""
    text = " ".join([*categories, NOVELTY_TEMPLATE, NOVELTY_TRIGGER, RELEVANCE_TEMPLATE])
    words = sorted(set(re.findall(r"\w+|[^\w\s]+", text)))
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", "<eos>", *words])}
    t = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    t.add_special_tokens(["<pad>", "<unk>", "<eos>"])
    tok = PreTrainedTokenizerFast(
        tokenizer_object=t, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>"
    )
    build_model(LMConfig(), tok, "causal", seed=5).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


def test_checkpoint_folder_through_bootstrap_cycle_and_resume(tmp_path):
    contexts, cats, profiles = synthetic_contexts(n_users=24, n_categories=8)
    ckpt = _checkpoint(tmp_path / "ckpt", cats)
    cfg = PCOConfig.tiny(
        novelty=LMConfig(checkpoint=ckpt), relevance=LMConfig(checkpoint=ckpt), m_candidates=3
    )
    assert cfg.prompt_style == "text"
    root = tmp_path / "run"
    models_, metrics = bootstrap(contexts, cats, profiles, cfg, root)
    assert models_.category_scorer().token_ids is None  # "Cat1|Combo" is 3 tokens
    assert not (root / "base" / "novelty").exists()  # checkpoint weights are never copied
    assert artifacts.read_manifest(root / "base")["novelty_base"] == ckpt
    assert metrics["sft"]["loss_last"] < metrics["sft"]["loss_first"]
    models_, m = run_cycle(models_, contexts, 1, root, random.Random(0))
    assert m["dpo_pairs"] > 0
    resumed = load_models(root)
    for row, ctx in zip(generate(resumed, contexts), contexts, strict=True):
        assert all(c.category in cats and c.category not in ctx.short_set for c in row)
        assert len(row) == min(3, len(cats) - len(ctx.short_set))
