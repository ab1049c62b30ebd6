"""GRU4Rec (Hidasi et al., 2015): a GRU over the item sequence, next-item softmax."""

from __future__ import annotations

import torch
from torch import nn

from evaluation.methods.base import EXPLOITATION
from evaluation.methods.seqtrain import SequenceRanker


class GRU4RecNet(nn.Module):
    def __init__(self, n_items: int, dim: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.emb = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.drop = nn.Dropout(dropout)
        self.gru = nn.GRU(dim, dim, num_layers=layers, batch_first=True)
        nn.init.normal_(self.emb.weight, std=0.02)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(self.drop(self.emb(seq)))
        return h  # (B, T, D)

    def scores(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.emb.weight.T  # (..., N + 1): output tied to the item embeddings


class GRU4Rec(SequenceRanker):
    name, kind = "gru4rec", EXPLOITATION

    def build(self, n_items: int) -> nn.Module:
        c = self.config
        return GRU4RecNet(n_items, c.dim, 1, c.dropout)  # one GRU layer, as in GRU4Rec
