"""PNG figures (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from evaluation.runner import MethodResult  # noqa: E402

_MARKERS = {"Exploitation": "o", "Exploration": "s", "Ours": "*"}


def _mean_std(r: MethodResult, key: str) -> tuple[float, float]:
    summ = r.summary().get(key)
    return (summ["mean"], summ["std"]) if summ else (float("nan"), 0.0)


def plot_tradeoff(
    results: Sequence[MethodResult], path: Path, quality: str = "C-N@5", novelty: str = "NCP@5/K"
) -> Path:
    """Quality vs novelty, one point per method (error bars: std over seeds)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for r in results:
        (x, dx), (y, dy) = _mean_std(r, novelty), _mean_std(r, quality)
        ax.errorbar(
            x,
            y,
            xerr=dx,
            yerr=dy,
            fmt=_MARKERS.get(r.kind, "o"),
            ms=8,
            capsize=2,
            label=f"{r.label} ({r.kind})",
        )
        ax.annotate(r.label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(f"novelty: {novelty}")
    ax.set_ylabel(f"quality: {quality}")
    ax.set_title("Quality vs novelty per method")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


ROUND_PANELS = ("C-N@5", "NCP@5/K", "path C-H@5", "path NCP@5/K")


def plot_rounds(
    curves: dict[str, dict[str, list[float]]], path: Path, keys: Sequence[str] = ROUND_PANELS
) -> Path:
    """Figure 4: quality and novelty across PCO rounds, one line per variant.

    Top: the final (blended) list's C-N@5 and NCP@5/K. Bottom: the exploration path alone
    (its share in C_pref, its share new to C_hist). C-H@1 is not plotted: slot 1 is the base.

    Args:
        curves: variant label -> {"round": [...], metric name: [...]} (CoEA, CoEA (w/o KL)).
        path: where the PNG goes.
    """
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, key in zip(axes.flat, keys, strict=True):
        for label, curve in curves.items():
            if key in curve:
                ax.plot(curve["round"], curve[key], marker="o", ms=3, label=label)
        ax.set_xlabel("PCO round")
        ax.set_ylabel(key)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Quality and novelty across fine-tuning rounds (Figure 4)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_sweep(
    param: str, values: Sequence[float], series: dict[str, list[float]], path: Path
) -> Path:
    """A hyper-parameter sweep (Figure 6 style): one panel per metric."""
    fig, axes = plt.subplots(1, len(series), figsize=(5 * len(series), 4), squeeze=False)
    for ax, (key, ys) in zip(axes[0], series.items(), strict=True):
        ax.plot(values, ys, marker="o")
        ax.set_xlabel(param)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    fig.suptitle(f"CoEA sweep over {param}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
