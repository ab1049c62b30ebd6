"""`coea pco`: the Periodic Collaborative Optimization loop (paper sec. 4.3) in-process.

`coea pco run` fits DSIE (or loads --groups-artifact), runs cycle 0 (Novelty LLM SFT and
Relevance LLM reward training) and N closed-loop cycles (DPO + KL, reward update, regenerate,
re-score, filter), printing one table row per cycle. `status` and `rollback` manage the
versioned cycle folders a run leaves under --out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from coea.cli.options import categories_option


@click.group()
def pco() -> None:
    """Novelty LLM + Relevance LLM closed-loop optimisation (PCO)."""


@pco.command()
@click.option(
    "--dataset",
    type=click.Choice(["ml-100k", "ml-1m"]),
    default="ml-100k",
    show_default=True,
    help="MovieLens variant to read.",
)
@click.option(
    "--path",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="MovieLens folder (read in place, never copied).",
)
@click.option(
    "--cycles", type=int, default=10, show_default=True, help="Closed-loop cycles after cycle 0."
)
@click.option("--out", default="var/pco", show_default=True, help="Artifact root (cycle folders).")
@categories_option(
    "mode",
    "genre-combo",
    "Category of a movie: first genre (19) or genre combination (216 on ML-100K).",
)
@click.option(
    "--short-k", type=int, default=50, show_default=True, help="K: clicks in C_short (PCO steps)."
)
@click.option(
    "--dsie-short-k",
    type=int,
    default=10,
    show_default=True,
    help="K with which DSIE splits long-term from short-term clicks.",
)
@click.option(
    "--alpha", type=float, default=0.4, show_default=True, help="KL weight alpha (eq. 17)."
)
@click.option(
    "--beta", type=float, default=0.1, show_default=True, help="DPO temperature beta (eq. 16)."
)
@click.option(
    "--fraction",
    type=float,
    default=0.01,
    show_default=True,
    help="Share of D_k per cycle (eq. 15).",
)
@click.option(
    "--min-samples",
    type=int,
    default=128,
    show_default=True,
    help="At least this many contexts per cycle.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of splits, sampling and trainers."
)
@click.option(
    "--ablation",
    type=click.Choice(["none", "no-long", "no-short", "no-rllm", "no-kl"]),
    default="none",
    show_default=True,
    help="Paper ablation to apply.",
)
@click.option("--compare-kl", is_flag=True, help="Also run the same cycles without KL (alpha=0).")
@click.option(
    "--groups-artifact",
    default=None,
    help="Saved DSIE folder (coea groups fit) instead of fitting.",
)
@click.option("--no-dsie", is_flag=True, help="No groups or profiles in the prompts.")
@click.option(
    "--checkpoint",
    default=None,
    help="Local HF checkpoint folder for both LLMs (default: built-in).",
)
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda"]),
    default="cpu",
    show_default=True,
    help="Where the trainers run (cuda: bf16 mixed precision; an error when no GPU is visible).",
)
@click.option("--max-users", type=int, default=0, help="Use only the first N users (0: all).")
@click.option("--sft-epochs", type=float, default=None, help="Override the SFT epochs.")
@click.option("--reward-epochs", type=float, default=None, help="Override the reward-model epochs.")
@click.option("--dpo-lr", type=float, default=None, help="Override the DPO learning rate.")
@click.option("--dsie-tiny", is_flag=True, help="Fit a tiny DSIE (fast; for smoke runs).")
@click.option("--json", "json_path", default=None, help="Write the results JSON here.")
@click.option("--png", default=None, help="Write the metrics-per-cycle plot here.")
def run(**opts) -> None:
    """Run DSIE, cycle 0 and N PCO cycles; print a row per cycle and a summary."""
    from learners.pco.config import DeviceUnavailable
    from learners.pco.experiment import parser
    from learners.pco.experiment import run as run_experiment

    argv = ["--path", opts["path"]]
    args = parser().parse_args(argv)
    for key, value in opts.items():
        setattr(args, "json" if key == "json_path" else key, value)
    try:
        results = run_experiment(args, "coea pco run " + " ".join(sys.argv[3:]))
    except (FileNotFoundError, DeviceUnavailable) as e:
        raise click.ClickException(str(e)) from e
    click.echo("\nsummary (novelty = novel_share@M on held-out users):")
    for name, s in results["novelty_stability"].items():
        click.echo(
            f"  {name:<12} cycle 1 {s['cycle1']:.4f}  last {s['last']:.4f}  "
            f"max change vs cycle 1 {100 * s['max_rel_change_vs_cycle1']:.1f}%"
        )
    click.echo(f"artifacts under {Path(opts['out']).resolve()} ({results['seconds']} s)")


@pco.command()
@click.option("--out", required=True, help="Artifact root of one run variant (holds cycle-000k/).")
def status(out: str) -> None:
    """List the complete cycles under --out with their parent and key metrics."""
    from learners.pco import artifacts

    cycles = artifacts.complete_cycles(out)
    if not cycles:
        raise click.ClickException(f"no complete PCO cycle under {out}")
    for k in cycles:
        man = artifacts.read_manifest(artifacts.cycle_dir(out, k))
        m = man.get("metrics", {})
        click.echo(
            f"cycle {k:>4}  parent {man.get('parent_cycle')!s:>4}  {man['created_at']}  "
            f"dpo_pairs {m.get('dpo_pairs', '-')}  kl_to_ref {m.get('kl_to_ref', '-')}"
        )


@pco.command()
@click.option("--out", required=True, help="Artifact root of one run variant.")
@click.option("--cycle", type=int, required=True, help="Cycle to make the latest again.")
def rollback(out: str, cycle: int) -> None:
    """Make --cycle the latest: later cycles move to .rolled-back/ (nothing is deleted)."""
    from learners.pco import artifacts

    try:
        moved = artifacts.rollback(out, cycle)
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"cycle {cycle} is the latest; moved aside: {moved or 'nothing'}")
