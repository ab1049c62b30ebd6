"""Representative users, statistical and LLM profile backends, short-term mapping."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from coea.state import ordered_set_last
from models.profiles import (
    PROFILE_PROMPT,
    GroupMembers,
    GroupProfile,
    LLMProfileBackend,
    StatisticalProfileBackend,
    category_shares,
    load_local_causal_lm,
    representatives,
)
from models.short_term import categories_of, is_cold_start, short_categories

CATS = {"a1": "Action", "a2": "Action", "d1": "Drama", "d2": "Drama", "h1": "Horror"}


def test_representatives_are_the_k_nearest_to_the_centroid():
    u = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [30.0]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    reps = representatives(u, labels, k=2)
    assert reps[0] == [1, 0] or reps[0] == [1, 2]  # centroid 1.0: user 1 first
    assert reps[0][0] == 1
    assert reps[1] == [4, 3]  # centroid 17: 11 then 10


def test_statistical_profile_names_categories_by_lift():
    prior = category_shares([["a1", "a2", "d1", "d2"], ["a1", "d1", "h1"]], CATS)
    g = GroupMembers(3, (1, 2), 40, ["u1", "u2"], [["h1", "h1", "a1"], ["h1", "d1"]])
    (p,) = StatisticalProfileBackend(n_categories=2).build([g], CATS, prior)
    assert p.top_categories[0] == "Horror"  # 60% here vs 1/7 overall
    assert p.top_items[0] == "h1"
    assert p.group == 3 and p.csid == (1, 2) and p.size == 40
    assert p.representatives == ["u1", "u2"]
    assert "Horror" in p.text and "Group 3" in p.text
    assert GroupProfile.from_json(p.to_json()) == p


def test_llm_backend_refuses_missing_or_non_checkpoint_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        LLMProfileBackend(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="config.json"):
        LLMProfileBackend(str(tmp_path))


def _tiny_checkpoint(folder: Path) -> Path:
    """A randomly initialised 1-layer Qwen2 + word-level tokenizer saved to `folder`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    words = ["[UNK]", "[PAD]", "[EOS]"] + sorted(
        set(PROFILE_PROMPT.lower().split()) | {"action", "drama", "horror"}
    )
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    fast.save_pretrained(folder)
    cfg = Qwen2Config(
        vocab_size=len(words),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        pad_token_id=1,
        eos_token_id=2,
    )
    Qwen2ForCausalLM(cfg).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_llm_backend_prompts_a_local_tiny_checkpoint(tmp_path):
    ckpt = _tiny_checkpoint(tmp_path / "tiny-lm")
    model, tok = load_local_causal_lm(ckpt)
    ids = tok("Summarise the group's preferences")["input_ids"]
    assert len(ids) == 4 and 0 not in ids  # the word-level tokenizer, not Qwen2's BPE
    backend = LLMProfileBackend(str(ckpt), max_new_tokens=6)
    g = GroupMembers(0, (4, 1), 12, ["u1", "u2"], [["a1", "d1"], ["h1"]])
    prompt = backend.prompt(g, CATS)
    assert prompt.startswith("Here are the long-term behaviour sequences of representative users")
    assert "User 1: a1 (Action), d1 (Drama)" in prompt and "User 2: h1 (Horror)" in prompt
    assert prompt.endswith("Summarise the group's preferences in one sentence.")
    (p,) = backend.build([g], CATS, category_shares(g.sequences, CATS))
    assert isinstance(p.text, str) and p.text  # random weights: any non-empty sentence
    assert p.representatives == ["u1", "u2"] and p.csid == (4, 1)


def test_short_term_mapping_keeps_last_occurrence_in_time_order():
    cats = categories_of(["a1", "d1", "a2", "zz", "h1", "d2"], CATS)
    assert cats == ["Action", "Drama", "Action", "unknown", "Horror", "Drama"]
    assert ordered_set_last(cats) == ["Action", "unknown", "Horror", "Drama"]
    assert ordered_set_last(cats)[-2:] == ["Horror", "Drama"]  # the two most recent
    assert short_categories(["a1", "d1", "h1"], CATS, k=2) == ["Drama", "Horror"]
    assert short_categories(["a1"], CATS, k=0) == []


def test_cold_start_rule():
    assert is_cold_start([], 3) and is_cold_start(["a", "b"], 3)
    assert not is_cold_start(["a", "b", "c"], 3)
