"""DSIE facade (paper sec. 4.2): fit encoder + RQ-VAE, assign CSIDs and groups, build profiles.

    dsie = DSIE.fit(users, item_categories, DSIEConfig(n_groups=50))
    dsie.assign(users)            # -> [GroupAssignment(user_id, csid, group, cold_start)]
    dsie.profiles[g].text         # D_s for the Novelty LLM prompt
    dsie.save(out_dir); DSIE.load(out_dir)

Users with fewer than `min_long_items` items in I'_long are cold-start: they take the
default group (`default_group`, by default the group whose centroid is nearest the mean u_long
of all fitted users) and its CSID. See docs/dsie.md for every decision the paper leaves open.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from models.encoder import (
    EncoderConfig,
    ItemVocab,
    LongTermEncoder,
    embed_users,
    encode_user,
    train_encoder,
)
from models.profiles import (
    GroupMembers,
    GroupProfile,
    LLMProfileBackend,
    ProfileBackend,
    StatisticalProfileBackend,
    category_shares,
    representatives,
)
from models.rqvae import (
    RQVAE,
    GroupMap,
    RQVAEConfig,
    map_csids_to_groups,
    nearest_centroid,
    train_rqvae,
)
from models.short_term import is_cold_start

FORMAT = "coea-dsie/1"


@dataclass(frozen=True)
class UserSequence:
    user_id: str
    long_items: list[str]  # I'_long, oldest first (already filtered by the caller)
    features: dict[str, str | int | float | bool] = field(default_factory=dict)

    @classmethod
    def of(cls, user) -> UserSequence:
        """What DSIE reads of any per-user record with `user_id`, `long_items` and `features`
        (`coea.data.sequences.UserHistory`, the learner's user record), copied."""
        return cls(user.user_id, list(user.long_items), dict(user.features))


@dataclass(frozen=True)
class GroupAssignment:
    user_id: str
    csid: tuple[int, ...]
    group: int  # 0..n_groups-1; cold-start users get DSIE.default_group
    cold_start: bool


@dataclass
class DSIEConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    rqvae: RQVAEConfig = field(default_factory=RQVAEConfig)
    n_groups: int = 50  # M_N: at most this many groups (paper: 50 for ML-1M)
    k_representatives: int = 8  # k representative users per group (eq. 7)
    min_long_items: int = 3  # fewer items in I'_long -> cold start (default group)
    seed: int = 0  # seeds torch, batch order, k-means and re-seeding
    default_group: int | None = None  # cold-start group; None = nearest the mean u_long
    profile_backend: str = "statistical"  # "statistical" or "llm"
    profile_model_dir: str | None = None  # local HF checkpoint folder for the "llm" backend

    @classmethod
    def tiny(cls, **overrides) -> DSIEConfig:
        """A small, fast configuration for tests (d=32, 2 layers, few epochs)."""
        enc = EncoderConfig(
            d=32, n_layers=2, n_heads=2, max_len=50, epochs=15, lr=3e-3, dropout=0.1
        )
        rq = RQVAEConfig(latent_dim=16, hidden=64, epochs=40)
        return cls(**({"encoder": enc, "rqvae": rq} | overrides))

    @classmethod
    def from_json(cls, d: Mapping) -> DSIEConfig:
        return cls(
            **{**d, "encoder": EncoderConfig(**d["encoder"]), "rqvae": RQVAEConfig(**d["rqvae"])}
        )


def _bar(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, disable=not enabled, leave=True)

    def step(_epoch: int, loss: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}")

    return bar, step


class DSIE:
    """A fitted DSIE model: vocabulary, encoder, RQ-VAE, CSID->group map and profiles."""

    def __init__(
        self,
        config: DSIEConfig,
        vocab: ItemVocab,
        encoder: LongTermEncoder,
        rqvae: RQVAE,
        group_map: GroupMap,
        group_csids: dict[int, tuple[int, ...]],
        default_group: int,
        profiles: dict[int, GroupProfile],
        members: list[GroupMembers],
        category_prior: dict[str, float],
        metrics: dict,
        version: str,
    ):
        self.config, self.vocab, self.encoder, self.rqvae = config, vocab, encoder, rqvae
        self.group_map, self.group_csids, self.default_group = group_map, group_csids, default_group
        self.profiles, self.members, self.category_prior = profiles, members, category_prior
        self.metrics, self.version = metrics, version

    # ---- fitting -------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        users: Sequence[UserSequence],
        item_categories: Mapping[str, str],
        config: DSIEConfig | None = None,
        progress: bool = True,
    ) -> DSIE:
        """Train the encoder (next item) and the RQ-VAE, map CSIDs to groups, build profiles.

        Args:
            users: the training users; those with fewer than `min_long_items` items train the
                encoder but are not grouped (cold start).
            item_categories: c(item), for the profiles.
            config: hyper-parameters (defaults: the paper's, see `DSIEConfig`).
            progress: show tqdm bars for the two training loops.
        """
        cfg = config or DSIEConfig()
        backend = cls._backend(cfg)  # fail early on a bad LLM path
        torch.manual_seed(cfg.seed)
        t0 = time.perf_counter()
        min_items = cfg.min_long_items
        warm_idx = [i for i, u in enumerate(users) if not is_cold_start(u.long_items, min_items)]
        if not warm_idx:
            raise ValueError(f"no user has >= {min_items} long-term items to fit DSIE on")
        warm = [users[i] for i in warm_idx]
        vocab, encoder, rqvae, u, metrics = _train(users, warm_idx, cfg, progress)
        codes, un = rqvae.codes(u).numpy(), u.numpy().astype(np.float64)
        gmap = map_csids_to_groups(codes, un, cfg.n_groups)
        group_csids = _group_csids(codes, gmap.labels)
        default = _default_group(cfg, gmap, un)
        members = _members(warm, un, gmap.labels, group_csids, cfg.k_representatives)
        prior = category_shares([u.long_items for u in warm], item_categories)
        profiles = {p.group: p for p in backend.build(members, item_categories, prior)}
        metrics |= {
            "n_users": len(users),
            "n_fitted": len(warm),
            "n_cold_start": len(users) - len(warm),
            "group_sizes": np.bincount(gmap.labels, minlength=len(gmap.centroids)).tolist(),
            "prefix_len": gmap.prefix_len,
            "fit_seconds": round(time.perf_counter() - t0, 2),
        }
        parts = (gmap, group_csids, default, profiles, members, prior, metrics, "")
        model = cls(cfg, vocab, encoder, rqvae, *parts)
        model.version = model._make_version()
        return model

    @staticmethod
    def _backend(cfg: DSIEConfig) -> ProfileBackend:
        if cfg.profile_backend == "statistical":
            return StatisticalProfileBackend()
        if cfg.profile_backend == "llm":
            if not cfg.profile_model_dir:
                raise ValueError("profile_backend='llm' needs profile_model_dir (a local folder)")
            return LLMProfileBackend(cfg.profile_model_dir)
        raise ValueError(f"unknown profile_backend {cfg.profile_backend!r}")

    def rebuild_profiles(self, backend: ProfileBackend, item_categories: Mapping[str, str]) -> None:
        """Regenerate D_s for every group with another backend (e.g. a local LLM)."""
        built = backend.build(self.members, item_categories, self.category_prior)
        self.profiles = {p.group: p for p in built}

    # ---- inference -----------------------------------------------------------------------
    @property
    def n_groups(self) -> int:
        return len(self.group_map.centroids)

    def embed(self, users: Sequence[UserSequence], batch_size: int = 128) -> np.ndarray:
        """u_long (N, d) for each user (cold-start users too: their few items + features)."""
        enc = [
            encode_user(self.vocab, u.long_items, u.features, self.config.encoder) for u in users
        ]
        return embed_users(self.encoder, enc, batch_size).numpy()

    def assign(self, users: Sequence[UserSequence]) -> list[GroupAssignment]:
        """CSID and group per user; cold-start users get the default group's CSID."""
        min_items = self.config.min_long_items
        warm = [i for i, u in enumerate(users) if not is_cold_start(u.long_items, min_items)]
        codes, groups = self.quantize(self.embed([users[i] for i in warm]))
        g0 = self.default_group
        out = [GroupAssignment(u.user_id, self.group_csids[g0], g0, True) for u in users]
        for row, i in enumerate(warm):
            out[i] = GroupAssignment(users[i].user_id, tuple(codes[row]), int(groups[row]), False)
        return out

    def quantize(self, u_long: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(codes (N, levels), groups (N,)) for given u_long rows."""
        codes = self.rqvae.codes(torch.as_tensor(u_long, dtype=torch.float32)).numpy()
        return codes, self.group_map.groups_of(codes, np.asarray(u_long, dtype=np.float64))

    def nearest_group(self, u_long: np.ndarray) -> np.ndarray:
        """Group whose centroid is nearest each u_long row (incremental use between refits)."""
        u = np.atleast_2d(np.asarray(u_long, dtype=np.float64))
        return nearest_centroid(self.group_map.centroids, u)

    def summary(self) -> dict:
        m = self.metrics
        return {
            "version": self.version,
            "n_groups": self.n_groups,
            "group_sizes": m["group_sizes"],
            "default_group": self.default_group,
            "n_users": m["n_users"],
            "n_cold_start": m["n_cold_start"],
            "n_items": m["n_items"],
            "recon_loss": m["recon_loss"],
            "code_usage": m["code_usage"],
            "distinct_csids": m["distinct_csids"],
            "prefix_len": m["prefix_len"],
            "encoder_loss_first_last": [m["encoder_loss"][0], m["encoder_loss"][-1]]
            if m["encoder_loss"]
            else [],
            "fit_seconds": m["fit_seconds"],
        }

    # ---- persistence ---------------------------------------------------------------------
    def _state(self) -> dict[str, torch.Tensor]:
        state = {f"encoder.{k}": v for k, v in self.encoder.state_dict().items()}
        state |= {f"rqvae.{k}": v for k, v in self.rqvae.state_dict().items()}
        state["group_centroids"] = torch.as_tensor(self.group_map.centroids)
        return {k: v.contiguous().cpu() for k, v in state.items()}

    def _make_version(self) -> str:
        h = hashlib.sha1()
        for k, v in sorted(self._state().items()):
            h.update(k.encode())
            h.update(v.numpy().tobytes())
        return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + h.hexdigest()[:8]

    def save(self, path: str | Path) -> Path:
        """Write `weights.safetensors` + `manifest.json` into the folder `path` (created)."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        save_file(
            self._state(), str(out / "weights.safetensors"), metadata={"version": self.version}
        )
        (out / "manifest.json").write_text(json.dumps(_manifest_of(self), indent=1))
        return out

    @classmethod
    def load(cls, path: str | Path) -> DSIE:
        path = Path(path)
        if not (path / "manifest.json").is_file():
            raise FileNotFoundError(f"{path} holds no DSIE artifact (manifest.json missing)")
        manifest = json.loads((path / "manifest.json").read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown artifact format {manifest.get('format')!r}")
        return _from_manifest(cls, manifest, load_file(str(path / "weights.safetensors")))


def _train(users, warm_idx: list[int], cfg: DSIEConfig, progress: bool):
    """Vocabulary, encoder (trained on every user), RQ-VAE (on the warm users' u_long)."""
    vocab = ItemVocab(i for u in users for i in u.long_items)
    encoder = LongTermEncoder(cfg.encoder, len(vocab))
    enc_users = [encode_user(vocab, u.long_items, u.features, cfg.encoder) for u in users]
    bar, step = _bar(cfg.encoder.epochs, "DSIE encoder", progress)
    enc_loss = train_encoder(encoder, enc_users, cfg.seed, step)
    bar.close()
    u = embed_users(encoder, [enc_users[i] for i in warm_idx])
    rqvae = RQVAE(cfg.rqvae, cfg.encoder.d)
    bar, step = _bar(cfg.rqvae.epochs, "DSIE RQ-VAE", progress)
    rq_metrics = train_rqvae(rqvae, u, cfg.seed, step)
    bar.close()
    metrics = {"n_items": len(vocab) - 2, "encoder_loss": enc_loss} | rq_metrics
    return vocab, encoder, rqvae, u, metrics


def _default_group(cfg: DSIEConfig, gmap: GroupMap, u: np.ndarray) -> int:
    """The configured cold-start group, else the group nearest the mean u_long."""
    if cfg.default_group is None:
        return int(nearest_centroid(gmap.centroids, u.mean(0, keepdims=True))[0])
    if not 0 <= cfg.default_group < len(gmap.centroids):
        raise ValueError(f"default_group {cfg.default_group} is not a fitted group")
    return cfg.default_group


def _group_csids(codes: np.ndarray, labels: np.ndarray) -> dict[int, tuple[int, ...]]:
    """Each group's CSID: the most common full CSID among its members (ties: lowest)."""
    out = {}
    for g in np.unique(labels):
        rows, counts = np.unique(codes[labels == g], axis=0, return_counts=True)
        out[int(g)] = tuple(int(x) for x in rows[np.argmax(counts)])
    return out


def _members(warm, u, labels, group_csids, k) -> list[GroupMembers]:
    reps = representatives(u, labels, k)
    sizes = np.bincount(labels)
    return [
        GroupMembers(
            g,
            group_csids[g],
            int(sizes[g]),
            [warm[i].user_id for i in idx],
            [list(warm[i].long_items) for i in idx],
        )
        for g, idx in sorted(reps.items())
    ]


def _manifest_of(m: DSIE) -> dict:
    return {
        "format": FORMAT,
        "version": m.version,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": asdict(m.config),
        "vocab": m.vocab.items,
        "prefix_len": m.group_map.prefix_len,
        "prefix_to_group": [[list(k), g] for k, g in m.group_map.prefix_to_group.items()],
        "group_csids": {str(g): list(c) for g, c in m.group_csids.items()},
        "default_group": m.default_group,
        "profiles": [p.to_json() for _, p in sorted(m.profiles.items())],
        "members": [asdict(g) | {"csid": list(g.csid)} for g in m.members],
        "category_prior": m.category_prior,
        "metrics": m.metrics,
    }


def _from_manifest(cls: type[DSIE], man: dict, state: dict[str, torch.Tensor]) -> DSIE:
    cfg = DSIEConfig.from_json(man["config"])
    vocab = ItemVocab(man["vocab"])
    encoder = LongTermEncoder(cfg.encoder, len(vocab))
    encoder.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("encoder.")})
    encoder.eval()
    rqvae = RQVAE(cfg.rqvae, cfg.encoder.d)
    rqvae.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("rqvae.")})
    rqvae.eval()
    gmap = GroupMap(
        man["prefix_len"],
        {tuple(k): g for k, g in man["prefix_to_group"]},
        state["group_centroids"].numpy().astype(np.float64),
        np.zeros(0, dtype=np.int64),  # training labels are not kept
    )
    members = [GroupMembers(**(g | {"csid": tuple(g["csid"])})) for g in man["members"]]
    return cls(
        cfg,
        vocab,
        encoder,
        rqvae,
        gmap,
        {int(g): tuple(c) for g, c in man["group_csids"].items()},
        man["default_group"],
        {p["group"]: GroupProfile.from_json(p) for p in man["profiles"]},
        members,
        man["category_prior"],
        man["metrics"],
        man["version"],
    )
