"""KL term of eq. 17 and the DPO + KL trainer (reference = previous cycle, frozen)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from models.lm.backbone import attach_lora, build_model, load_adapter
from models.lm.config import DPOSettings, LMConfig
from models.lm.kl import REF, completion_kl, kl_to_reference, train_dpo
from models.lm.prompts import PromptBuilder, completion
from models.lm.tokenizer import build_tokenizer

CATS = ["Drama", "Comedy|Drama", "Children's", "Sci Fi", "War", "Horror"]


def test_kl_zero_for_equal_and_positive_for_different():
    logits = torch.randn(3, 5, 7)
    mask = torch.tensor([[0, 0, 0, 1, 1]] * 3)
    assert torch.allclose(completion_kl(logits, logits.clone(), mask), torch.zeros(3), atol=1e-6)
    other = logits.clone()
    other[:, 2, :] += torch.randn(3, 7)  # position 2 predicts completion token 3
    assert (completion_kl(logits, other, mask) > 0).all()
    outside = logits.clone()
    outside[:, 0, :] += 5.0  # predicts a prompt token: ignored
    assert torch.allclose(completion_kl(logits, outside, mask), torch.zeros(3), atol=1e-6)


def test_kl_matches_the_formula():
    p, q = torch.tensor([0.7, 0.2, 0.1]), torch.tensor([0.2, 0.5, 0.3])
    logits_p = torch.stack([torch.zeros(3), p.log()])[None]  # (1, 2, 3)
    logits_q = torch.stack([torch.zeros(3), q.log()])[None]
    mask = torch.tensor([[0, 0]])
    mask_last = torch.tensor([[0, 1]])  # only the token predicted at position 0 counts
    assert completion_kl(logits_p, logits_q, mask).item() == 0.0
    logits_p[0, 0], logits_q[0, 0] = p.log(), q.log()
    expect = (p * (p.log() - q.log())).sum()
    assert completion_kl(logits_p, logits_q, mask_last).item() == pytest.approx(
        expect.item(), rel=1e-5
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 3.0))
def test_kl_non_negative(seed, scale):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(2, 4, 6, generator=g)
    b = a + scale * torch.randn(2, 4, 6, generator=g)
    kl = completion_kl(a, b, torch.ones(2, 4, dtype=torch.long))
    assert (kl >= 0).all()


def _pairs(n: int = 32) -> list[dict]:
    b = PromptBuilder()
    return [
        {
            "prompt": b.novelty("", i % 2, [CATS[i % 3], CATS[3]], True),
            "chosen": completion(CATS[4 + i % 2]),
            "rejected": completion(CATS[i % 3 + 1]),
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def previous_cycle(tmp_path_factory):
    """A base model and a saved, non-trivial adapter: the Novelty LLM of cycle k-1."""
    tok = build_tokenizer(CATS, groups=[0, 1])
    lm = LMConfig()
    model = attach_lora(build_model(lm, tok, "causal", seed=0), lm, "causal")
    torch.manual_seed(1)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.05)  # a trained-looking adapter (B != 0)
    folder = tmp_path_factory.mktemp("cycle-prev")
    model.save_pretrained(folder, selected_adapters=["default"])
    return tok, lm, folder


def _policy(previous_cycle):
    tok, lm, folder = previous_cycle
    return load_adapter(build_model(lm, tok, "causal", seed=0), folder, trainable=True)


@pytest.mark.slow
def test_dpo_kl_trains_policy_keeps_reference_frozen(previous_cycle):
    tok, lm, folder = previous_cycle
    policy = _policy(previous_cycle)
    saved = load_file(str(folder / "adapter_model.safetensors"))
    settings_ = DPOSettings(epochs=8, batch_size=8, builtin_learning_rate=1e-2, alpha=0.4)
    policy, m = train_dpo(policy, tok, _pairs(), settings_, lm)
    assert m["loss_initial"] == pytest.approx(0.6931, abs=1e-3)  # policy == reference at step 0
    assert m["loss_last"] < m["loss_first"] - 0.05
    assert m["kl_train"] > 0
    params = dict(policy.named_parameters())
    ref = {k: v for k, v in params.items() if f".{REF}." in k}
    assert ref and not any(v.requires_grad for v in ref.values())
    for key, value in saved.items():  # the reference equals cycle k-1's saved weights
        name = key.replace(".weight", f".{REF}.weight")
        assert torch.equal(params[name].detach(), value)
        trained = params[key.replace(".weight", ".default.weight")].detach()
        assert not torch.equal(trained, value) or "lora_A" in key
    assert kl_to_reference(policy, tok, _pairs(8)) > 0


@pytest.mark.slow
def test_kl_term_limits_drift(previous_cycle):
    tok, lm, _ = previous_cycle
    drift = {}
    for alpha in (0.0, 20.0):
        policy = _policy(previous_cycle)
        s = DPOSettings(epochs=6, batch_size=8, builtin_learning_rate=1e-2, alpha=alpha, seed=0)
        policy, _ = train_dpo(policy, tok, _pairs(), s, lm)
        drift[alpha] = kl_to_reference(policy, tok, _pairs())
    assert 0 < drift[20.0] < drift[0.0]


def test_drift_to_base_zero_for_identity_adapter_positive_after_change(previous_cycle):
    from models.lm.kl import next_token_kl_to_base

    tok, lm, _ = previous_cycle
    model = attach_lora(build_model(lm, tok, "causal", seed=0), lm, "causal")
    prompts = [p["prompt"] for p in _pairs(4)]
    assert next_token_kl_to_base(model, tok, prompts) == pytest.approx(0.0, abs=1e-7)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.1)
    assert next_token_kl_to_base(model, tok, prompts) > 1e-4
