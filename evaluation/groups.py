"""The DSIE group check of the paper's Figure 3: are users of one group closer to each other
than to other groups?

Two disjoint random subsets of users per sampled group; the cosine similarity between the
mean long-term embeddings (u_long) of all subsets; intra-group (the two subsets of one group)
against inter-group (subsets of different groups). `coea groups report` writes it as JSON and
a heat map; `load_users` gives `coea groups fit` and the report the same users of a dataset.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

DATASETS = ("ml-100k", "ml-1m", "synthetic")


def load_users(dataset: str, path: str | None, data: dict):
    """(users, item_categories, planted labels or None) of a dataset under the sequence
    settings in ``data`` (tau, click_threshold, short_k, mode; synthetic_users,
    synthetic_groups and seed for the planted population). Raises ValueError when a
    MovieLens dataset has no ``path``."""
    from models.dsie import UserSequence

    if dataset == "synthetic":
        from models.testing import planted_population

        g = data["synthetic_groups"]
        pop = planted_population(data["synthetic_users"], g, max(18, 3 * g), seed=data["seed"])
        return pop.users, pop.item_categories, pop.labels
    from coea.data.movielens import load_movielens
    from coea.data.sequences import ml_user_sequences

    if not path:
        raise ValueError(f"--path is required for --dataset {dataset}")
    log = load_movielens(dataset, path)
    histories = ml_user_sequences(
        log, data["tau"], data["click_threshold"], data["short_k"], data["mode"]
    )
    users = [UserSequence.of(h) for h in histories]
    return users, log.categories(data["mode"]), None


def subset_size(sizes: list[int], n_pick: int, max_subset: int) -> int:
    """Largest s <= max_subset such that n_pick groups (or all, if fewer) have >= 2s users."""
    ranked = sorted(sizes, reverse=True)
    kth = ranked[min(n_pick, len(ranked)) - 1] if ranked else 0
    return max(1, min(max_subset, kth // 2))


def similarity_report(
    u: np.ndarray, labels: np.ndarray, n_pick: int = 10, max_subset: int = 30, seed: int = 0
) -> dict:
    """Figure 3: two disjoint random subsets per group, cosine between all subset means.

    Returns `intra` (mean cosine of the two subsets of the same group), `inter` (mean over
    pairs of subsets of different groups), the matrix and its labels, plus the same two
    numbers after centring u on the population mean (`intra_centred`, `inter_centred`).
    """
    rng = random.Random(seed)
    sizes = {int(g): int((labels == g).sum()) for g in np.unique(labels)}
    s = subset_size(list(sizes.values()), n_pick, max_subset)
    eligible = sorted(g for g, n in sizes.items() if n >= 2 * s)
    picked = sorted(rng.sample(eligible, min(n_pick, len(eligible))))
    means, names = [], []
    for g in picked:
        members = np.flatnonzero(labels == g).tolist()
        rng.shuffle(members)
        for half, rows in (("a", members[:s]), ("b", members[s : 2 * s])):
            means.append(u[rows].mean(0))
            names.append(f"g{g}{half}")
    m = np.stack(means)
    out = {"groups": picked, "subset_size": s, "group_sizes": [sizes[g] for g in picked]}
    for suffix, x in (("", m), ("_centred", m - u.mean(0))):
        x = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
        cos = x @ x.T
        same = np.equal.outer(np.arange(len(x)) // 2, np.arange(len(x)) // 2)
        off = ~np.eye(len(x), dtype=bool)
        out["intra" + suffix] = float(cos[same & off].mean())
        out["inter" + suffix] = float(cos[~same].mean())
        if not suffix:
            out["matrix"], out["labels"] = cos.round(4).tolist(), names
    return out


def group_report(model, users, n_pick: int = 10, max_subset: int = 30, seed: int = 0) -> dict:
    """`similarity_report` of a fitted DSIE over its warm users (cold-start users, who fall to
    the default group, are left out): their u_long and the groups the model assigns."""
    assigned = model.assign(users)
    warm = [i for i, a in enumerate(assigned) if not a.cold_start]
    u = model.embed([users[i] for i in warm])
    labels = np.array([assigned[i].group for i in warm])
    return similarity_report(u, labels, n_pick, max_subset, seed)


def write_report(report: dict, out: Path, dataset: str) -> tuple[Path, Path]:
    """``groups-<dataset>.json`` and its heat map ``.png`` in ``out``; returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"groups-{dataset.replace('-', '')}"
    json_path, png_path = out / f"{stem}.json", out / f"{stem}.png"
    json_path.write_text(json.dumps(report, indent=1))
    plot_heatmap(report, png_path, f"DSIE groups on {dataset} (Figure 3 check)")
    return json_path, png_path


def plot_heatmap(report: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.array(report["matrix"])
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    im = ax.imshow(m, cmap="viridis", vmin=min(0.0, float(m.min())), vmax=1.0)
    ax.set_xticks(range(len(m)), report["labels"], rotation=90, fontsize=7)
    ax.set_yticks(range(len(m)), report["labels"], fontsize=7)
    ax.set_title(f"{title}\nintra {report['intra']:.3f} vs inter {report['inter']:.3f}")
    fig.colorbar(im, ax=ax, label="cosine similarity of subset means")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
