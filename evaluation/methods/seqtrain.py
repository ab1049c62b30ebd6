"""Shared pieces of the small torch baselines: item windows, a training loop, scoring.

Items are indexed 1..N (0 = padding, N + 1 = [MASK] for BERT4Rec). Every rating in the train
history is an implicit interaction (BERT4Rec's preprocessing). Long histories are cut into
non-overlapping windows of `max_len + 1` items taken from the end, left-padded. Losses are a
full softmax over all items (cheap at MovieLens scale, and stronger than sampled negatives).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from evaluation.methods.base import ItemRanker
from evaluation.protocol import TrainSplit


@dataclass(frozen=True)
class SeqConfig:
    """Size and training budget of a sequence baseline (small: CPU, seconds per model)."""

    dim: int = 64  # embedding / hidden size
    layers: int = 2  # transformer or GRU layers
    heads: int = 2  # attention heads (transformers)
    dropout: float = 0.2
    max_len: int = 50  # items of history the model reads
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    mask_prob: float = 0.2  # BERT4Rec cloze masking rate


def windows(seqs: Sequence[Sequence[int]], length: int) -> np.ndarray:
    """Non-overlapping windows of `length` items from the end of each sequence, left-padded."""
    rows: list[list[int]] = []
    for seq in seqs:
        end = len(seq)
        while end > 1:
            chunk = list(seq[max(0, end - length) : end])
            rows.append([0] * (length - len(chunk)) + chunk)
            end -= length
    return np.array(rows, dtype=np.int64).reshape(-1, length)


def last_items(seqs: Sequence[Sequence[int]], length: int) -> torch.Tensor:
    """Each user's last `length` items, left-padded: (U, length)."""
    rows = [([0] * length + list(s))[-length:] for s in seqs]
    return torch.tensor(rows, dtype=torch.long).reshape(-1, length)


def train_loop(
    model: nn.Module,
    data: np.ndarray,
    batch_loss: Callable[[nn.Module, torch.Tensor, torch.Generator], torch.Tensor],
    cfg: SeqConfig,
    seed: int,
    desc: str,
) -> list[float]:
    """Adam over shuffled mini-batches of `data` rows; returns the mean loss per epoch."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    tensor = torch.from_numpy(data)
    history: list[float] = []
    model.train()
    for _ in tqdm(range(cfg.epochs), desc=desc, leave=False, unit="epoch"):
        order = torch.randperm(len(tensor), generator=gen)
        total, steps = 0.0, 0
        for start in range(0, len(tensor), cfg.batch_size):
            loss = batch_loss(model, tensor[order[start : start + cfg.batch_size]], gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        history.append(total / max(steps, 1))
    model.eval()
    return history


def masked_loss(model: nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Full-softmax cross-entropy on the positions whose target is an item (not 0).

    Only those positions are projected onto the item table: padding costs nothing.
    """
    keep = targets != 0  # (B, T)
    logits = model.scores(hidden[keep])  # (n, vocab)
    return nn.functional.cross_entropy(logits, targets[keep])


class SequenceRanker(ItemRanker):
    """An item ranker backed by a torch model over each user's item sequence."""

    def __init__(self, config: SeqConfig | None = None) -> None:
        self.config = config or SeqConfig()
        self.loss_history: list[float] = []

    def _encode(self, train: TrainSplit) -> list[list[int]]:
        self._prepare(train)
        self.users = sorted(train.sequences)
        return [[self.item_index[i] + 1 for i in train.item_sequence(u)] for u in self.users]

    def _user_sequences(self, users: Sequence[str]) -> list[list[int]]:
        return [[self.item_index[i] + 1 for i in self.train.item_sequence(u)] for u in users]

    def fit(self, train: TrainSplit, seed: int) -> None:
        torch.manual_seed(seed)
        seqs = self._encode(train)
        self.net = self.build(len(self.item_ids))
        data = windows(seqs, self.config.max_len + 1)
        self.loss_history = train_loop(
            self.net, data, self.batch_loss, self.config, seed, self.name
        )

    def build(self, n_items: int) -> nn.Module:
        raise NotImplementedError

    def batch_loss(
        self, model: nn.Module, batch: torch.Tensor, gen: torch.Generator
    ) -> torch.Tensor:
        """Next-item loss for causal models: predict batch[:, t + 1] from batch[:, : t + 1]."""
        inputs, targets = batch[:, :-1], batch[:, 1:]
        return masked_loss(model, model(inputs), targets)

    @torch.no_grad()
    def score_items(self, users: Sequence[str]) -> np.ndarray:
        seqs = last_items(self._user_sequences(users), self.config.max_len)
        out = []
        for start in range(0, len(seqs), 512):
            logits = self.net.scores(self.net(seqs[start : start + 512])[:, -1, :])  # (B, N + 1)
            out.append(logits[:, 1 : len(self.item_ids) + 1])
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.item_ids)))
