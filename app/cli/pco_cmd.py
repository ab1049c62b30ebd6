"""`coea pco`: the Periodic Collaborative Optimization loop (paper sec. 4.3) in-process.

`coea pco run` fits DSIE (or loads --groups-artifact), runs cycle 0 (Novelty LLM SFT and
Relevance LLM reward training) and N closed-loop cycles (DPO + KL, reward update, regenerate,
re-score, filter), printing one table row per cycle. Its options are those of
`python -m learners.pco.experiment` (both come from `learners.pco.options`). `status` and
`rollback` manage the versioned cycle folders a run leaves under --out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import click

from learners.pco.options import click_options


@click.group()
def pco() -> None:
    """Novelty LLM + Relevance LLM closed-loop optimisation (PCO)."""


def experiment_args(opts: dict[str, Any]) -> argparse.Namespace:
    """The experiment's namespace: its parser's defaults, overridden by the click values."""
    from learners.pco.experiment import parser

    args = parser().parse_args(["--path", str(opts["path"])])
    vars(args).update(opts)
    return args


@pco.command()
@click_options()
def run(**opts: Any) -> None:
    """Run DSIE, cycle 0 and N PCO cycles; print a row per cycle and a summary."""
    from learners.pco.config import DeviceUnavailable
    from learners.pco.experiment import run as run_experiment

    try:
        results = run_experiment(experiment_args(opts), "coea pco run " + " ".join(sys.argv[3:]))
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
