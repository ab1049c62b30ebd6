"""Relevance LLM (paper sec. 4.3.2): a Bradley-Terry reward model (eq. 12) and its scores.

A sequence-classification model with one output r_phi(x, c), trained with trl's RewardTrainer
on (prompt, chosen, rejected) = (P_ft-rel, c_pos, c_neg). RewardTrainer appends EOS to every
sequence, so scoring appends EOS too (stack-notes). Scores are normalised with a sigmoid,
s = sigmoid(r); training adds trl's reward-centring term (mean reward pulled to 0), which makes
s > 0.5 read "better than an average candidate" and gives tau_align = 0.5 its meaning (eq. 14).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import numpy as np
import torch
from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from models.lm.backbone import (
    early_stopping,
    holdout,
    lora_config,
    loss_curve,
    quiet,
    stopping_metrics,
    train_metrics,
    trainer_kwargs,
)
from models.lm.config import LMConfig, RewardSettings
from models.lm.tokenizer import encode_all_checked


class RewardScorer:
    """Raw rewards r_phi and normalised scores s = sigmoid(r) for prompt+candidate texts."""

    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, batch_size: int = 128
    ):
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size

    @torch.no_grad()
    def rewards(self, texts: Sequence[str]) -> np.ndarray:
        """(N,) raw rewards; each text gets EOS appended, as in training."""
        was_training = self.model.training
        self.model.eval()
        try:
            out = [
                self._batch(texts[i : i + self.batch_size])
                for i in range(0, len(texts), self.batch_size)
            ]
        finally:
            self.model.train(was_training)
        return np.concatenate(out) if out else np.zeros(0)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(N,) normalised scores in [0, 1] (sigmoid of the reward)."""
        return 1.0 / (1.0 + np.exp(-self.rewards(texts)))

    def _batch(self, texts: Sequence[str]) -> np.ndarray:
        eos = self.tokenizer.eos_token
        ids = encode_all_checked(self.tokenizer, [t + eos for t in texts], add_special_tokens=True)
        width = max(len(x) for x in ids)
        device = next(self.model.parameters()).device
        input_ids = torch.full((len(ids), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(input_ids)
        for row, x in enumerate(ids):  # right padding: the model pools the last non-pad token
            input_ids[row, : len(x)] = torch.tensor(x)
            mask[row, : len(x)] = 1
        logits = self.model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
        return logits[:, 0].float().cpu().numpy()


def pairwise_accuracy(scorer: RewardScorer, pairs: Sequence[dict]) -> float:
    """Share of (prompt, chosen, rejected) pairs with r(chosen) > r(rejected)."""
    if not pairs:
        return float("nan")
    chosen = scorer.rewards([p["prompt"] + p["chosen"] for p in pairs])
    rejected = scorer.rewards([p["prompt"] + p["rejected"] for p in pairs])
    return float(np.mean(chosen > rejected))


def train_reward(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[dict],
    settings: RewardSettings,
    lm: LMConfig,
    lora: bool,
    progress: bool = False,
) -> tuple[PreTrainedModel, dict]:
    """Eq. 12 with trl's RewardTrainer.

    Args:
        model: a base model (full fine-tuning, or a fresh LoRA when `lora`) or a PeftModel
            whose trainable adapter continues training.
        pairs: dicts with prompt / chosen / rejected (completions start with a space).
        lora: wrap a plain base in a fresh LoRA adapter (score head saved with it).
    """
    from trl import RewardConfig, RewardTrainer

    if not pairs:
        raise ValueError("no reward pairs: no context has a positive and a negative category")
    kwargs = trainer_kwargs(settings, lm.builtin, "", progress)
    train, held = holdout(pairs, settings.validation_fraction, settings.seed)
    stop_args, callbacks = early_stopping(settings, held)
    with tempfile.TemporaryDirectory() as tmp:
        args = RewardConfig(
            **(kwargs | {"output_dir": tmp} | stop_args),
            center_rewards_coefficient=settings.center_rewards_coefficient,
            dataset_num_proc=None,
        )
        trainer = RewardTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(train),
            eval_dataset=Dataset.from_list(held) if held else None,
            processing_class=tokenizer,
            peft_config=lora_config(lm, "reward") if lora else None,
            callbacks=callbacks,
        )
        quiet(trainer)
        result = trainer.train()
    losses = loss_curve(trainer.state.log_history)
    metrics = train_metrics(losses, result, len(train), settings.epochs)
    return trainer.model, metrics | stopping_metrics(trainer, held)
