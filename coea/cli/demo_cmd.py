"""`coea demo`: the main job. Broker, worker, learner and a synthetic replay, end to end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click

from coea.settings import REPO_ROOT, Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (localhost only)
        return json.loads(resp.read())


def _wait_http(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(f"the worker exited early; see {log}")
        try:
            _get_json(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise click.ClickException(f"the worker did not answer {url} within {timeout:.0f}s; see {log}")


def _stop(proc: subprocess.Popen | None, name: str) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        click.echo(f"demo: {name} did not stop in 60s; killing it")
        proc.kill()
        proc.wait()


def _follow(log: Path, proc: subprocess.Popen, timeout: float) -> None:
    """Echo the learner's cycle lines until it exits."""
    seen, deadline = 0, time.monotonic() + timeout
    while True:
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        for line in lines[seen:]:
            if line.startswith("learner:"):
                click.echo(f"  {line}")
        seen = len(lines)
        if proc.poll() is not None:
            return
        if time.monotonic() > deadline:
            raise click.ClickException(f"the learner did not finish in {timeout:.0f}s; see {log}")
        time.sleep(1.0)


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
    from coea import broker as broker_ctl
    from coea.admin import create_topics

    t0 = time.monotonic()
    run = time.strftime("%Y%m%d-%H%M%S")
    out = out or REPO_ROOT / "var" / "demo" / run
    out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        COEA_TOPIC_PREFIX=f"demo{run.replace('-', '')}",
        COEA_DATA_DIR=str(out / "data"),
        COEA_ARTIFACTS_DIR=str(out / "artifacts"),
        COEA_WORKER_WEB_PORT=str(port),
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
    settings = Settings(
        **{
            k[5:].lower(): v
            for k, v in env.items()
            if k.startswith("COEA_") and k[5:].lower() in Settings.model_fields
        }
    )
    coea = str(Path(sys.executable).with_name("coea"))
    started_broker = not broker_ctl.answers(settings)
    worker = learner = None
    click.echo(f"demo: run folder {out}")
    try:
        broker_ctl.up(settings, echo=lambda m: click.echo(f"demo: {m}"))
        create_topics(settings)
        wlog, llog = out / "worker.log", out / "learner.log"
        worker = subprocess.Popen(
            [coea, "worker", "--logfile", str(wlog), "--loglevel", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/stats/", worker, 120, wlog)
        click.echo(f"demo: worker up (web {base})")
        with open(llog, "ab") as f:
            learner = subprocess.Popen(
                [coea, "learner", "--until-cycle", str(cycles), "--exit-idle", "600"],
                env=env,
                stdout=f,
                stderr=subprocess.STDOUT,
            )
        click.echo(f"demo: replaying {days} days of {users} synthetic users")
        subprocess.run(
            [
                coea,
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
            env=env,
            check=True,
        )
        click.echo(f"demo: waiting for {cycles} learner cycles (log: {llog})")
        _follow(llog, learner, timeout=1800)
        if learner.returncode != 0:
            raise click.ClickException(f"the learner failed; see {llog}")
        report = _report(out, base, settings, users, days, seed, categories, cycles)
        report["wall_seconds"] = round(time.monotonic() - t0, 1)
        (out / "report.json").write_text(json.dumps(report, indent=1))
        _print_report(report, out)
    finally:
        _stop(learner, "learner")
        _stop(worker, "worker")
        if started_broker and not keep_broker:
            broker_ctl.down(settings, echo=lambda m: click.echo(f"demo: {m}"))


def _report(
    out: Path,
    base: str,
    settings: Settings,
    users: int,
    days: int,
    seed: int,
    categories: int,
    cycles: int,
) -> dict:
    from coea.data.synthetic import SyntheticConfig, SyntheticWorld
    from learners.report import cycle_rows, write_report

    root = Path(settings.artifacts_dir) / "learner"
    _, png = write_report(root, out)
    hidden = SyntheticWorld(
        SyntheticConfig(users=users, days=days, seed=seed, categories=categories)
    ).hidden_categories()
    served, hits, examples = 0, 0, []
    for uid in sorted(hidden)[: min(200, len(hidden))]:
        try:
            ans = _get_json(f"{base}/v1/novel-categories/{uid}")
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
    stats = _get_json(f"{base}/stats/")
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
