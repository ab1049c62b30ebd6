"""SASRec (Kang and McAuley, 2018): causal self-attention over the item sequence."""

from __future__ import annotations

import torch
from torch import nn

from evaluation.methods.base import EXPLOITATION
from evaluation.methods.seqtrain import SequenceRanker


class TransformerItemNet(nn.Module):
    """Item + position embeddings, a pre-norm transformer encoder, tied output layer.

    `forward` returns hidden states; `scores` maps them to item logits (kept apart so the
    loss projects only the positions it trains on).

    `causal=True` is SASRec (each position sees only the past); `causal=False` is the
    bidirectional encoder of BERT4Rec (its vocabulary has one extra [MASK] item).
    """

    def __init__(
        self,
        vocab: int,
        max_len: int,
        dim: int,
        layers: int,
        heads: int,
        dropout: float,
        causal: bool,
    ) -> None:
        super().__init__()
        self.causal = causal
        self.emb = nn.Embedding(vocab, dim, padding_idx=0)
        self.pos = nn.Embedding(max_len, dim)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim * 2, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        nn.init.normal_(self.emb.weight, std=0.02)  # small logits at start (tied output)
        nn.init.normal_(self.pos.weight, std=0.02)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        t = seq.size(1)
        pos = torch.arange(t, device=seq.device)
        x = self.drop(self.emb(seq) + self.pos(pos))  # (B, T, D)
        if self.causal:
            # SASRec masks only the future. Left padding sits before every real item, so the
            # padding rows cannot leak into real positions' outputs through the loss; masking
            # padding keys too would leave the all-padding rows with no key at all (NaN).
            mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=seq.device), 1)
            h = self.encoder(x * (seq != 0).unsqueeze(-1), mask=mask, is_causal=True)
        else:
            h = self.encoder(x, src_key_padding_mask=seq == 0)
        return self.norm(h)  # (B, T, D)

    def scores(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.emb.weight.T  # (..., vocab): output tied to the item embeddings


class SASRec(SequenceRanker):
    name, kind = "sasrec", EXPLOITATION

    def build(self, n_items: int) -> nn.Module:
        c = self.config
        return TransformerItemNet(
            n_items + 1, c.max_len, c.dim, c.layers, c.heads, c.dropout, causal=True
        )
