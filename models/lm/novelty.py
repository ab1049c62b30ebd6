"""Novelty LLM (paper sec. 4.3.1): SFT (eq. 9) and constrained candidate generation (eq. 10).

Generation never parses free text. Every allowed category is scored as a completion of the
prompt (the log-probability of its tokens, EOS included) and the categories of C'_short are
masked out, so the top-M candidates are always valid category names outside C'_short. With
the built-in tokenizer (one token per category) that is one forward pass and a logits mask;
with a checkpoint's tokenizer each category's token sequence is scored, in batches.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

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
from models.lm.config import LMConfig, SFTSettings
from models.lm.prompts import completion
from models.lm.tokenizer import encode_all_checked, encode_checked, single_token_ids


def positions_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """Position ids that ignore left padding."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


class CategoryScorer:
    """log pi(c | prompt) for every category c, for a batch of prompts."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        categories: Sequence[str],
        batch_size: int = 64,
    ):
        self.model, self.tokenizer = model, tokenizer
        self.categories = list(categories)
        self.index = {c: i for i, c in enumerate(self.categories)}
        self.batch_size = batch_size
        self.token_ids = single_token_ids(tokenizer, self.categories)  # None: generic path
        if self.token_ids is None:
            eos = [tokenizer.eos_token_id]
            self._completions = [encode_checked(tokenizer, completion(c)) + eos for c in categories]

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def log_probs(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, C) log-probabilities of each category's completion given each prompt."""
        was_training = self.model.training
        self.model.eval()
        try:
            chunks = [
                self._fast(prompts[i : i + self.batch_size])
                if self.token_ids is not None
                else self._generic(prompts[i : i + self.batch_size])
                for i in range(0, len(prompts), self.batch_size)
            ]
        finally:
            self.model.train(was_training)
        return torch.cat(chunks) if chunks else torch.empty(0, len(self.categories))

    def _fast(self, prompts: Sequence[str]) -> torch.Tensor:
        ids = encode_all_checked(self.tokenizer, prompts, add_special_tokens=True)
        input_ids, mask = left_pad(ids, self.tokenizer.pad_token_id, self.device)
        logits = self.model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions_from_mask(mask)
        ).logits
        logp = torch.log_softmax(logits[:, -1, :].float(), dim=-1)  # (B, V)
        return logp[:, torch.tensor(self.token_ids, device=logp.device)].cpu()  # (B, C)

    def _generic(self, prompts: Sequence[str]) -> torch.Tensor:
        out = torch.empty(len(prompts), len(self.categories))
        prompt_ids = encode_all_checked(self.tokenizer, prompts, add_special_tokens=True)
        rows = [(b, c) for b in range(len(prompts)) for c in range(len(self.categories))]
        for i in range(0, len(rows), self.batch_size):
            part = rows[i : i + self.batch_size]
            scores = sequence_log_probs(
                self.model,
                [prompt_ids[b] for b, _ in part],
                [self._completions[c] for _, c in part],
                self.tokenizer.pad_token_id,
            )
            for (b, c), s in zip(part, scores.tolist(), strict=True):
                out[b, c] = s
        return out


def left_pad(
    ids: list[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), left-padded: the last position is every row's last token."""
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, x in enumerate(ids):
        input_ids[row, width - len(x) :] = torch.tensor(x)
        mask[row, width - len(x) :] = 1
    return input_ids.to(device), mask.to(device)


@torch.no_grad()
def sequence_log_probs(
    model: PreTrainedModel, prompts: list[list[int]], completions: list[list[int]], pad_id: int
) -> torch.Tensor:
    """(N,) sum of log p(completion tokens | prompt) for token-id pairs (right padding)."""
    seqs = [p + c for p, c in zip(prompts, completions, strict=True)]
    width = max(len(s) for s in seqs)
    device = next(model.parameters()).device
    input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    comp = torch.zeros_like(input_ids)
    for row, (p, s) in enumerate(zip(prompts, seqs, strict=True)):
        input_ids[row, : len(s)] = torch.tensor(s)
        mask[row, : len(s)] = 1
        comp[row, len(p) : len(s)] = 1
    input_ids, mask, comp = input_ids.to(device), mask.to(device), comp.to(device)
    logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1].float()
    logp = torch.log_softmax(logits, -1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)  # (N, T-1)
    return (logp * comp[:, 1:]).sum(-1).cpu()


@dataclass(frozen=True)
class Candidate:
    category: str
    log_prob: float


def debiased(log_probs: torch.Tensor, beta: float) -> torch.Tensor:
    """Popularity-debiased ranking scores: log pi(c|x) - beta * log pi_bar(c).

    pi_bar(c) = the mean of pi(c|x) over the rows (the contexts scored together), the model's
    own marginal of each category. beta = 0 leaves the log-probabilities as they are; beta =
    1 is pointwise mutual information (how much more likely c is for this context than for
    an average one). With one row the ranking is unchanged for any beta < 1.
    """
    if beta == 0.0 or log_probs.shape[0] == 0:
        return log_probs
    marginal = torch.logsumexp(log_probs, dim=0) - math.log(log_probs.shape[0])
    return log_probs - beta * marginal


def top_candidates(
    log_probs: torch.Tensor, categories: Sequence[str], exclude: Sequence[Sequence[str]], m: int
) -> list[list[Candidate]]:
    """Top-m categories per row after masking each row's excluded set (C'_short).

    Rows where fewer than m categories are allowed get all allowed ones.
    """
    index = {c: i for i, c in enumerate(categories)}
    masked = log_probs.clone()
    for row, ex in enumerate(exclude):
        cols = [index[c] for c in set(ex) if c in index]
        if cols:
            masked[row, cols] = -math.inf
    k = min(m, len(categories))
    values, idx = masked.topk(k, dim=-1)
    return [
        [Candidate(categories[j], v) for v, j in zip(vals, ids, strict=True) if v != -math.inf]
        for vals, ids in zip(values.tolist(), idx.tolist(), strict=True)
    ]


def train_sft(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[dict],
    settings: SFTSettings,
    lm: LMConfig,
    progress: bool = False,
) -> tuple[PreTrainedModel, dict]:
    """Eq. 9 with trl's SFTTrainer on prompt/completion pairs (loss on the completion only).

    The built-in model is fully fine-tuned (`settings.full_finetune_builtin`); a checkpoint
    gets a LoRA adapter. Returns the trained model and metrics (losses, throughput).
    """
    from trl import SFTConfig, SFTTrainer

    if not examples:
        raise ValueError("no SFT examples: the contexts hold no usable next-category step")
    full = lm.builtin and settings.full_finetune_builtin
    train, held = holdout(examples, settings.validation_fraction, settings.seed)
    stop_args, callbacks = early_stopping(settings, held)
    with tempfile.TemporaryDirectory() as tmp:
        args = SFTConfig(
            **(trainer_kwargs(settings, lm.builtin, tmp, progress) | stop_args),
            completion_only_loss=True,
            packing=False,
            dataset_num_proc=None,
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(train),
            eval_dataset=Dataset.from_list(held) if held else None,
            processing_class=tokenizer,
            peft_config=None if full else lora_config(lm, "causal"),
            callbacks=callbacks,
        )
        quiet(trainer)
        result = trainer.train()
    losses = loss_curve(trainer.state.log_history)
    metrics = train_metrics(losses, result, len(train), settings.epochs)
    return trainer.model, metrics | stopping_metrics(trainer, held)
