"""`coea groups`: fit DSIE (encoder + RQ-VAE + profiles) and check its groups (paper Figure 3)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import click
import numpy as np

from app.cli.options import categories_option

DATASETS = ("ml-100k", "ml-1m", "synthetic")


def load_users(dataset: str, path: str | None, data: dict):
    """(users, item_categories, planted labels or None) for a dataset and sequence settings."""
    from models.dsie import UserSequence

    if dataset == "synthetic":
        from models.testing import planted_population

        g = data["synthetic_groups"]
        pop = planted_population(data["synthetic_users"], g, max(18, 3 * g), seed=data["seed"])
        return pop.users, pop.item_categories, pop.labels
    from coea.data.movielens import load_movielens
    from coea.data.sequences import ml_user_sequences

    if not path:
        raise click.UsageError(f"--path is required for --dataset {dataset}")
    log = load_movielens(dataset, path)
    histories = ml_user_sequences(
        log, data["tau"], data["click_threshold"], data["short_k"], data["mode"]
    )
    users = [UserSequence(h.user_id, h.long_items, h.features) for h in histories]
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


def print_summary(summary: dict, profiles: dict, out: Path) -> None:
    sizes = summary["group_sizes"]
    rows = [
        ("artifact", str(out)),
        ("version", summary["version"]),
        ("users (cold start)", f"{summary['n_users']} ({summary['n_cold_start']})"),
        ("items in vocabulary", summary["n_items"]),
        ("groups", summary["n_groups"]),
        ("group size min/median/max", f"{min(sizes)}/{int(np.median(sizes))}/{max(sizes)}"),
        ("default (cold-start) group", summary["default_group"]),
        ("reconstruction loss", f"{summary['recon_loss']:.4f}"),
        ("code usage per level", " ".join(f"{x:.0%}" for x in summary["code_usage"])),
        ("distinct CSIDs", summary["distinct_csids"]),
        ("CSID prefix defining groups", summary["prefix_len"]),
        (
            "encoder loss first/last",
            " -> ".join(f"{x:.3f}" for x in summary["encoder_loss_first_last"]),
        ),
        ("fit seconds", summary["fit_seconds"]),
    ]
    width = max(len(k) for k, _ in rows)
    click.echo("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    click.echo("\ngroup  size  csid         profile")
    for g, p in sorted(profiles.items())[:12]:
        csid = "-".join(map(str, p.csid))
        click.echo(f"{g:>5}  {p.size:>4}  {csid:<11}  {p.text[:90]}")
    if len(profiles) > 12:
        click.echo(f"... {len(profiles) - 12} more groups in manifest.json")


@click.group()
def groups() -> None:
    """DSIE user groups: train the encoder + RQ-VAE, assign CSIDs, build group profiles."""


@groups.command("fit")
@click.option("--dataset", type=click.Choice(DATASETS), required=True, help="Input data.")
@click.option("--path", type=click.Path(file_okay=False), help="Dataset folder (MovieLens).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Artifact folder.")
@click.option("--tau", default=5, show_default=True, help="Category click filter for I'_long.")
@click.option("--click-threshold", default=4.0, show_default=True, help="Rating >= this = click.")
@click.option("--short-k", default=10, show_default=True, help="Recent clicks forming I_short.")
@categories_option(
    "category_mode", "genre", "Category of a movie: first genre or genre combination."
)
@click.option("--groups", "n_groups", default=50, show_default=True, help="M_N: max groups.")
@click.option("--levels", default=4, show_default=True, help="RQ-VAE residual levels.")
@click.option("--codebook", default=16, show_default=True, help="Codes per RQ-VAE level.")
@click.option("--epochs", default=None, type=int, help="Encoder epochs (default: config's).")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--synthetic-users", default=2000, show_default=True, help="Synthetic: users.")
@click.option("--synthetic-groups", default=8, show_default=True, help="Synthetic: planted groups.")
@click.option("--profile-llm", type=click.Path(), help="Local HF checkpoint for LLM profiles.")
@click.option("--tiny", is_flag=True, help="Small fast config (d=32, 2 layers) for smoke tests.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def fit(**o) -> None:
    """Train DSIE on a dataset, save the artifact and print a summary table."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from models.dsie import DSIE, DSIEConfig

    data = {k: o[k] for k in ("tau", "click_threshold", "short_k", "seed")}
    data |= {"dataset": o["dataset"], "mode": o["category_mode"]}
    data |= {"synthetic_users": o["synthetic_users"], "synthetic_groups": o["synthetic_groups"]}
    users, item_categories, _ = load_users(o["dataset"], o["path"], data)
    cfg = (DSIEConfig.tiny if o["tiny"] else DSIEConfig)(n_groups=o["n_groups"], seed=o["seed"])
    cfg.rqvae.levels, cfg.rqvae.codebook_size = o["levels"], o["codebook"]
    if o["epochs"] is not None:
        cfg.encoder.epochs = o["epochs"]
    if o["profile_llm"]:
        cfg.profile_backend, cfg.profile_model_dir = "llm", o["profile_llm"]
    model = DSIE.fit(users, item_categories, cfg, progress=not o["quiet"])
    model.metrics["data"] = data
    out = model.save(o["out"])
    (out / "summary.json").write_text(json.dumps(model.summary(), indent=1))
    print_summary(model.summary(), model.profiles, out)


@groups.command("report")
@click.option(
    "--artifact",
    type=click.Path(exists=True, file_okay=False),
    required=True,
    help="Folder written by `coea groups fit`.",
)
@click.option("--dataset", type=click.Choice(DATASETS), required=True, help="Users to embed.")
@click.option("--path", type=click.Path(file_okay=False), help="Dataset folder (MovieLens).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Report folder.")
@click.option("--n-groups", default=10, show_default=True, help="Groups to sample.")
@click.option("--subset", default=30, show_default=True, help="Max users per subset (paper: 30).")
@click.option("--seed", default=0, show_default=True, help="Sampling seed.")
def report(**o) -> None:
    """Figure 3 check: intra- vs inter-group cosine of subset-mean u_long; JSON + heat map."""
    from models.dsie import DSIE

    model = DSIE.load(o["artifact"])
    data = model.metrics.get("data", {}) | {"dataset": o["dataset"]}
    users, _, _ = load_users(o["dataset"], o["path"], data)
    assigned = model.assign(users)
    warm = [i for i, a in enumerate(assigned) if not a.cold_start]
    u = model.embed([users[i] for i in warm])
    labels = np.array([assigned[i].group for i in warm])
    rep = similarity_report(u, labels, o["n_groups"], o["subset"], o["seed"])
    rep = {"artifact": str(o["artifact"]), "version": model.version, "dataset": o["dataset"]} | rep
    out = Path(o["out"])
    out.mkdir(parents=True, exist_ok=True)
    stem = f"groups-{o['dataset'].replace('-', '')}"
    (out / f"{stem}.json").write_text(json.dumps(rep, indent=1))
    plot_heatmap(rep, out / f"{stem}.png", f"DSIE groups on {o['dataset']} (Figure 3 check)")
    click.echo(f"subset size {rep['subset_size']} users, groups {rep['groups']}")
    click.echo(
        f"intra {rep['intra']:.4f}  inter {rep['inter']:.4f}  (centred: "
        f"intra {rep['intra_centred']:.4f}  inter {rep['inter_centred']:.4f})"
    )
    click.echo(f"wrote {out / f'{stem}.json'} and {out / f'{stem}.png'}")
