"""`coea evaluate`: the offline evaluation (paper sec. 5, appendix A.4-A.5) in one command.

Replays a log into the protocol of docs/evaluation.md, fits every method on the same split
for each seed, and writes results.json, table.md (Table 2's shape) and PNG plots to --out.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import click

from app.cli.options import categories_option
from coea.settings import REPO_ROOT

DEFAULT_ML100K = REPO_ROOT.parent / "shared" / "data" / "ml-100k"
QUICK = {"max_users": 150, "seeds": 1, "epochs": 2}
#: --live without --methods: the base, CoEA in process, CoEA through the running system.
LIVE_DEFAULT = "sasrec,coea,coea-live"


def _parse_methods(text: str | None, quick: bool, live: bool = False) -> list[str]:
    from evaluation.methods import CHEAP_METHODS, LIVE_METHODS, SPECS, unavailable_reason

    if text is None:
        text = LIVE_DEFAULT if live else ("cheap" if quick else "all")
    if text == "all":
        names = [
            s.name
            for s in SPECS
            if unavailable_reason(s.name) is None and (live or s.name not in LIVE_METHODS)
        ]
    elif text == "cheap":
        names = list(CHEAP_METHODS)
    else:
        names = [n.strip() for n in text.split(",") if n.strip()]
    problems = [f"  {n}: {r}" for n in names if (r := unavailable_reason(n))]
    problems += [
        f"  {n}: needs --live (the running system)" for n in names if n in LIVE_METHODS and not live
    ]
    if problems:
        raise click.UsageError("these methods cannot run:\n" + "\n".join(problems))
    order = {s.name: i for i, s in enumerate(SPECS)}
    return sorted(dict.fromkeys(names), key=order.__getitem__)  # base ranker first


def _skipped(names: list[str]) -> list[str]:
    from evaluation.methods import SPECS, unavailable_reason

    return [
        f"{s.name} ({r})"
        for s in SPECS
        if s.name not in names and (r := unavailable_reason(s.name))
    ]


def _command_line() -> str:
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]]
    return " ".join(shlex.quote(a) for a in argv)


def _meta(
    args: dict, split, names: list[str], seeds: tuple[int, ...], settings, commit: str
) -> dict:
    from evaluation.protocol import describe
    from evaluation.report import machine

    return {
        "command": _command_line(),
        "commit": commit,  # read before the run: the code that produced the numbers
        "machine": machine(),
        "dataset": {"name": args["dataset"], "path": str(args["path"]), **describe(split)},
        "protocol": asdict(split.train.config),
        "blend": asdict(settings.blend),
        "base": settings.base,
        "seq": asdict(settings.seq),
        "seeds": list(seeds),
        "methods_run": names,
        "methods_skipped": _skipped(names),
        "ks": [1, 5, 10],
        "tail": sorted(split.tail),
    }


def _write_outputs(out: Path, results, meta: dict, sweep: dict | None) -> list[Path]:
    from evaluation.plots import plot_rounds, plot_tradeoff
    from evaluation.report import markdown_report, results_payload, write_json

    out.mkdir(parents=True, exist_ok=True)
    payload = results_payload(results, meta)
    paths = [out / "results.json", out / "table.md", plot_tradeoff(results, out / "tradeoff.png")]
    curves = {
        r.label: r.extras["per_seed"][0]["rounds"]
        for r in results
        if r.extras.get("per_seed") and "rounds" in r.extras["per_seed"][0]
    }
    if curves:
        paths.append(plot_rounds(curves, out / "figure4.png"))
    if sweep:
        payload["sweep"] = sweep
        paths.append(out / f"sweep_{sweep['param']}.png")
    write_json(payload, paths[0])
    text = markdown_report(results, meta)
    if "live_agreement" in meta:
        text += "\n" + _agreement_text(meta) + "\n" + _live_text(results)
    paths[1].write_text(text)
    return paths


@click.command(context_settings={"show_default": True})
@click.option(
    "--dataset",
    type=click.Choice(["ml-100k", "ml-1m", "jsonl", "synthetic"]),
    default="ml-100k",
    help="Which log to replay into the protocol: MovieLens 100K/1M files, a JSON-lines "
    "event log, or the seeded synthetic generator.",
)
@click.option(
    "--path",
    type=click.Path(path_type=Path),
    default=None,
    help="MovieLens folder, or a JSON-lines event file for jsonl (unused by synthetic). "
    "Default for ml-100k: ../shared/data/ml-100k.",
)
@click.option(
    "--synthetic-world",
    type=click.Choice(["longtail", "popular"]),
    default="longtail",
    help="--dataset synthetic only: which world generates the events and the ground truth. "
    "longtail: hidden categories are each group's own tail ones, which the group's other "
    "users click; popular: tastes and hidden categories drawn by popularity (the first "
    "generator). See docs/evaluation.md.",
)
@click.option(
    "--methods",
    default=None,
    help="Comma-separated method names (most-popular, user-popular, two-tower, gru4rec, "
    "sasrec, bert4rec, unseen-popular, neighbour-unseen, hucb, explore, google-v1, coea, "
    "coea-no-long, coea-no-short, coea-no-rllm, coea-no-kl, coea-no-own-history, "
    "coea-no-history-mask, coea-no-debias, coea-no-history-steps, coea-no-group-lift, "
    "coea-no-fill, coea-first-category), 'all' "
    "(every method except coea-live) or 'cheap' "
    "(the popularity rows, SASRec, the two unseen-category paths, HUCB, EXPLORE). "
    "Default: all (cheap with --quick).",
)
@click.option(
    "--seeds",
    type=int,
    default=5,
    help="Runs per method (seeds 0..N-1); the paper reports the mean of five.",
)
@categories_option(
    "mode",
    "genre",
    "What a category is: a movie's first genre (sets use all its "
    "genres, see --first-genre-only) or its whole genre combination.",
)
@click.option(
    "--first-genre-only",
    is_flag=True,
    help="genre mode: a movie counts only for its "
    "first genre in C_hist/C_pref/long-tail volume (default: all its genres).",
)
@click.option(
    "--click-threshold",
    type=float,
    default=4.0,
    help="A rating >= this is a click (engaged); 0 makes every rating a click.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("var/eval"),
    help="Output folder: results.json, table.md, PNG plots.",
)
@click.option(
    "--quick",
    is_flag=True,
    help="CI mode: 150 users, 1 seed (unless --seeds), cheap methods (unless --methods or "
    "--live), 2 epochs, --profile small (a couple of minutes at most).",
)
@click.option(
    "--epochs",
    type=int,
    default=None,
    help="Epochs of the torch baselines (default 10; 2 with --quick).",
)
@click.option("--max-users", type=int, default=None, help="Evaluate a random subset of users.")
@click.option("--threads", type=int, default=1, help="torch.set_num_threads for training.")
@click.option(
    "--blend-slots",
    default="2,4,6,8,10",
    help="1-based positions of the final list "
    "that every exploration method's path fills (docs/evaluation.md).",
)
@click.option("--pco-rounds", type=int, default=None, help="PCO cycles for CoEA / Google-v1.")
@click.option(
    "--sweep",
    type=click.Choice(["tau", "alpha", "levels", "groups"]),
    default=None,
    help="Also sweep one CoEA hyper-parameter (needs CoEA) and plot it.",
)
@click.option("--sweep-values", default=None, help="Comma-separated values for --sweep.")
@click.option(
    "--live",
    is_flag=True,
    help="Also evaluate CoEA through the running system (method coea-live): replay the "
    "train split into a Kafka broker (started unless one answers), run `coea worker` and "
    "`coea learner` cycle by cycle, and score what the worker serves; compared with the "
    "in-process CoEA in an agreement table. Default methods: " + LIVE_DEFAULT + ".",
)
@click.option(
    "--profile",
    type=click.Choice(["default", "small"]),
    default="default",
    help="Model sizes of the PCO methods (CoEA, ablations, Google-v1) and of the live "
    "learner: the paper-shaped defaults, or the learner's small profile (fast checks; "
    "the default with --quick).",
)
@click.option(
    "--serving",
    type=click.Choice(["table", "user"]),
    default="table",
    help="CoEA's exploration path in process (variants with groups): what the system would "
    "serve (the learner's table of (group, C'_short) rows + the serving rule), or each "
    "user's own aligned categories (no table).",
)
def evaluate(**args) -> None:
    """Compare CoEA with baselines offline on one temporal split; write results and plots.

    Every method is fitted on each user's train history and scored on the held-out future
    (metrics of appendix A.4 plus SER@K and item Hit/NDCG); see docs/evaluation.md.
    """
    from evaluation.report import git_commit

    start, commit = time.perf_counter(), git_commit(REPO_ROOT)
    split, names, settings, config = _prepare(args)
    click.echo(
        f"evaluating {', '.join(names)} on {len(split.targets)} users, "
        f"{len(config.seeds)} seed(s), {split.train.cmap.mode} categories "
        f"(|C|={split.n_categories})"
    )
    from evaluation.runner import run_methods

    captured: dict[str, list] = {}
    results = run_methods(split, names, settings, config, _capture(split, captured))
    sweep = _maybe_sweep(args, split, settings, config)
    meta = _meta(args, split, names, config.seeds, settings, commit)
    meta["profile"], meta["serving"] = args["profile"], args["serving"]
    if args["dataset"] == "synthetic":
        meta["dataset"]["world"] = args["synthetic_world"]
    meta["ser_oracle"] = _ser_oracle(split, meta["ks"], settings.blend.explore_slots)
    if split.truth is not None:
        meta["oracle"] = _oracle(split, meta["ks"], settings.blend.explore_slots)
    if "coea" in captured and "coea-live" in captured:
        from evaluation.agreement import agreement

        meta["live_agreement"] = agreement(captured["coea"], captured["coea-live"])
    paths = _write_outputs(args["out"], results, meta, sweep)
    _summary(results, paths, meta, time.perf_counter() - start)


def _oracle(split, ks, explore_slots) -> dict[str, float]:
    """The most HID@K any list, and an exploration path's slots alone, can reach."""
    from evaluation.metrics import hidden_oracle

    hidden = [split.truth.hidden.get(u, frozenset()) for u in split.eval_users]
    return hidden_oracle(hidden, ks, explore_slots)


def _ser_oracle(split, ks, explore_slots) -> dict[str, float]:
    """The most SER@K any list, and an exploration path's slots alone, can reach."""
    from evaluation.metrics import serendipity_oracle

    t = split.targets
    return serendipity_oracle(
        ((t[u].hist_full, t[u].pref) for u in split.eval_users), ks, explore_slots
    )


def _capture(split, captured: dict[str, list]):
    """on_seed_done hook: per-user scores of CoEA in process and live (for the agreement)."""

    def hook(method, seed: int) -> None:
        if method.name not in ("coea", "coea-live"):
            return
        from evaluation.agreement import user_scores

        # the lists and paths run_once just scored (ExplorationMethod keeps the last ones)
        scores = user_scores(method.last_lists, method.last_paths, split)
        captured.setdefault(method.name, []).append(scores)

    return hook


def _prepare(args: dict):
    import torch

    from evaluation.blend import BlendConfig
    from evaluation.datasets import DatasetUnavailable, ground_truth, load_dataset
    from evaluation.methods import MethodSettings
    from evaluation.methods.seqtrain import SeqConfig
    from evaluation.protocol import ProtocolConfig, build_split
    from evaluation.runner import RunConfig

    torch.set_num_threads(args["threads"])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    quick = args["quick"]
    if args["path"] is None and args["dataset"] == "ml-100k":
        args["path"] = DEFAULT_ML100K
    try:
        log = load_dataset(args["dataset"], args["path"], world=args["synthetic_world"])
    except (DatasetUnavailable, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    max_users = args["max_users"] or (QUICK["max_users"] if quick else None)
    proto = ProtocolConfig(
        mode=args["mode"],
        all_genres=not args["first_genre_only"],
        click_threshold=args["click_threshold"],
        max_users=max_users,
    )
    split = build_split(log, proto)
    split.truth = ground_truth(args["dataset"], world=args["synthetic_world"])
    if not split.targets:
        raise click.ClickException("no user has a held-out click: nothing to evaluate")
    epochs = args["epochs"] or (QUICK["epochs"] if quick else 10)
    slots = tuple(int(s) for s in args["blend_slots"].split(",") if s.strip())
    from evaluation.methods.live import PROFILE_OVERRIDES, LiveConfig

    if quick and not _given("profile"):
        args["profile"] = "small"  # --quick: the tiny PCO / DSIE configurations

    settings = MethodSettings(
        seq=replace(SeqConfig(), epochs=epochs),
        blend=BlendConfig(explore_slots=slots),
        pco_rounds=args["pco_rounds"],
        pco_overrides={**PROFILE_OVERRIDES[args["profile"]], "serving": args["serving"]},
        live=LiveConfig(out=args["out"], profile=args["profile"]) if args["live"] else None,
    )
    n_seeds = args["seeds"] if _given("seeds") or not quick else QUICK["seeds"]
    config = RunConfig(seeds=tuple(range(n_seeds)))
    return split, _parse_methods(args["methods"], quick, args["live"]), settings, config


def _given(param: str) -> bool:
    """True when the option was given on the command line (not its default)."""
    source = click.get_current_context().get_parameter_source(param)
    return source == click.core.ParameterSource.COMMANDLINE


def _maybe_sweep(args: dict, split, settings, config) -> dict | None:
    if not args["sweep"]:
        return None
    from evaluation.methods import unavailable_reason
    from evaluation.sweep import run_sweep

    reason = unavailable_reason("coea")
    if reason:
        raise click.ClickException(f"--sweep {args['sweep']} needs CoEA: {reason}")
    values = [float(v) for v in args["sweep_values"].split(",")] if args["sweep_values"] else None
    args["out"].mkdir(parents=True, exist_ok=True)
    return run_sweep(args["sweep"], values, split, settings, config, args["out"])


def _agreement_text(meta: dict) -> str:
    from evaluation.agreement import agreement_markdown

    n_users = meta["dataset"]["users_evaluated"]
    return agreement_markdown(meta["live_agreement"], n_users, len(meta["seeds"]))


def _live_text(results) -> str:
    """How the live runs went: cycles, events, which serving rule answered."""
    lines = []
    for r in results:
        for i, extra in enumerate(r.extras.get("per_seed", [])):
            info = extra.get("live")
            if info:
                lines.append(
                    f"- seed {i}: {info['cycles']} learner cycles, {info['events_sent']} events "
                    f"(per cycle {info['events_per_cycle']}), served by rule "
                    f"{info['served_by_rule']}, {info['live_seconds']} s; {info['run_folder']}"
                )
    return ("Live runs:\n\n" + "\n".join(lines) + "\n") if lines else ""


def _summary(results, paths: list[Path], meta: dict, seconds: float) -> None:
    from evaluation.report import (
        MAIN_COLUMNS,
        TRUTH_COLUMNS,
        markdown_table,
        oracle_line,
        serendipity_bound_line,
    )

    click.echo("")
    click.echo(markdown_table(results, MAIN_COLUMNS))
    if "ser_oracle" in meta:
        click.echo(serendipity_bound_line(meta))
    click.echo("")
    if any("ACC@5" in s for r in results for s in r.per_seed):
        click.echo("Serendipity ground truth (the generator's latent accept-sets):")
        click.echo(markdown_table(results, TRUTH_COLUMNS))
        if "oracle" in meta:
            click.echo(oracle_line(meta))
        click.echo("")
    if "live_agreement" in meta:
        click.echo(_agreement_text(meta))
        click.echo(_live_text(results))
    for r in results:
        wall = sum(r.wall_s) / len(r.wall_s)
        click.echo(f"  {r.label:<18} {wall:7.1f} s per seed")
    by_reason: dict[str, list[str]] = {}
    for entry in meta["methods_skipped"]:
        name, _, reason = entry.partition(" (")
        by_reason.setdefault(reason.rstrip(")"), []).append(name)
    for reason, names in by_reason.items():
        click.echo(f"skipped {', '.join(names)}: {reason}")
    click.echo(f"wrote {', '.join(str(p) for p in paths)} in {seconds:.0f} s")
