"""`coea demo`: the main job. Broker, worker, learner and a synthetic replay, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import click

from coea.settings import REPO_ROOT
from evaluation.live_system import LiveError


@click.command()
@click.option("--users", default=300, show_default=True, help="Synthetic users.")
@click.option("--days", default=21, show_default=True, help="Simulated days of events.")
@click.option("--cycles", default=3, show_default=True, help="Learner cycles to run.")
@click.option(
    "--n-categories", "categories", default=400, show_default=True, help="Synthetic categories."
)
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
    categories, prints a report (events, cycles, aligned share; distinct categories served and
    hidden-hit rate at 5 against the generator's hidden accept-sets, beside the unseen-popular
    baseline on the same users, overall and per cycle; a plot) and stops the processes it
    started.
    """
    from coea.data.replay import replay_world_config
    from coea.data.synthetic import SyntheticWorld
    from evaluation.live_system import LiveSystem

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
        # Synthetic users have a few sessions a week and seldom click one item again: with
        # the paper's tau = 5 clicks on an item few of them reach a long-term sequence within
        # a short demo, so the demo keeps items of categories the user clicked 3 times.
        COEA_TAU="3",
        COEA_FILTER_UNIT="category",
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
            # the world `coea replay --synthetic` built from the same options: the one whose
            # ground truth and baseline the report uses (it checks the event counts agree)
            world = SyntheticWorld(replay_world_config(users, days, seed, categories))
            asked = sorted(world.hidden_categories())[: min(200, users)]
            snapshots = _follow_cycles(system, cycles, asked, 1800)
            system.learner.wait(timeout=120)
            if system.learner.returncode != 0:
                raise click.ClickException(f"the learner failed; see {system.learner_log}")
            t_report = time.monotonic()
            report = _report(system, world, asked, snapshots, cycles)
            report["report_seconds"] = round(time.monotonic() - t_report, 1)
            report["wall_seconds"] = round(time.monotonic() - t0, 1)
            (out / "report.json").write_text(json.dumps(report, indent=1))
            _print_report(report, out)
    except LiveError as exc:
        raise click.ClickException(str(exc)) from exc


def _follow_cycles(system, cycles: int, asked: list[str], timeout: float) -> list[dict]:
    """After each learner cycle k is published, ask the serving endpoint about the `asked`
    users while the learner works on cycle k+1 (the replay has sent everything by then).
    Answers keep their table version: one already served from a later version is left out of
    cycle k's numbers by `_report`."""
    printed: set[str] = set()

    def show(line: str) -> None:
        if line not in printed:
            printed.add(line)
            click.echo(f"  {line}")

    deadline = time.monotonic() + timeout
    snapshots = []
    for k in range(1, cycles + 1):
        system.wait_cycle(k, max(1.0, deadline - time.monotonic()), on_line=show)
        if asked:
            try:  # the worker mirrors the table topic: until it serves version k
                system.wait_served_version(asked[0], k, 60)
            except LiveError as exc:
                click.echo(f"demo: warning: {exc}")
        answers, errors, t = {}, 0, time.monotonic()
        for uid in asked:
            try:
                answers[uid] = system.novel_categories(uid)
            except OSError:
                errors += 1
        snapshots.append(
            {
                "cycle": k,
                "answers": answers,
                "errors": errors,
                "seconds": round(time.monotonic() - t, 2),
            }
        )
    return snapshots


def _report(system, world, asked: list[str], snapshots: list[dict], cycles: int) -> dict:
    from coea.demo_report import ClickLog, hit_rate, list_summary, plot, unseen_popular_lists
    from learners import cycle_store
    from learners.report import cycle_rows, write_report

    root = Path(system.settings.artifacts_dir) / "learner"
    _, png = write_report(root, system.out)
    hidden = world.hidden_categories()
    catalogue = sorted({i.category for i in world.items()})
    log = ClickLog.of(world.events())  # the stream the replay sent
    done = set(cycle_store.complete_cycles(root))
    window_ms = system.settings.window_seconds * 1000

    per_cycle = []
    for snap in snapshots:
        k = snap["cycle"]
        lists = {
            u: [c["category"] for c in a.get("categories", [])][:5]
            for u, a in snap["answers"].items()
            if a.get("version") == k
        }
        ts_end = None  # the baseline from the clicks of the windows cycle k trained on
        if k in done and system.settings.window_mode == "time":
            window_ids = getattr(cycle_store.load_cycle(root, k).store, "window_ids", None)
            ts_end = (max(window_ids) + 1) * window_ms if window_ids else None
        upto = log.until(ts_end)
        per_cycle.append(
            {
                "cycle": k,
                **list_summary(lists, hidden),
                "answers_of_another_version": len(snap["answers"]) - len(lists),
                "serving_errors": snap["errors"],
                "query_seconds": snap["seconds"],
                "unseen_popular_hidden_hit_at_5": hit_rate(
                    unseen_popular_lists(upto, lists, catalogue), hidden
                ),
                "clicks_up_to_cycle": len(upto.clicks),
            }
        )

    answers = snapshots[-1]["answers"] if snapshots else {}
    (system.out / "answers.json").write_text(json.dumps(answers, indent=1))
    every = {u: [c["category"] for c in a.get("categories", [])] for u, a in answers.items()}
    top5 = {u: cats[:5] for u, cats in every.items()}
    baseline = unseen_popular_lists(log, answers, catalogue)
    system_now = list_summary(top5, hidden)
    baseline_now = list_summary(baseline, hidden)
    counts = log.counts()
    served_png = plot(
        system.out / "served.png",
        counts,
        catalogue,
        top5,
        baseline,
        hidden,
        per_cycle,
        baseline_now["hidden_hit_at_5"],
    )
    any_hits = sum(bool(set(every[u]) & set(hidden[u])) for u in every)
    examples = [
        {
            "user": u,
            "group": answers[u].get("group"),
            "recent": answers[u].get("short_set"),
            "novel": top5[u],
            "hidden_truth": hidden[u],
            "hit": bool(set(top5[u]) & set(hidden[u])),
            "unseen_popular": baseline[u],
        }
        for u in [u for u in answers if top5[u]][:5]
    ]
    stats = system.get("/stats/")
    return {
        "events_processed": stats.get("applied"),
        "dead_letters": stats.get("dead_letters"),
        "windows_emitted": stats.get("windows_emitted"),
        "events_replayed": log.events,
        "synthetic_world": getattr(world.config, "world", None),
        "cycles": cycle_rows(root),
        "users_asked": len(asked),
        "users_served": len(answers),
        "served_version": max((a.get("version") or 0 for a in answers.values()), default=None),
        "categories_per_answer": sum(map(len, every.values())) / len(every) if every else None,
        # any category of the whole answer (not only the first five) in the hidden set
        "users_with_a_hidden_category": any_hits,
        "hidden_hit_rate": any_hits / len(every) if every else None,
        "distinct_categories_served": system_now["distinct_categories"],
        "same_top5_share": system_now["same_top5_share"],
        "most_common_top5": system_now["most_common_top5"],
        "hidden_hit_at_5": {
            "system": system_now["hidden_hit_at_5"],
            "unseen_popular": baseline_now["hidden_hit_at_5"],
            "users": len(answers),
        },
        "unseen_popular": baseline_now,
        "per_cycle": per_cycle,
        "examples": examples,
        "answers": str(system.out / "answers.json"),
        "artifacts": str(root),
        "plot": str(png),
        "served_plot": str(served_png),
        "requested_cycles": cycles,
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _print_report(r: dict, out: Path) -> None:
    click.echo("\n=== coea demo report ===")
    click.echo(
        f"events processed   {r['events_processed']}  (dead letters {r['dead_letters']}, "
        f"training-window records {r['windows_emitted']})"
    )
    click.echo(f"synthetic world    {r['synthetic_world']}")
    if r["events_processed"] != r["events_replayed"]:
        click.echo(
            f"note: the ground truth and baseline come from a stream of {r['events_replayed']} "
            "events: not the one the worker processed"
        )
    click.echo("cycle  reason   users  keys  rows  aligned  seconds")
    for c in r["cycles"]:
        click.echo(
            f"{c['cycle']:>5}  {c['reason']:<7} {c['users']:>6} {c['keys']:>5} "
            f"{c['rows']:>5}  {c['aligned_share'] or 0:>7.2f}  {c['cycle_seconds'] or 0:>7.1f}"
        )
    n, hit, base = r["users_served"], r["hidden_hit_at_5"], r["unseen_popular"]
    click.echo(
        f"served users                 {n} of {r['users_asked']} asked "
        "(GET /v1/novel-categories/<user>; first 5 categories of each answer)"
    )
    click.echo(
        f"distinct categories served   {r['distinct_categories_served']} across {n} users "
        f"(same top-5 for {_pct(r['same_top5_share'])}); unseen-popular: "
        f"{base['distinct_categories']} (same top-5 for {_pct(base['same_top5_share'])})"
    )
    click.echo(
        f"hidden-hit@5                 system {_pct(hit['system'])} | unseen-popular "
        f"{_pct(hit['unseen_popular'])} (same {hit['users']} users)"
    )
    per_answer = r["categories_per_answer"]
    click.echo(
        f"hidden hit, whole answer     {r['users_with_a_hidden_category']} of {n} users "
        f"({_pct(r['hidden_hit_rate'])}) with any of the answer's "
        f"{per_answer or 0:.1f} categories (mean) in their hidden accept-set"
    )
    click.echo("per cycle (same users, asked right after the cycle's table version was served)")
    click.echo("cycle  users  hit@5 system  unseen-popular*  distinct  same top-5")
    for c in r["per_cycle"]:
        click.echo(
            f"{c['cycle']:>5}  {c['users']:>5}  {_pct(c['hidden_hit_at_5']):>12}  "
            f"{_pct(c['unseen_popular_hidden_hit_at_5']):>15}  "
            f"{c['distinct_categories']:>8}  {_pct(c['same_top5_share']):>10}"
        )
    click.echo(
        "  * its clicks up to the end of the cycle's newest window; on all replayed events "
        f"{_pct(hit['unseen_popular'])}"
    )
    for c in r["per_cycle"]:
        if c["users"] < r["users_asked"]:
            click.echo(
                f"  cycle {c['cycle']}: {c['users']} of {r['users_asked']} users answered from "
                f"its table ({c['answers_of_another_version']} from another version, "
                f"{c['serving_errors']} errors)"
            )
    click.echo("examples (top 5 served | hidden accept-set)")
    for e in r["examples"]:
        click.echo(
            f"  user {e['user']} (group {e['group']}): recent {e['recent'][-3:]} -> "
            f"{e['novel']} | hidden {e['hidden_truth']}{'  (hit)' if e['hit'] else ''}"
        )
        click.echo(f"      unseen-popular would give {e['unseen_popular']}")
    click.echo(f"artifacts          {r['artifacts']}")
    click.echo(f"plots              {r['served_plot']}")
    click.echo(f"                   {r['plot']}")
    click.echo(f"report             {out / 'report.json'}")
    click.echo(f"wall time          {r['wall_seconds']}s")
