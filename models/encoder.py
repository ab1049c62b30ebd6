"""Long-term interest encoder (paper eq. 4-5): causal self-attention over I'_long.

Input per user: the sparse-feature embedding e_sparse prepended to the item embeddings,
``E' = [e_sparse, e_1, ..., e_T]`` plus learned positions, through L causal layers
(``H(l) = LayerNorm(A + H(l-1))``, eq. 1, followed by a SASRec-style point-wise feed-forward
block with its own residual + LayerNorm). ``u_long = H_T^(L)``: the last real position's
output of the last layer.

Training objective (the paper does not give one): SASRec-style next-item prediction. The
output at position t (the sparse token is position 0) predicts item t+1, scored against the
item embedding table (weights tied with the input embeddings). ``n_negatives == 0`` uses the
full softmax over the vocabulary (fine for a few thousand items); ``n_negatives > 0`` uses a
sampled softmax (the positive against that many uniformly drawn items) for large catalogues.

Growing item vocabularies: index 0 is padding and index 1 is the out-of-vocabulary bucket.
`ItemVocab` is frozen at fit time; at inference an unseen item maps to the OOV embedding
(which training also sees: a share ``oov_dropout`` of training items is replaced by OOV), and a
refit re-indexes the vocabulary from the items in the new window.

Sparse features (``dict[str, str|int|float|bool]``) become one vector: each ``key=value`` is
hashed (crc32, stable across processes) into ``feature_buckets`` embedding rows and the rows
are summed; numbers are bucketed on a log2 scale first (``round(2*log2(1+|x|))`` with sign:
buckets grow by a factor sqrt(2), so ages 24 and 25 share one, 60 does not). Users without
features get a learned "no features" row.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

PAD, OOV = 0, 1
FeatureValue = str | int | float | bool


@dataclass
class EncoderConfig:
    d: int = 128  # embedding / model width (paper: 128)
    n_layers: int = 4  # causal self-attention layers L (paper: 4)
    n_heads: int = 4  # attention heads (paper: 4)
    ffn_mult: int = 2  # point-wise feed-forward width = ffn_mult * d
    max_len: int = 50  # keep the most recent max_len items of I'_long
    dropout: float = 0.2  # dropout on embeddings, attention and feed-forward (training only)
    feature_buckets: int = 512  # hash buckets for sparse features
    n_negatives: int = 0  # 0: full softmax; > 0: sampled softmax with this many negatives
    oov_dropout: float = 0.02  # share of training items replaced by OOV (teaches the OOV row)
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 0.0  # Adam weight decay
    batch_size: int = 64  # users per step
    epochs: int = 20  # passes over the users


class ItemVocab:
    """item id <-> row index; 0 = padding, 1 = OOV, items from 2 in first-seen order."""

    def __init__(self, items: Iterable[str]):
        self.items: list[str] = []
        self.index: dict[str, int] = {}
        for item in items:
            if item not in self.index:
                self.index[item] = len(self.items) + 2
                self.items.append(item)

    def __len__(self) -> int:  # rows, PAD and OOV included
        return len(self.items) + 2

    def encode(self, items: Sequence[str]) -> list[int]:
        return [self.index.get(i, OOV) for i in items]


def feature_tokens(features: Mapping[str, FeatureValue]) -> list[str]:
    """`key=value` tokens; numbers bucketed on a half-octave log scale, bools as true/false."""
    out = []
    for key in sorted(features):
        value = features[key]
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            x = float(value)
            b = 0 if not math.isfinite(x) else round(2 * math.log2(1 + abs(x)))
            value = f"#{'-' if x < 0 else ''}{b}"
        out.append(f"{key}={value}")
    return out


def feature_ids(features: Mapping[str, FeatureValue], buckets: int) -> list[int]:
    """Hash buckets 1..buckets-1 of the feature tokens; [0] (the "no features" row) if none."""
    ids = [1 + zlib.crc32(t.encode()) % (buckets - 1) for t in feature_tokens(features)]
    return ids or [0]


class CausalLayer(nn.Module):
    """Masked multi-head self-attention + residual + LayerNorm, then FFN + residual + LayerNorm."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.n_heads, self.dropout = cfg.n_heads, cfg.dropout
        self.qkv = nn.Linear(cfg.d, 3 * cfg.d)
        self.proj = nn.Linear(cfg.d, cfg.d)
        self.ln1 = nn.LayerNorm(cfg.d)
        self.ffn = nn.Sequential(
            nn.Linear(cfg.d, cfg.ffn_mult * cfg.d),
            nn.GELU(),
            nn.Linear(cfg.ffn_mult * cfg.d, cfg.d),
        )
        self.ln2 = nn.LayerNorm(cfg.d)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        B, T, D = h.shape
        # (3, B, H, T, Dh) in one copy: q, k and v come out contiguous for the attention kernel
        qkv = self.qkv(h).view(B, T, 3, self.n_heads, D // self.n_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).contiguous().unbind(0)
        p = self.dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)  # eq. 1
        a = self.proj(a.transpose(1, 2).reshape(B, T, D))
        h = self.ln1(h + self.drop(a))
        return self.ln2(h + self.drop(self.ffn(h)))

    def forward_at(self, h: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """`forward(h)[arange(B), rows]` without computing the other positions' outputs
        (inference: the query, projection and feed-forward of one position per sequence)."""
        B, T, D = h.shape
        Dh = D // self.n_heads
        at = h[torch.arange(B, device=h.device), rows]  # (B, D)
        w, b = self.qkv.weight, self.qkv.bias
        q = F.linear(at, w[:D], b[:D]).view(B, self.n_heads, 1, Dh)
        kv = F.linear(h, w[D:], b[D:]).view(B, T, 2, self.n_heads, Dh)
        k, v = kv.permute(2, 0, 3, 1, 4).contiguous().unbind(0)
        seen = torch.arange(T, device=h.device)[None, :] <= rows[:, None]  # causal, per row
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=seen[:, None, None, :])
        at = self.ln1(at + self.proj(a.reshape(B, D)))
        return self.ln2(at + self.ffn(at))


class LongTermEncoder(nn.Module):
    """CSA encoder; `forward(items, lengths, feats)` -> hidden states (B, T+1, d)."""

    def __init__(self, cfg: EncoderConfig, n_items: int):
        super().__init__()
        assert cfg.d % cfg.n_heads == 0, "d must be divisible by n_heads"
        self.cfg = cfg
        self.item_emb = nn.Embedding(n_items, cfg.d, padding_idx=PAD)  # eq. 4 (W_emb)
        self.feat_emb = nn.EmbeddingBag(cfg.feature_buckets, cfg.d, mode="sum")
        self.pos_emb = nn.Embedding(cfg.max_len + 1, cfg.d)
        self.layers = nn.ModuleList(CausalLayer(cfg) for _ in range(cfg.n_layers))
        self.drop = nn.Dropout(cfg.dropout)
        nn.init.normal_(self.item_emb.weight, std=0.05)
        nn.init.normal_(self.feat_emb.weight, std=0.05)
        nn.init.normal_(self.pos_emb.weight, std=0.05)

    def forward(
        self, items: torch.Tensor, feats: torch.Tensor, feat_offsets: torch.Tensor
    ) -> torch.Tensor:
        """items (B, T) right-padded with 0; feats/offsets as for nn.EmbeddingBag."""
        h = self._inputs(items, feats, feat_offsets)
        for layer in self.layers:  # eq. 5
            h = layer(h)
        return h

    def _inputs(self, items, feats, feat_offsets) -> torch.Tensor:
        e_sparse = self.feat_emb(feats, feat_offsets).unsqueeze(1)  # (B, 1, d)
        h = torch.cat([e_sparse, self.item_emb(items)], dim=1)  # (B, T+1, d): E'
        pos = torch.arange(h.shape[1], device=h.device)
        return self.drop(h + self.pos_emb(pos))

    def encode_last(
        self,
        items: torch.Tensor,
        feats: torch.Tensor,
        feat_offsets: torch.Tensor,
        lengths: torch.Tensor,
    ) -> torch.Tensor:
        """`u_long(forward(...), lengths)` with the last layer computed at that row only."""
        h = self._inputs(items, feats, feat_offsets)
        for layer in self.layers[:-1]:
            h = layer(h)
        return self.layers[-1].forward_at(h, lengths)

    def u_long(self, hidden: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """H_T^(L): row `lengths` (sparse token at 0, so the last item sits at index T)."""
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), lengths]  # (B, d)

    def next_item_loss(self, hidden: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of predicting items[:, t] from hidden[:, t] (padding ignored)."""
        h = hidden[:, :-1]  # (B, T, d): position t predicts item t (0-based over items)
        mask = items != PAD
        h, target = h[mask], items[mask]  # (N, d), (N,)
        w = self.item_emb.weight
        if self.cfg.n_negatives <= 0:
            logits = h @ w[1:].T  # PAD is never a target
            return F.cross_entropy(logits, target - 1)
        neg = torch.randint(1, w.shape[0], (h.shape[0], self.cfg.n_negatives), device=h.device)
        cand = torch.cat([target[:, None], neg], dim=1)  # (N, 1+K): positive first
        logits = torch.einsum("nd,nkd->nk", h, w[cand])
        hit = torch.cat([torch.zeros_like(neg[:, :1], dtype=torch.bool), neg == target[:, None]], 1)
        logits = logits.masked_fill(hit, float("-inf"))  # a sampled positive is no negative
        return F.cross_entropy(logits, torch.zeros_like(target))


@dataclass
class EncodedUser:
    items: list[int]  # vocab rows of I'_long, oldest first (already cut to max_len)
    feats: list[int]  # feature hash buckets


def encode_user(
    vocab: ItemVocab, items: Sequence[str], features: Mapping[str, FeatureValue], cfg: EncoderConfig
) -> EncodedUser:
    return EncodedUser(
        vocab.encode(items[-cfg.max_len :]), feature_ids(features, cfg.feature_buckets)
    )


def collate(users: Sequence[EncodedUser]) -> dict[str, torch.Tensor]:
    """Right-padded item matrix, lengths and EmbeddingBag inputs for a batch."""
    lengths = torch.tensor([len(u.items) for u in users])
    items = torch.zeros(len(users), max(1, int(lengths.max())), dtype=torch.long)
    for row, u in enumerate(users):
        items[row, : len(u.items)] = torch.tensor(u.items, dtype=torch.long)
    feats = torch.tensor([f for u in users for f in u.feats], dtype=torch.long)
    offsets = torch.tensor([0] + [len(u.feats) for u in users[:-1]]).cumsum(0)
    return {"items": items, "lengths": lengths, "feats": feats, "feat_offsets": offsets}


def length_batches(
    users: Sequence[EncodedUser], batch_size: int, generator: torch.Generator | None = None
) -> list[list[int]]:
    """Batches of indices of users of similar length (less padding), in random batch order."""
    order = sorted(range(len(users)), key=lambda i: len(users[i].items))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if generator is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator)]
    return batches


def train_encoder(
    model: LongTermEncoder, users: Sequence[EncodedUser], seed: int = 0, progress=None
) -> list[float]:
    """Next-item training (see module docstring); returns the mean loss of each epoch.

    Args:
        model: the encoder to train in place.
        users: encoded users; those with no items are skipped (nothing to predict).
        seed: seeds batch order, dropout and OOV replacement.
        progress: optional callable(epoch, loss) called after each epoch.
    """
    cfg = model.cfg
    users = [u for u in users if u.items]
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history = []
    model.train()
    for epoch in range(cfg.epochs):
        total, count = 0.0, 0
        for idx in length_batches(users, cfg.batch_size, gen):
            b = collate([users[i] for i in idx])
            inputs = b["items"]
            if cfg.oov_dropout > 0:
                drop = (torch.rand(inputs.shape, generator=gen) < cfg.oov_dropout) & (inputs > OOV)
                inputs = inputs.masked_fill(drop, OOV)
            hidden = model(inputs, b["feats"], b["feat_offsets"])
            loss = model.next_item_loss(hidden, b["items"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(idx), count + len(idx)
        history.append(total / max(count, 1))
        if progress is not None:
            progress(epoch, history[-1])
    model.eval()
    return history


@torch.no_grad()
def embed_users(
    model: LongTermEncoder, users: Sequence[EncodedUser], batch_size: int = 128
) -> torch.Tensor:
    """u_long for each user (N, d), in input order; users with no items get H_0 (features)."""
    model.eval()
    out = torch.empty(len(users), model.cfg.d)
    for idx in length_batches(users, batch_size):
        b = collate([users[i] for i in idx])
        out[idx] = model.encode_last(b["items"], b["feats"], b["feat_offsets"], b["lengths"])
    return out
