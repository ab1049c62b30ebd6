"""The options of the PCO experiment, declared once.

`python -m learners.pco.experiment` (argparse) and `coea pco run` (click) are both built from
`OPTIONS`, so their names, types, defaults, choices and help texts are the same.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from coea.data.movielens import CATEGORY_MODES

ABLATIONS = ("none", "no-long", "no-short", "no-rllm", "no-kl")


@dataclass(frozen=True)
class OptionSpec:
    """One command-line option: `flag` (e.g. `--short-k`) stored as `dest`."""

    flag: str
    help: str
    type: type = str
    default: Any = None
    choices: tuple[str, ...] | None = None
    is_flag: bool = False
    required: bool = False
    existing_dir: bool = False  # the value must name an existing folder (checked by click)
    dest_name: str | None = None

    @property
    def dest(self) -> str:
        """Attribute name in the parsed namespace."""
        return self.dest_name or self.flag.removeprefix("--").replace("-", "_")

    @property
    def shows_default(self) -> bool:
        """Whether the help text states the default."""
        return self.default is not None and not self.is_flag


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "--dataset", "MovieLens variant to read.", default="ml-100k", choices=("ml-100k", "ml-1m")
    ),
    OptionSpec(
        "--path",
        "MovieLens folder (read in place, never copied).",
        required=True,
        existing_dir=True,
    ),
    OptionSpec("--out", "Artifact root (cycle folders).", default="var/pco-ml100k"),
    OptionSpec("--cycles", "Closed-loop cycles after cycle 0.", type=int, default=10),
    OptionSpec(
        "--categories",
        "Category of a movie: first genre (19) or genre combination (216 on ML-100K).",
        default="genre-combo",
        choices=CATEGORY_MODES,
        dest_name="mode",
    ),
    OptionSpec("--short-k", "K: clicks in C_short (PCO steps).", type=int, default=50),
    OptionSpec(
        "--dsie-short-k",
        "K with which DSIE splits long-term from short-term clicks.",
        type=int,
        default=10,
    ),
    OptionSpec(
        "--train-short-k",
        "Window of cycle 0's SFT / reward steps (0: all clicks).",
        type=int,
        default=0,
    ),
    OptionSpec(
        "--tau", "DSIE I'_long filter: clicks on a category to keep its items.", type=int, default=5
    ),
    OptionSpec("--groups", "DSIE groups M_N.", type=int, default=50),
    OptionSpec("--groups-artifact", "Saved DSIE folder (coea groups fit) instead of fitting."),
    OptionSpec("--no-dsie", "No groups or profiles in the prompts (group -1).", is_flag=True),
    OptionSpec("--dsie-tiny", "Fit a tiny DSIE (fast; for smoke runs).", is_flag=True),
    OptionSpec("--holdout", "Share of held-out users.", type=float, default=0.1),
    OptionSpec(
        "--start-share", "Share of ratings cycle 0 sees (1.0: static D).", type=float, default=1.0
    ),
    OptionSpec("--max-users", "Use only the first N users (0: all).", type=int, default=0),
    OptionSpec("--alpha", "KL weight alpha (eq. 17).", type=float, default=0.4),
    OptionSpec("--beta", "DPO temperature beta (eq. 16).", type=float, default=0.1),
    OptionSpec("--fraction", "Share of D_k per cycle (eq. 15).", type=float, default=0.01),
    OptionSpec("--min-samples", "At least this many contexts per cycle.", type=int, default=128),
    OptionSpec("--m-candidates", "M: candidates per user.", type=int, default=10),
    OptionSpec("--dpo-lr", "Override the DPO learning rate.", type=float),
    OptionSpec("--sft-epochs", "Override the SFT epochs.", type=float),
    OptionSpec("--reward-epochs", "Override the reward-model epochs.", type=float),
    OptionSpec("--checkpoint", "Local HF checkpoint folder for both LLMs (default: built-in)."),
    OptionSpec(
        "--device",
        "Where the trainers run (cuda: bf16 mixed precision; an error when no GPU is visible).",
        default="cpu",
        choices=("cpu", "cuda"),
    ),
    OptionSpec("--ablation", "Paper ablation to apply.", default="none", choices=ABLATIONS),
    OptionSpec("--compare-kl", "Also run the same cycles without KL (alpha=0).", is_flag=True),
    OptionSpec("--seed", "Seed of splits, sampling and trainers.", type=int, default=0),
    OptionSpec(
        "--reuse-cycle0",
        "Load OUT/cycle0 if complete (it must have the same settings).",
        is_flag=True,
    ),
    OptionSpec("--json", "Write the results JSON here."),
    OptionSpec("--png", "Write the metrics-per-cycle plot here."),
    OptionSpec("--progress", "Show inner progress bars.", is_flag=True),
    OptionSpec("--threads", "Torch CPU threads (tiny models: 1 is fastest).", type=int, default=1),
)


def _argparse_kwargs(spec: OptionSpec) -> dict[str, Any]:
    """Keyword arguments of `ArgumentParser.add_argument` for one option."""
    help_text = spec.help.replace("%", "%%")
    if spec.shows_default:
        help_text += " (default: %(default)s)"
    kw: dict[str, Any] = {"dest": spec.dest, "help": help_text}
    if spec.is_flag:
        return {**kw, "action": "store_true"}
    kw.update(type=spec.type, default=spec.default, required=spec.required)
    if spec.choices:
        kw["choices"] = list(spec.choices)
    return kw


def add_arguments(
    parser: argparse.ArgumentParser, specs: Sequence[OptionSpec] = OPTIONS
) -> argparse.ArgumentParser:
    """Add `specs` to an argparse parser; returns the parser."""
    for spec in specs:
        parser.add_argument(spec.flag, **_argparse_kwargs(spec))
    return parser


def _click_type(spec: OptionSpec) -> click.ParamType | type:
    """The click parameter type of one option."""
    if spec.choices:
        return click.Choice(spec.choices)
    if spec.existing_dir:
        return click.Path(exists=True, file_okay=False)
    return spec.type


def click_option(spec: OptionSpec) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The click option decorator of one option."""
    if spec.is_flag:
        return click.option(spec.flag, spec.dest, is_flag=True, help=spec.help)
    return click.option(
        spec.flag,
        spec.dest,
        type=_click_type(spec),
        default=spec.default,
        required=spec.required,
        show_default=spec.shows_default,
        help=spec.help,
    )


def click_options(
    specs: Sequence[OptionSpec] = OPTIONS,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator adding every option of `specs` to a click command, in table order."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for spec in reversed(specs):
            func = click_option(spec)(func)
        return func

    return decorate
