"""RQ-VAE: codes, k-means init, dead-code re-seeding, CSID -> group mapping."""

from __future__ import annotations

import numpy as np
import torch

from models.rqvae import RQVAE, RQVAEConfig, map_csids_to_groups, nearest_centroid, train_rqvae


def _fit(kmeans_init: bool, reseed_dead: bool, seed: int = 0) -> dict:
    u = torch.randn(512, 32, generator=torch.Generator().manual_seed(seed))
    cfg = RQVAEConfig(latent_dim=16, hidden=64, epochs=30)
    cfg.kmeans_init, cfg.reseed_dead = kmeans_init, reseed_dead
    torch.manual_seed(seed)
    return train_rqvae(RQVAE(cfg, 32), u, seed=seed)


def test_codes_shape_and_range():
    cfg = RQVAEConfig(codebook_size=8, levels=3, latent_dim=8, hidden=16, epochs=2)
    m = RQVAE(cfg, 12)
    u = torch.randn(50, 12)
    train_rqvae(m, u)
    codes = m.codes(u)
    assert codes.shape == (50, 3) and codes.dtype == torch.long
    assert int(codes.min()) >= 0 and int(codes.max()) < 8
    assert torch.equal(codes, m.codes(u))  # deterministic in eval mode


def test_residual_quantisation_sums_codewords():
    m = RQVAE(RQVAEConfig(codebook_size=4, levels=2, latent_dim=3, hidden=8), 5)
    z = torch.randn(7, 3)
    codes, z_hat, residuals = m.quantize(z)
    expected = m.codebooks[0][codes[:, 0]] + m.codebooks[1][codes[:, 1]]
    assert torch.allclose(z_hat, expected)
    assert torch.allclose(residuals[1], z - m.codebooks[0][codes[:, 0]])  # eq. 2


def test_dead_code_reseeding_keeps_codebooks_in_use_on_random_data():
    bare = _fit(kmeans_init=False, reseed_dead=False)
    reseeded = _fit(kmeans_init=False, reseed_dead=True)
    both = _fit(kmeans_init=True, reseed_dead=True)
    assert min(bare["code_usage"]) < 0.5, bare  # without the guards codebooks collapse
    assert reseeded["reseeded_codes"] > 0
    assert min(reseeded["code_usage"]) >= 0.5, reseeded
    assert min(both["code_usage"]) >= 0.5, both
    assert both["recon_loss"] < bare["recon_loss"]


def test_group_map_uses_shortest_prefix_and_merges_smallest_into_nearest():
    # prefixes (0,), (1,), (2,) at level 1; n_groups=2 -> level 1 has 3 >= 2 distinct values
    codes = np.array([[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [2, 0]])
    u = np.array([[0.0, 0], [0, 0.1], [0.1, 0], [5, 5], [5, 5.1], [4.5, 4.5]])
    gm = map_csids_to_groups(codes, u, n_groups=2)
    assert gm.prefix_len == 1
    assert gm.labels.tolist() == [0, 0, 0, 1, 1, 1]  # (2,) merged into (1,), the nearest
    assert gm.prefix_to_group == {(0,): 0, (1,): 1, (2,): 1}
    # an unseen prefix goes to the nearest centroid
    assert gm.groups_of(np.array([[7, 0]]), np.array([[4.9, 5.0]])).tolist() == [1]


def test_group_map_goes_deeper_when_level_one_has_too_few_values():
    rng = np.random.default_rng(0)
    codes = np.stack([rng.integers(0, 2, 200), rng.integers(0, 8, 200)], 1)
    gm = map_csids_to_groups(codes, rng.normal(size=(200, 4)), n_groups=5)
    assert gm.prefix_len == 2
    assert len(gm.centroids) == 5 and set(gm.labels.tolist()) == set(range(5))
    sizes = np.bincount(gm.labels)
    assert (np.diff(sizes) <= 0).all()  # numbered largest first


def test_nearest_centroid():
    c = np.array([[0.0, 0.0], [10.0, 0.0]])
    assert nearest_centroid(c, np.array([[1.0, 1.0], [9.0, -1.0]])).tolist() == [0, 1]
