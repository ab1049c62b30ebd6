"""Incremental DPO with the KL constraint of eq. 17: L = L_DPO + alpha * D_KL.

Estimator (what `completion_kl` computes): the EXACT KL between the policy's and the
reference's next-token distributions at every completion position of c_pos,

    KL_t = sum_v p_theta(v | P, c_<t) * (log p_theta(v | P, c_<t) - log p_ref(v | P, c_<t)),

averaged over the completion tokens of each example (the category token(s) and EOS), then over
the batch. It is non-negative, zero iff the two distributions agree at those positions, and
needs no sampling. (The sampled estimator log pi_theta(c_pos) - log pi_ref(c_pos) is unbiased
only for completions drawn from pi_theta; on the fixed c_pos it is negative whenever the policy
raises c_pos, which is exactly what DPO does, so minimising it would push further away.)

The reference is the Novelty LLM of cycle k-1: the policy is loaded as
``PeftModel.from_pretrained(base, prev_adapter, is_trainable=True)`` and with ``ref_model=None``
trl's DPOTrainer copies that adapter into a frozen ``ref`` adapter (stack-notes).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import torch
from datasets import Dataset
from peft import PeftModel
from transformers import PreTrainedTokenizerBase
from trl import DPOConfig, DPOTrainer
from trl.trainer.utils import use_adapter

from models.lm.backbone import loss_curve, quiet, train_metrics, trainer_kwargs
from models.lm.config import DPOSettings, LMConfig
from models.lm.tokenizer import encode_checked

REF = "ref"


def completion_kl(
    policy_logits: torch.Tensor, ref_logits: torch.Tensor, completion_mask: torch.Tensor
) -> torch.Tensor:
    """(B,) mean over completion tokens of KL(p_theta || p_ref) of the next-token distribution.

    Args:
        policy_logits, ref_logits: (B, T, V) logits; position t predicts token t + 1.
        completion_mask: (B, T) 1 on completion tokens.
    """
    mask = completion_mask[:, 1:].to(policy_logits.dtype)  # (B, T-1): tokens predicted at t-1
    logp = torch.log_softmax(policy_logits[:, :-1].float(), dim=-1)
    logq = torch.log_softmax(ref_logits[:, :-1].float(), dim=-1)
    per_token = (logp.exp() * (logp - logq)).sum(-1).clamp(min=0.0)  # (B, T-1)
    return (per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)


def drop_ref(model: PeftModel) -> None:
    """Remove a 'ref' adapter left by an earlier DPO run (trl adds a fresh copy each run)."""
    if REF in model.peft_config:
        model.set_adapter("default")
        model.delete_adapter(REF)


class KLDPOTrainer(DPOTrainer):
    """DPOTrainer (sigmoid loss) plus alpha * completion_kl on the chosen half of each batch."""

    def __init__(self, *args, kl_alpha: float = 0.4, **kwargs):
        super().__init__(*args, **kwargs)
        self.kl_alpha = kl_alpha
        for name, param in self.model.named_parameters():  # the reference never trains
            if f".{REF}." in name:
                param.requires_grad_(False)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if self.kl_alpha <= 0:
            return loss
        kl = self._chosen_kl(model, inputs).mean()
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["kl"].append(kl.item())
        if return_outputs:
            return loss[0] + self.kl_alpha * kl, loss[1]
        return loss + self.kl_alpha * kl

    def _chosen_kl(self, model, inputs) -> torch.Tensor:
        half = inputs["input_ids"].shape[0] // 2  # the batch is [chosen; rejected]
        fwd = {
            "input_ids": inputs["input_ids"][:half],
            "attention_mask": inputs["attention_mask"][:half],
            "use_cache": False,
        }
        policy = model(**fwd).logits
        with torch.no_grad():
            if self.ref_model is not None:
                ref = self.ref_model(**fwd).logits
            else:
                unwrapped = self.accelerator.unwrap_model(model)
                name = REF if REF in unwrapped.peft_config else None
                with use_adapter(unwrapped, name):
                    ref = model(**fwd).logits
        return completion_kl(policy, ref, inputs["completion_mask"][:half])


def train_dpo(
    model: PeftModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[dict],
    settings: DPOSettings,
    lm: LMConfig,
    progress: bool = False,
) -> tuple[PeftModel, dict]:
    """One cycle of eq. 17 on (prompt, chosen, rejected) pairs; the adapter 'default' trains.

    Returns the model (with the frozen 'ref' adapter still attached) and metrics.
    """
    if not pairs:
        raise ValueError("no DPO pairs this cycle")
    drop_ref(model)
    with tempfile.TemporaryDirectory() as tmp:
        args = DPOConfig(
            **trainer_kwargs(settings, lm.builtin, tmp, progress),
            beta=settings.beta,
            loss_type=[settings.loss_type],
            precompute_ref_log_probs=False,
            dataset_num_proc=None,
        )
        trainer = KLDPOTrainer(
            model=model,
            ref_model=None,
            args=args,
            train_dataset=Dataset.from_list([dict(p) for p in pairs]),
            processing_class=tokenizer,
            kl_alpha=settings.alpha,
        )
        quiet(trainer)
        result = trainer.train()
    history = trainer.state.log_history
    metrics = train_metrics(loss_curve(history), result, len(pairs), settings.epochs)
    kls = [h["kl"] for h in history if "kl" in h]
    metrics["kl_train"] = sum(kls) / len(kls) if kls else 0.0
    return trainer.model, metrics


@torch.no_grad()
def kl_to_reference(
    model: PeftModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[dict],
    batch_size: int = 64,
) -> float:
    """Mean completion_kl(policy || ref) on the chosen completions of `pairs`.

    The reference is the 'ref' adapter when present, else the base (adapters disabled).
    """
    if not pairs:
        return float("nan")
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        for i in range(0, len(pairs), batch_size):
            ids, mask, comp = _chosen_batch(pairs[i : i + batch_size], tokenizer, model.device)
            policy = model(input_ids=ids, attention_mask=mask).logits
            with use_adapter(model, REF if REF in model.peft_config else None):
                ref = model(input_ids=ids, attention_mask=mask).logits
            total += completion_kl(policy, ref, comp).sum().item()
    finally:
        model.train(was_training)
    return total / len(pairs)


def _chosen_batch(pairs: Sequence[dict], tokenizer: PreTrainedTokenizerBase, device) -> tuple:
    eos = [tokenizer.eos_token_id]
    rows = [
        (
            encode_checked(tokenizer, p["prompt"], add_special_tokens=True),
            encode_checked(tokenizer, p["chosen"]) + eos,
        )
        for p in pairs
    ]
    width = max(len(a) + len(b) for a, b in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    mask, comp = torch.zeros_like(ids), torch.zeros_like(ids)
    for r, (a, b) in enumerate(rows):
        ids[r, : len(a) + len(b)] = torch.tensor(a + b)
        mask[r, : len(a) + len(b)] = 1
        comp[r, len(a) : len(a) + len(b)] = 1
    return ids.to(device), mask.to(device), comp.to(device)


@torch.no_grad()
def next_token_kl_to_base(
    model: PeftModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    batch_size: int = 64,
) -> float:
    """Mean KL(policy || base) of the next-token distribution at the end of each prompt.

    The base is the model with every adapter disabled: for the built-in models that is the
    cycle-0 model (its adapter starts at B = 0), so this measures the drift accumulated over
    all cycles, where `kl_to_reference` measures one cycle's.
    """
    from models.lm.novelty import left_pad, positions_from_mask

    if not prompts:
        return float("nan")
    was_training, total = model.training, 0.0
    model.eval()
    try:
        for i in range(0, len(prompts), batch_size):
            ids = [
                encode_checked(tokenizer, p, add_special_tokens=True)
                for p in prompts[i : i + batch_size]
            ]
            input_ids, mask = left_pad(ids, tokenizer.pad_token_id, model.device)
            fwd = {
                "input_ids": input_ids,
                "attention_mask": mask,
                "position_ids": positions_from_mask(mask),
            }
            policy = model(**fwd).logits[:, -1:, :]  # (B, 1, V)
            with use_adapter(model, None):
                base = model(**fwd).logits[:, -1:, :]
            # completion_kl reads position t for token t + 1: append a dummy position
            pad, last = torch.zeros_like(policy), torch.ones(len(ids), 2, device=policy.device)
            total += (
                completion_kl(torch.cat([policy, pad], 1), torch.cat([base, pad], 1), last)
                .sum()
                .item()
            )
    finally:
        model.train(was_training)
    return total / len(prompts)
