"""Novelty LLM: SFT trains, candidates are valid categories outside C'_short."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from models.lm.backbone import build_model, check_local_checkpoint, load_checkpoint_tokenizer
from models.lm.config import LMConfig, SFTSettings
from models.lm.novelty import CategoryScorer, sequence_log_probs, top_candidates, train_sft
from models.lm.prompts import PromptBuilder, completion
from models.lm.tokenizer import build_tokenizer, encode_checked

CATS = ["Drama", "Comedy|Drama", "Children's", "Sci Fi", "War", "Horror", "Film-Noir", "Western"]


def _examples(n: int = 48) -> list[dict]:
    b = PromptBuilder()
    out = []
    for i in range(n):
        a, c = CATS[i % 8], CATS[(i + 1) % 8]
        out.append(
            {
                "prompt": b.novelty("", i % 2, [a, c], True),
                "completion": completion(CATS[(i + 2) % 8]),
            }
        )
    return out


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer(CATS, groups=[0, 1])


@pytest.mark.slow
def test_sft_changes_weights_and_lowers_loss(tok):
    lm = LMConfig()
    model = build_model(lm, tok, "causal")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    settings_ = SFTSettings(epochs=10, batch_size=8)
    model, metrics = train_sft(model, tok, _examples(), settings_, lm)
    assert metrics["loss_last"] < metrics["loss_first"] - 0.3
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) > len(before) // 2  # full fine-tuning of the built-in model
    scorer = CategoryScorer(model, tok, CATS)
    ex = _examples()[:8]
    pred = scorer.log_probs([e["prompt"] for e in ex]).argmax(-1).tolist()
    assert sum(CATS[p] == e["completion"].strip() for p, e in zip(pred, ex, strict=True)) >= 6


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 12),
    st.lists(st.sets(st.sampled_from(CATS)), min_size=4, max_size=4),
    st.integers(0, 10_000),
)
def test_candidates_valid_and_outside_short_set(batch, m, excludes, seed):
    gen = torch.Generator().manual_seed(seed)
    log_probs = torch.randn(batch, len(CATS), generator=gen)
    excludes = [sorted(e) for e in excludes[:batch]]
    rows = top_candidates(log_probs, CATS, excludes, m)
    for row, ex in zip(rows, excludes, strict=True):
        names = [c.category for c in row]
        assert all(c in CATS and c not in ex for c in names)
        assert len(names) == len(set(names)) == min(m, len(CATS) - len(ex))
        scores = [c.log_prob for c in row]
        assert scores == sorted(scores, reverse=True) and all(math.isfinite(s) for s in scores)


def test_fast_path_equals_sequence_scoring(tok):
    model = build_model(LMConfig(), tok, "causal", seed=1)
    scorer = CategoryScorer(model, tok, CATS)
    assert scorer.token_ids is not None  # one token per category: one forward pass
    prompts = [e["prompt"] for e in _examples(3)]
    fast = scorer.log_probs(prompts)
    for b, p in enumerate(prompts):
        ids = encode_checked(tok, p, add_special_tokens=True)
        seq = sequence_log_probs(
            model, [ids] * len(CATS), [[t] for t in scorer.token_ids], tok.pad_token_id
        )
        assert torch.allclose(fast[b], seq, atol=1e-5)


def _multi_token_tokenizer() -> PreTrainedTokenizerFast:
    words = ["<pad>", "<unk>", "<bos>", "<eos>", "|", "'", "-", "s", "Drama", "Comedy", "Children"]
    words += ["Sci", "Fi", "War", "Horror", "Film", "Noir", "Western", "#", ":", "Answer", "x"]
    t = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    t.add_special_tokens(["<pad>", "<unk>", "<bos>", "<eos>"])
    return PreTrainedTokenizerFast(
        tokenizer_object=t,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<bos>",
        eos_token="<eos>",
    )


def test_generic_path_scores_multi_token_categories():
    tok = _multi_token_tokenizer()
    model = build_model(LMConfig(), tok, "causal", seed=2)
    scorer = CategoryScorer(model, tok, CATS, batch_size=5)
    assert scorer.token_ids is None  # "Comedy|Drama" is 3 tokens: every category is scored
    prompts = ["#Answer: x", "Drama : x"]
    lp = scorer.log_probs(prompts)
    assert lp.shape == (2, len(CATS)) and torch.isfinite(lp).all()
    ids = encode_checked(tok, prompts[1], add_special_tokens=True)
    comp = encode_checked(tok, " Film-Noir") + [tok.eos_token_id]
    expect = sequence_log_probs(model, [ids], [comp], tok.pad_token_id)[0]
    assert lp[1, CATS.index("Film-Noir")] == pytest.approx(float(expect), abs=1e-5)
    rows = top_candidates(lp, CATS, [["Drama"], []], 3)
    assert all(c.category != "Drama" for c in rows[0]) and len(rows[1]) == 3


def test_hub_id_gives_clear_error_and_local_folder_loads(tmp_path, tok):
    with pytest.raises(FileNotFoundError, match="no model hub is reachable"):
        check_local_checkpoint("Qwen/Qwen2.5-7B-Instruct")
    with pytest.raises(FileNotFoundError, match="no model hub"):
        build_model(LMConfig(checkpoint="Qwen/Qwen2.5-7B-Instruct"), tok, "causal")
    model = build_model(LMConfig(architecture="llama"), tok, "causal")
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    ckpt_tok = load_checkpoint_tokenizer(tmp_path)
    assert isinstance(ckpt_tok, PreTrainedTokenizerFast)
    assert encode_checked(ckpt_tok, "Drama Sci Fi") == encode_checked(tok, "Drama Sci Fi")
    loaded = build_model(LMConfig(checkpoint=str(tmp_path)), ckpt_tok, "causal")
    assert loaded.config.model_type == "llama"


def test_debiased_ranking_is_pointwise_mutual_information_at_beta_one():
    from models.lm.novelty import debiased

    # category 0 is likely for every context (popular), category 1 only for context 0
    probs = torch.tensor([[0.6, 0.3, 0.1], [0.8, 0.01, 0.19]])
    lp = probs.log()
    assert torch.equal(debiased(lp, 0.0), lp)
    pmi = debiased(lp, 1.0)
    marginal = probs.mean(0).log()
    assert torch.allclose(pmi, lp - marginal)
    assert int(lp[0].argmax()) == 0 and int(pmi[0].argmax()) == 1  # the specific one wins
    half = debiased(lp, 0.5)
    assert torch.allclose(half, lp - 0.5 * marginal)
    one_row = debiased(lp[:1], 0.5)  # one context: the ranking cannot change
    assert torch.equal(one_row.argsort(), lp[:1].argsort())
