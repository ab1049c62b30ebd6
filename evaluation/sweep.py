"""Hyper-parameter sweeps of CoEA (paper sec. 5.5, Figure 6): C-H@1 and NCP@5 per value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from evaluation.methods import MethodSettings
from evaluation.plots import plot_sweep
from evaluation.protocol import Split
from evaluation.runner import RunConfig, run_methods

#: parameter -> (the CoEA setting it overrides, default values: the paper's ranges)
SWEEPS: dict[str, tuple[str, tuple[float, ...]]] = {
    "tau": ("tau", (1, 3, 5, 7, 9)),
    "alpha": ("alpha", (0.0, 0.2, 0.4, 0.6, 0.8)),
    "levels": ("levels", (2, 4, 6, 8)),
    "groups": ("groups", (25, 50, 75, 100, 125)),
}
SWEEP_METRICS = ("C-H@1", "C-N@5", "NCP@5", "NCP@5/K", "SER@5")
#: Plotted: C-H@1 (the paper's panel) is constant under the blend rule (slot 1 = base), so the
#: plot shows C-N@5 for quality next to NCP@5 and SER@5; results.json has all of them.
SWEEP_PLOTTED = ("C-N@5", "NCP@5", "SER@5")


def run_sweep(
    param: str,
    values: Sequence[float] | None,
    split: Split,
    settings: MethodSettings,
    config: RunConfig,
    out_dir: Path,
) -> dict:
    """Run CoEA once per value of `param` (and its base ranker, refitted per value);
    write sweep_<param>.png; return the numbers."""
    if param not in SWEEPS:
        raise ValueError(f"unknown sweep {param!r}; expected one of {', '.join(SWEEPS)}")
    key, default_values = SWEEPS[param]
    values = list(values) if values else list(default_values)
    series: dict[str, list[float]] = {m: [] for m in SWEEP_METRICS}
    for value in values:
        overrides = {**settings.pco_overrides, key: value}
        (result,) = run_methods(split, ["coea"], replace(settings, pco_overrides=overrides), config)
        summary = result.summary()
        for metric in SWEEP_METRICS:
            series[metric].append(summary[metric]["mean"])
    plot_sweep(
        param, values, {m: series[m] for m in ("C-H@1", "NCP@5")}, out_dir / f"sweep_{param}.png"
    )
    return {"param": param, "values": values, "metrics": series}
