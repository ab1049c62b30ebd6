"""RQ-VAE (paper sec. 3.3, eq. 2 and 6): u_long -> CSID = (i(1), ..., i(L)).

Encoder MLP ``z = E(u)``, then L residual quantisation steps ``q(k) = argmin_c ||r(k) - c||``,
``r(k+1) = r(k) - q(k)`` (eq. 2), decoder ``u_hat = D(sum_k q(k))``. Losses: reconstruction
MSE + per level codebook loss ``||sg(r) - q||^2`` + ``beta * ||r - sg(q)||^2`` (commitment);
gradients reach the encoder through the straight-through estimator ``z + sg(z_hat - z)``.

Two guards against codebook collapse (without them most codes die):
- k-means initialisation: on the first training step each level's codebook is set by k-means
  on that level's residuals of the whole training set (level by level).
- dead-code re-seeding: after each epoch every code no training vector chose during that epoch
  is re-seeded with a random residual of its level (plus small noise).

Inputs are standardised with the training mean/std (stored as buffers) so the RQ-VAE sees the
same scale whatever the encoder's output scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class RQVAEConfig:
    codebook_size: int = 16  # C: codes per level (paper: 16 for ML-1M)
    levels: int = 4  # L: residual quantisation levels (paper: 4)
    latent_dim: int = 32  # d_z
    hidden: int = 128  # width of the encoder/decoder MLP hidden layer
    beta: float = 0.25  # commitment weight
    lr: float = 1e-3  # Adam learning rate
    batch_size: int = 256  # users per step
    epochs: int = 150  # passes over the users
    kmeans_init: bool = True  # k-means initialisation of each level on the first step
    reseed_dead: bool = True  # re-seed codes unused over an epoch from random residuals
    kmeans_iters: int = 25  # Lloyd iterations of the k-means initialisation


def kmeans(x: torch.Tensor, k: int, iters: int, gen: torch.Generator) -> torch.Tensor:
    """k-means++-seeded Lloyd's algorithm; returns (k, dim) centroids."""
    n = x.shape[0]
    centers = [x[torch.randint(n, (1,), generator=gen)].squeeze(0)]
    for _ in range(1, k):
        d2 = torch.cdist(x, torch.stack(centers)).min(1).values ** 2
        if float(d2.sum()) <= 0:  # fewer distinct points than k: duplicate with noise
            centers.append(x[torch.randint(n, (1,), generator=gen)].squeeze(0))
            continue
        centers.append(x[torch.multinomial(d2 / d2.sum(), 1, generator=gen)].squeeze(0))
    c = torch.stack(centers)
    for _ in range(iters):
        assign = torch.cdist(x, c).argmin(1)
        for j in range(k):
            members = x[assign == j]
            if len(members):
                c[j] = members.mean(0)
    return c


class RQVAE(nn.Module):
    def __init__(self, cfg: RQVAEConfig, input_dim: int):
        super().__init__()
        self.cfg = cfg
        self.encoder = nn.Sequential(
            nn.Linear(input_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(cfg.latent_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, input_dim)
        )
        self.codebooks = nn.Parameter(torch.randn(cfg.levels, cfg.codebook_size, cfg.latent_dim))
        self.register_buffer("mean", torch.zeros(input_dim))
        self.register_buffer("std", torch.ones(input_dim))
        self.register_buffer("initialised", torch.tensor(False))

    def quantize(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Residual quantisation (eq. 2): codes (N, L), z_hat (N, dz), residuals per level."""
        r, codes, residuals, z_hat = z, [], [], torch.zeros_like(z)
        for level in range(self.cfg.levels):
            cb = self.codebooks[level]  # (C, dz)
            idx = torch.cdist(r.detach(), cb.detach()).argmin(1)
            q = cb[idx]
            residuals.append(r)
            codes.append(idx)
            z_hat = z_hat + q
            r = r - q
        return torch.stack(codes, 1), z_hat, residuals

    def forward(self, u: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """u (N, input_dim) raw u_long -> (codes (N, L), losses)."""
        x = (u - self.mean) / self.std
        z = self.encoder(x)
        codes, z_hat, residuals = self.quantize(z)
        cb_loss = commit = torch.zeros((), device=u.device)
        for level, r in enumerate(residuals):
            q = self.codebooks[level][codes[:, level]]
            cb_loss = cb_loss + F.mse_loss(q, r.detach())
            commit = commit + F.mse_loss(r, q.detach())
        z_st = z + (z_hat - z).detach()  # straight-through estimator
        recon = F.mse_loss(self.decoder(z_st), x)
        loss = recon + cb_loss + self.cfg.beta * commit
        return codes, {"loss": loss, "recon": recon, "codebook": cb_loss, "commit": commit}

    @torch.no_grad()
    def codes(self, u: torch.Tensor, batch_size: int = 65536) -> torch.Tensor:
        """CSID codes (N, L) for raw u_long, in batches."""
        out = [
            self.quantize(self.encoder((b - self.mean) / self.std))[0] for b in u.split(batch_size)
        ]
        return torch.cat(out) if out else torch.zeros(0, self.cfg.levels, dtype=torch.long)

    @torch.no_grad()
    def residuals(self, u: torch.Tensor) -> list[torch.Tensor]:
        return self.quantize(self.encoder((u - self.mean) / self.std))[2]

    @torch.no_grad()
    def kmeans_init(self, u: torch.Tensor, gen: torch.Generator) -> None:
        """Set each level's codebook by k-means on that level's residuals, level by level."""
        r = self.encoder((u - self.mean) / self.std)
        for level in range(self.cfg.levels):
            c = kmeans(r, self.cfg.codebook_size, self.cfg.kmeans_iters, gen)
            self.codebooks.data[level] = c
            r = r - c[torch.cdist(r, c).argmin(1)]
        self.initialised.fill_(True)

    @torch.no_grad()
    def reseed(self, u: torch.Tensor, used: torch.Tensor, gen: torch.Generator) -> int:
        """Re-seed codes with used[level, code] == 0 from random residuals; returns how many."""
        residuals, n = self.residuals(u), 0
        for level, r in enumerate(residuals):
            dead = (used[level] == 0).nonzero().flatten()
            if len(dead) == 0:
                continue
            pick = torch.randint(r.shape[0], (len(dead),), generator=gen)
            noise = 0.01 * r.std() * torch.randn(len(dead), r.shape[1], generator=gen)
            self.codebooks.data[level, dead] = r[pick] + noise
            n += len(dead)
        return n


def train_rqvae(model: RQVAE, u: torch.Tensor, seed: int = 0, progress=None) -> dict:
    """Fit the RQ-VAE on u_long (N, d); returns final metrics (loss parts, code usage)."""
    cfg = model.cfg
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model.mean.copy_(u.mean(0))
    model.std.copy_(u.std(0).clamp_min(1e-6) if len(u) > 1 else torch.ones(u.shape[1]))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    reseeded = 0
    model.train()
    for epoch in range(cfg.epochs):
        used = torch.zeros(cfg.levels, cfg.codebook_size, dtype=torch.long)
        for idx in torch.randperm(len(u), generator=gen).split(cfg.batch_size):
            if cfg.kmeans_init and not bool(model.initialised):
                model.kmeans_init(u, gen)
            codes, losses = model(u[idx])
            opt.zero_grad()
            losses["loss"].backward()
            opt.step()
            for level in range(cfg.levels):
                used[level] += torch.bincount(codes[:, level], minlength=cfg.codebook_size)
        last_epoch = epoch == cfg.epochs - 1
        if cfg.reseed_dead and not last_epoch:
            reseeded += model.reseed(u, used, gen)
        if progress is not None:
            progress(epoch, losses["loss"].item())
    model.eval()
    return evaluate_rqvae(model, u) | {"reseeded_codes": reseeded}


@torch.no_grad()
def evaluate_rqvae(model: RQVAE, u: torch.Tensor) -> dict:
    """Reconstruction loss (standardised MSE) and per-level code usage on u."""
    model.eval()
    codes, losses = model(u)
    usage = [
        len(torch.unique(codes[:, level])) / model.cfg.codebook_size
        for level in range(model.cfg.levels)
    ]
    return {
        "recon_loss": float(losses["recon"]),
        "codebook_loss": float(losses["codebook"]),
        "commit_loss": float(losses["commit"]),
        "code_usage": usage,  # share of codes used by at least one user, per level
        "distinct_csids": len({tuple(c) for c in codes.tolist()}),
    }


@dataclass
class GroupMap:
    """CSID -> group rule fitted on the training users (see `map_csids_to_groups`)."""

    prefix_len: int  # CSID levels that define a group's seed
    prefix_to_group: dict[tuple[int, ...], int]
    centroids: np.ndarray  # (G, d) mean u_long of each group; used for unseen prefixes
    labels: np.ndarray  # (N,) group of each training user

    def groups_of(self, codes: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Group of each (codes, u_long) row: by prefix, else the nearest centroid."""
        out = np.empty(len(codes), dtype=np.int64)
        unseen = []
        for row, c in enumerate(codes[:, : self.prefix_len].tolist()):
            g = self.prefix_to_group.get(tuple(c))
            if g is None:
                unseen.append(row)
            else:
                out[row] = g
        if unseen:
            out[unseen] = nearest_centroid(self.centroids, u[unseen])
        return out


def nearest_centroid(centroids: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the nearest (Euclidean) centroid for each row of u."""
    d2 = (u**2).sum(1)[:, None] - 2 * u @ centroids.T + (centroids**2).sum(1)[None, :]
    return d2.argmin(1)


def map_csids_to_groups(codes: np.ndarray, u: np.ndarray, n_groups: int) -> GroupMap:
    """Map CSIDs to at most `n_groups` groups (the paper's M_N).

    1. Seeds: the distinct CSID prefixes of length p, p the shortest prefix with at least
       `n_groups` distinct values among the users (the full CSID if none has).
    2. While more than `n_groups` seeds remain, the smallest (ties: lowest prefix) is merged
       into the seed whose centroid (mean u_long) is nearest.
    3. Groups are numbered by size, largest first (ties: lowest prefix).
    """
    levels = codes.shape[1]
    p = next(
        (q for q in range(1, levels + 1) if len({tuple(c) for c in codes[:, :q]}) >= n_groups),
        levels,
    )
    prefixes = [tuple(c) for c in codes[:, :p].tolist()]
    keys = sorted(set(prefixes))
    seed_of = {k: i for i, k in enumerate(keys)}
    owner = np.array([seed_of[k] for k in prefixes])  # (N,) seed index of each user
    sizes = np.bincount(owner, minlength=len(keys)).astype(float)
    sums = np.zeros((len(keys), u.shape[1]))
    np.add.at(sums, owner, u)
    alive = np.ones(len(keys), dtype=bool)
    parent = np.arange(len(keys))
    while alive.sum() > n_groups:
        small = int(np.flatnonzero(alive)[np.argmin(sizes[alive])])
        cent = sums / np.maximum(sizes, 1)[:, None]
        d2 = ((cent - cent[small]) ** 2).sum(1)
        d2[~alive] = np.inf
        d2[small] = np.inf
        into = int(np.argmin(d2))
        sizes[into] += sizes[small]
        sums[into] += sums[small]
        alive[small] = False
        parent[parent == small] = into
    roots = sorted(np.flatnonzero(alive), key=lambda r: (-sizes[r], r))
    number = {int(r): g for g, r in enumerate(roots)}
    prefix_to_group = {k: number[int(parent[i])] for i, k in enumerate(keys)}
    labels = np.array([prefix_to_group[k] for k in prefixes], dtype=np.int64)
    centroids = np.stack([u[labels == g].mean(0) for g in range(len(roots))])
    return GroupMap(p, prefix_to_group, centroids, labels)
