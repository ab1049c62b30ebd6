"""Two-tower retrieval (Yang et al., 2020 style): a user tower and an item tower, dot product.

User tower: [user-id embedding ; mean of the embeddings of the last `max_len` items] -> MLP.
Item tower: item embedding -> MLP. Trained on every (history prefix -> next item) pair of the
train split with a full softmax over the item tower's outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from evaluation.methods.base import EXPLOITATION
from evaluation.methods.seqtrain import SequenceRanker, last_items, train_loop
from evaluation.protocol import TrainSplit


def _mlp(d_in: int, dim: int, dropout: float) -> nn.Module:
    return nn.Sequential(nn.Linear(d_in, dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dim, dim))


class TwoTowerNet(nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int, dropout: float) -> None:
        super().__init__()
        self.user_emb = nn.Embedding(n_users + 1, dim)  # row 0: unknown user
        self.hist_emb = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.item_emb = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.user_tower = _mlp(2 * dim, dim, dropout)
        self.item_tower = _mlp(dim, dim, dropout)

    def user_vec(self, users: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:
        e = self.hist_emb(hist)  # (B, T, D)
        n = (hist != 0).sum(1, keepdim=True).clamp(min=1)
        pooled = e.sum(1) / n  # (B, D)
        return self.user_tower(torch.cat([self.user_emb(users), pooled], dim=-1))

    def item_vecs(self) -> torch.Tensor:
        return self.item_tower(self.item_emb.weight)  # (N + 1, D)

    def forward(self, users: torch.Tensor, hist: torch.Tensor) -> torch.Tensor:
        return self.user_vec(users, hist) @ self.item_vecs().T  # (B, N + 1)


class TwoTower(SequenceRanker):
    name, kind = "two-tower", EXPLOITATION

    def _pairs(self, seqs: list[list[int]]) -> np.ndarray:
        """Rows [user, last max_len items before t (left-padded), item at t]."""
        length = self.config.max_len
        rows = []
        for u, seq in enumerate(seqs, start=1):
            for t in range(1, len(seq)):
                hist = seq[max(0, t - length) : t]
                rows.append([u] + [0] * (length - len(hist)) + hist + [seq[t]])
        return np.array(rows, dtype=np.int64).reshape(-1, length + 2)

    def fit(self, train: TrainSplit, seed: int) -> None:
        torch.manual_seed(seed)
        seqs = self._encode(train)
        self.user_index = {u: n for n, u in enumerate(self.users, start=1)}
        self.net = TwoTowerNet(
            len(self.users), len(self.item_ids), self.config.dim, self.config.dropout
        )
        data = self._pairs(seqs)
        self.loss_history = train_loop(
            self.net, data, self.batch_loss, self.config, seed, self.name
        )

    def batch_loss(
        self, model: nn.Module, batch: torch.Tensor, gen: torch.Generator
    ) -> torch.Tensor:
        logits = model(batch[:, 0], batch[:, 1:-1])
        return nn.functional.cross_entropy(logits, batch[:, -1])

    @torch.no_grad()
    def score_items(self, users: Sequence[str]) -> np.ndarray:
        hist = last_items(self._user_sequences(users), self.config.max_len)
        uid = torch.tensor([self.user_index.get(u, 0) for u in users], dtype=torch.long)
        logits = self.net(uid, hist)
        return logits[:, 1 : len(self.item_ids) + 1].numpy()
