"""`coea demo`: the main job. Broker, worker, learner and a synthetic replay, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import click

from coea.settings import REPO_ROOT


@click.command()
@click.option("--users", default=300, show_default=True, help="Synthetic users.")
@click.option("--days", default=21, show_default=True, help="Simulated days of events.")
@click.option("--cycles", default=3, show_default=True, help="Learner cycles to run.")
@click.option("--categories", default=400, show_default=True, help="Synthetic categories.")
@click.option("--seed", default=0, show_default=True, help="Seed of data and models.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder (default: var/demo/<time>).",
)
@click.option(
    "--keep-broker/--stop-broker",
    default=False,
    show_default=True,
    help="Leave the broker running afterwards when the demo started it "
    "(a broker that was already running is always left running).",
)
def demo(
    users: int,
    days: int,
    cycles: int,
    categories: int,
    seed: int,
    out: Path | None,
    keep_broker: bool,
) -> None:
    """Run everything on built-in synthetic data and print a report.

    Starts the Kafka broker, creates the topics under a fresh prefix, starts `coea worker`
    and `coea learner` (small models), replays DAYS simulated days of USERS users, waits
    for CYCLES published table versions, asks the serving endpoint for users' novel
    categories, prints a report (events, cycles, aligned share, serendipity against the
    generator's hidden accept-sets) and stops the processes it started.
    """
    from coea.live import LiveError, LiveSystem

    t0 = time.monotonic()
    run = time.strftime("%Y%m%d-%H%M%S")
    out = out or REPO_ROOT / "var" / "demo" / run
    env = dict(
        COEA_WINDOW_SECONDS="86400",
        COEA_WINDOW_IDLE_FLUSH_S="5",
        COEA_LEARNER_PROFILE="small",
        COEA_LEARNER_CYCLE_WINDOWS=str(max(1, days // cycles)),
        COEA_LEARNER_IDLE_SECONDS="10",
        COEA_SEED=str(seed),
        # Synthetic users have a few sessions a week: with the paper's tau = 5 few of them
        # reach a long-term sequence within a short demo, so the demo filters at 3.
        COEA_TAU="3",
    )
    click.echo(f"demo: run folder {out}")
    system = LiveSystem(
        out,
        prefix=f"demo{run.replace('-', '')}",
        env=env,
        learner_args=["--until-cycle", str(cycles), "--exit-idle", "600"],
        keep_broker=keep_broker,
        echo=lambda m: click.echo(f"demo: {m}"),
    )
    try:
        with system:
            click.echo(f"demo: replaying {days} days of {users} synthetic users")
            subprocess.run(
                [
                    str(Path(sys.executable).with_name("coea")),
                    "replay",
                    "--synthetic",
                    "--users",
                    str(users),
                    "--days",
                    str(days),
                    "--seed",
                    str(seed),
                    "--n-categories",
                    str(categories),
                ],
                env=system.env,
                check=True,
            )
            click.echo(f"demo: waiting for {cycles} learner cycles (log: {system.learner_log})")
            system.wait_cycle(cycles, 1800, on_line=lambda line: click.echo(f"  {line}"))
            system.learner.wait(timeout=120)
            if system.learner.returncode != 0:
                raise click.ClickException(f"the learner failed; see {system.learner_log}")
            report = _report(system, users, days, seed, categories, cycles)
            report["wall_seconds"] = round(time.monotonic() - t0, 1)
            (out / "report.json").write_text(json.dumps(report, indent=1))
            _print_report(report, out)
    except LiveError as exc:
        raise click.ClickException(str(exc)) from exc


def _report(
    system,
    users: int,
    days: int,
    seed: int,
    categories: int,
    cycles: int,
) -> dict:
    from coea.data.synthetic import SyntheticConfig, SyntheticWorld
    from learners.report import cycle_rows, write_report

    root = Path(system.settings.artifacts_dir) / "learner"
    _, png = write_report(root, system.out)
    hidden = SyntheticWorld(
        SyntheticConfig(users=users, days=days, seed=seed, categories=categories)
    ).hidden_categories()
    served, hits, examples = 0, 0, []
    for uid in sorted(hidden)[: min(200, len(hidden))]:
        try:
            ans = system.novel_categories(uid)
        except OSError:
            continue
        cats = [c["category"] for c in ans.get("categories", [])]
        served += 1
        hits += bool(set(cats) & set(hidden[uid]))
        if len(examples) < 5 and cats:
            examples.append(
                {
                    "user": uid,
                    "group": ans.get("group"),
                    "recent": ans.get("short_set"),
                    "novel": cats[:5],
                    "hidden_truth": hidden[uid],
                }
            )
    stats = system.get("/stats/")
    return {
        "events_processed": stats.get("applied"),
        "dead_letters": stats.get("dead_letters"),
        "windows_emitted": stats.get("windows_emitted"),
        "cycles": cycle_rows(root),
        "users_served": served,
        "users_with_a_hidden_category": hits,
        "hidden_hit_rate": hits / served if served else None,
        "examples": examples,
        "artifacts": str(root),
        "plot": str(png),
        "requested_cycles": cycles,
    }


def _print_report(r: dict, out: Path) -> None:
    click.echo("\n=== coea demo report ===")
    click.echo(
        f"events processed   {r['events_processed']}  (dead letters {r['dead_letters']}, "
        f"training-window records {r['windows_emitted']})"
    )
    click.echo("cycle  reason   users  keys  rows  aligned  seconds")
    for c in r["cycles"]:
        click.echo(
            f"{c['cycle']:>5}  {c['reason']:<7} {c['users']:>6} {c['keys']:>5} "
            f"{c['rows']:>5}  {c['aligned_share'] or 0:>7.2f}  {c['cycle_seconds'] or 0:>7.1f}"
        )
    rate = r["hidden_hit_rate"]
    click.echo(
        f"served users       {r['users_served']}; with a category from their hidden "
        f"accept-set: {r['users_with_a_hidden_category']}"
        + (f" ({rate:.0%})" if rate is not None else "")
    )
    for e in r["examples"]:
        click.echo(
            f"  user {e['user']} (group {e['group']}): recent {e['recent'][-3:]} -> "
            f"novel {e['novel']}"
        )
    click.echo(f"artifacts          {r['artifacts']}")
    click.echo(f"plot               {r['plot']}")
    click.echo(f"report             {out / 'report.json'}")
    click.echo(f"wall time          {r['wall_seconds']}s")
