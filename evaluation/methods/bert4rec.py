"""BERT4Rec (Sun et al., 2019): bidirectional self-attention trained with a cloze task.

Training masks each item with probability `mask_prob` (at least one per window) and predicts
the masked items; scoring appends a [MASK] after the user's last items and reads its logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from evaluation.methods.base import EXPLOITATION
from evaluation.methods.sasrec import TransformerItemNet
from evaluation.methods.seqtrain import SequenceRanker, last_items, masked_loss


class BERT4Rec(SequenceRanker):
    name, kind = "bert4rec", EXPLOITATION

    def build(self, n_items: int) -> nn.Module:
        c = self.config
        self.mask_id = n_items + 1
        return TransformerItemNet(
            n_items + 2, c.max_len, c.dim, c.layers, c.heads, c.dropout, causal=False
        )

    def batch_loss(
        self, model: nn.Module, batch: torch.Tensor, gen: torch.Generator
    ) -> torch.Tensor:
        seq = batch[:, 1:]  # windows are max_len + 1 long; the encoder reads max_len
        real = seq != 0
        masked = (torch.rand(seq.shape, generator=gen) < self.config.mask_prob) & real
        masked[:, -1] |= ~masked.any(dim=1) & real[:, -1]  # at least one masked item per row
        inputs = seq.masked_fill(masked, self.mask_id)
        targets = seq.masked_fill(~masked, 0)
        return masked_loss(model, model(inputs), targets)

    @torch.no_grad()
    def score_items(self, users: Sequence[str]) -> np.ndarray:
        seqs = last_items(self._user_sequences(users), self.config.max_len - 1)
        seqs = torch.cat([seqs, torch.full((len(seqs), 1), self.mask_id)], dim=1)
        out = []
        for start in range(0, len(seqs), 512):
            logits = self.net.scores(self.net(seqs[start : start + 512])[:, -1, :])
            out.append(logits[:, 1 : len(self.item_ids) + 1])
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.item_ids)))
