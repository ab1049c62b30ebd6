"""results.json and the markdown table in the shape of the paper's Table 2."""

from __future__ import annotations

import json
import math
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

from evaluation.methods.base import EXPLOITATION, EXPLORATION, OURS
from evaluation.runner import MethodResult

#: Table 2's Movielens-1M columns, plus SER@5 (ours; not in the paper).
MAIN_COLUMNS = ("C-H@1", "C-N@5", "NCP@5", "CLTP@5", "SER@5")
#: The same counts under the other readings the paper leaves open.
EXTRA_COLUMNS = (
    "NCP@5/K",
    "CLTP@5/K",
    "NCP-short@5",
    "SER-short@5",
    "path SER@2",
    "Hit@10",
    "NDCG@10",
)
#: Synthetic data only: the generator's latent accept-sets (docs/evaluation.md).
TRUTH_COLUMNS = ("ACC-rate@5", "ACC@5", "HID@5", "ACC-rate@10", "HID@10")
KIND_ORDER = (EXPLOITATION, EXPLORATION, OURS)
#: Rows of the paper's Table 2 that are implemented here (MostPop and UserPop are ours).
PAPER_BASELINES = ("two-tower", "gru4rec", "sasrec", "bert4rec", "hucb", "explore", "google-v1")


def git_commit(repo: Path) -> str:
    """`git rev-parse HEAD` plus '+dirty' when the tree has changes ('unknown' outside git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine() -> str:
    import os

    import torch

    return (
        f"{platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__} on CPU with "
        f"{torch.get_num_threads()} thread(s)"
    )


def results_payload(results: Sequence[MethodResult], meta: dict) -> dict:
    """Everything a run measured: per method, every metric's mean, std and per-seed values."""
    methods = {}
    for r in results:
        wall_mean = sum(r.wall_s) / len(r.wall_s) if r.wall_s else 0.0
        methods[r.name] = {
            "label": r.label,
            "type": r.kind,
            "metrics": r.summary(),
            "wall_s": {"mean": wall_mean, "per_seed": r.wall_s},
            **({"extras": r.extras} if r.extras else {}),
        }
    return {**meta, "methods": methods}


def results_from_payload(payload: dict) -> list[MethodResult]:
    """Rebuild `MethodResult`s from a results.json payload (to re-render its tables)."""
    out = []
    for name, entry in payload["methods"].items():
        metrics = entry["metrics"]
        n = len(entry["wall_s"]["per_seed"])
        per_seed = [{k: v["per_seed"][i] for k, v in metrics.items()} for i in range(n)]
        out.append(
            MethodResult(
                name,
                entry["label"],
                entry["type"],
                per_seed,
                list(entry["wall_s"]["per_seed"]),
                entry.get("extras", {}),
            )
        )
    return out


def write_json(payload: dict, path: Path) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


def _mean(r: MethodResult, col: str) -> float | None:
    vals = [s[col] for s in r.per_seed if col in s]
    return sum(vals) / len(vals) if vals else None


def _best(rows: Sequence[MethodResult], col: str) -> float | None:
    vals = [v for r in rows if (v := _mean(r, col)) is not None]
    return max(vals) if vals else None


def _cell(value: float | None, best: float | None, strongest: float | None) -> str:
    if value is None:
        return "-"
    text = f"{value:.4f}"
    if strongest is not None and math.isclose(value, strongest):
        text = f"<u>{text}</u>"
    if best is not None and math.isclose(value, best):
        text = f"**{text}**"
    return text


def improvement_row(
    results: Sequence[MethodResult], columns: Sequence[str], paper_only: bool = False
) -> list[str] | None:
    """CoEA's relative change over the strongest baseline, per column (None without CoEA).

    `paper_only`: compare with the paper's baselines only (no MostPop / UserPop rows).
    """
    coea = next((r for r in results if r.name == "coea"), None)
    baselines = [r for r in results if r.kind != OURS]
    if paper_only:
        baselines = [r for r in baselines if r.name in PAPER_BASELINES]
    if coea is None or not baselines:
        return None
    cells = []
    for col in columns:
        ours, base = _mean(coea, col), _best(baselines, col)
        if ours is None or not base:
            cells.append("-")
        else:
            cells.append(f"{100 * (ours - base) / base:+.2f}%")
    return cells


def markdown_table(results: Sequence[MethodResult], columns: Sequence[str] = MAIN_COLUMNS) -> str:
    """Table 2's shape: Type | Method | metrics; best bold, strongest baseline underlined,
    and an Improv. row (CoEA vs the strongest baseline) when CoEA was run."""
    baselines = [r for r in results if r.kind != OURS]
    best = {c: _best(results, c) for c in columns}
    strongest = {c: _best(baselines, c) for c in columns}
    lines = [
        "| Type | Method | " + " | ".join(columns) + " |",
        "|---|---|" + "---:|" * len(columns),
    ]
    for kind in KIND_ORDER:
        for r in (r for r in results if r.kind == kind):
            cells = [
                _cell(_mean(r, c), best[c], strongest[c] if r.kind != OURS else None)
                for c in columns
            ]
            lines.append(f"| {kind} | {r.label} | " + " | ".join(cells) + " |")
    imp = improvement_row(results, columns)
    if imp is not None:
        lines.append("| | Improv. | " + " | ".join(imp) + " |")
    imp_paper = improvement_row(results, columns, paper_only=True)
    if imp_paper is not None:
        lines.append("| | Improv. (paper's baselines) | " + " | ".join(imp_paper) + " |")
    return "\n".join(lines)


def std_table(results: Sequence[MethodResult], columns: Sequence[str]) -> str:
    """mean ± std over seeds and wall time per method, for the record."""
    lines = [
        "| Method | " + " | ".join(columns) + " | wall s/seed |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for r in results:
        summ = r.summary()
        cells = [
            f"{summ[c]['mean']:.4f} ± {summ[c]['std']:.4f}" if c in summ else "-" for c in columns
        ]
        wall = sum(r.wall_s) / len(r.wall_s) if r.wall_s else 0.0
        lines.append(f"| {r.label} | " + " | ".join(cells) + f" | {wall:.1f} |")
    return "\n".join(lines)


def oracle_line(meta: dict, key: str = "oracle", metric: str = "HID") -> str:
    """The @K upper bounds of meta[key] (`evaluation.metrics.hidden_oracle` for HID,
    `serendipity_oracle` for SER)."""
    oracle = meta.get(key) or {}
    ks = [k for k in meta.get("ks", [1, 5, 10]) if f"{metric}@{k}" in oracle]
    slots = ", ".join(str(s) for s in meta.get("blend", {}).get("explore_slots", ()))
    cells = "; ".join(
        f"{metric}@{k} <= {oracle[f'{metric}@{k}']:.4f} for any list, "
        f"<= {oracle[f'{metric}@{k} path slots']:.4f} from the exploration path's slots"
        for k in ks
    )
    return f"Oracle bound (same users; path slots {slots}): {cells}."


def serendipity_bound_line(meta: dict) -> str:
    """meta["ser_oracle"] as one line: how much SER@K the users' held-out futures allow."""
    return oracle_line(meta, "ser_oracle", "SER")


def _truth_section(results: Sequence[MethodResult], meta: dict | None = None) -> list[str]:
    if not any("ACC@5" in s for r in results for s in r.per_seed):
        return []
    world = (meta or {}).get("dataset", {}).get("world")
    oracle = [oracle_line(meta), ""] if meta and meta.get("oracle") else []
    return [
        "## Serendipity ground truth (synthetic data: the generator's latent accept-sets)",
        "",
        *([f"Synthetic world: {world} (docs/evaluation.md).", ""] if world else []),
        "ACC-rate@K = recommended novel categories in the user's accept-set / recommended "
        "novel categories; ACC@K = their share of the top K; HID@K = share of the top K in the "
        "user's hidden categories (accepted, never shown).",
        "",
        markdown_table(results, TRUTH_COLUMNS),
        "",
        *oracle,
    ]


def markdown_report(results: Sequence[MethodResult], meta: dict) -> str:
    ds = meta.get("dataset", {})
    head = [
        f"# Offline evaluation: {ds.get('name', '?')} ({ds.get('mode', '?')} categories)",
        "",
        f"- command: `{meta.get('command', '')}`",
        f"- commit: `{meta.get('commit', '')}`; machine: {meta.get('machine', '')}",
        f"- seeds: {meta.get('seeds')}; users evaluated: {ds.get('users_evaluated')}; "
        f"|C| = {ds.get('categories')}; long-tail categories: {ds.get('tail_categories')}",
        "- protocol and metric definitions: docs/evaluation.md. **bold** = best, "
        "<u>underlined</u> = strongest baseline (non-CoEA row); Improv. = CoEA vs it; "
        "Improv. (paper's baselines) leaves out the rows the paper does not have (MostPop, "
        "UserPop, UnseenPop, NeighbourUnseen).",
        "- NCP@K and CLTP@K divide by |C| as eq. 20-21 write them; `/K` columns divide by K.",
        "",
        "## Table 2 (mean over seeds)",
        "",
        markdown_table(results, MAIN_COLUMNS),
        "",
        *([serendipity_bound_line(meta), ""] if meta.get("ser_oracle") else []),
        "## Other readings of the open definitions",
        "",
        markdown_table(results, EXTRA_COLUMNS),
        "",
        *_truth_section(results, meta),
        "## Mean ± std over seeds, wall time",
        "",
        std_table(results, MAIN_COLUMNS + EXTRA_COLUMNS[:2]),
        "",
    ]
    return "\n".join(head)
