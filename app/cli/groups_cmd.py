"""`coea groups`: fit DSIE (encoder + RQ-VAE + profiles) and check its groups (paper Figure 3,
computed by evaluation.groups)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import numpy as np

from app.cli.options import categories_option
from evaluation.groups import DATASETS, group_report, load_users, write_report


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
    users, item_categories, _ = _users(o["dataset"], o["path"], data)
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
    users, _, _ = _users(o["dataset"], o["path"], data)
    rep = group_report(model, users, o["n_groups"], o["subset"], o["seed"])
    rep = {"artifact": str(o["artifact"]), "version": model.version, "dataset": o["dataset"]} | rep
    json_path, png_path = write_report(rep, Path(o["out"]), o["dataset"])
    click.echo(f"subset size {rep['subset_size']} users, groups {rep['groups']}")
    click.echo(
        f"intra {rep['intra']:.4f}  inter {rep['inter']:.4f}  (centred: "
        f"intra {rep['intra_centred']:.4f}  inter {rep['inter_centred']:.4f})"
    )
    click.echo(f"wrote {json_path} and {png_path}")


def _users(dataset: str, path: str | None, data: dict):
    try:
        return load_users(dataset, path, data)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
