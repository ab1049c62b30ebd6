"""Summaries and plots of the learner's cycles (read from its cycle manifests)."""

from __future__ import annotations

import json
from pathlib import Path

from learners import cycle_store


def cycle_rows(root: str | Path) -> list[dict]:
    """One flat row per complete cycle: rows, aligned share, timings, losses, KL."""
    out = []
    for k in cycle_store.complete_cycles(Path(root)):
        m = cycle_store.load_cycle(Path(root), k).manifest
        met, pco = m.get("metrics", {}), m.get("metrics", {}).get("pco", {})
        out.append(
            {
                "cycle": k,
                "reason": m.get("reason"),
                "users": met.get("users"),
                "keys": met.get("keys"),
                "rows": met.get("rows"),
                "aligned_share": met.get("aligned_share"),
                "cycle_seconds": met.get("cycle_seconds"),
                "kl_to_ref": pco.get("kl_to_ref"),
                "dpo_loss": _last(pco.get("dpo")),
                "reward_loss": _last(pco.get("reward")),
                "sft_loss": _last(pco.get("sft")),
            }
        )
    return out


def _last(metrics) -> float | None:
    if not isinstance(metrics, dict):
        return None
    for key in ("final_loss", "loss_last", "train_loss", "loss"):
        value = metrics.get(key)
        if isinstance(value, int | float):
            return float(value)
    return None


def write_report(root: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """cycles.json and cycles.png (aligned share and cycle time per cycle) into out_dir."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = cycle_rows(root)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / "cycles.json"
    js.write_text(json.dumps(rows, indent=1))
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    ks = [r["cycle"] for r in rows]
    a.plot(ks, [r["aligned_share"] or 0 for r in rows], marker="o")
    a.set(title="aligned share of candidates (eq. 14)", xlabel="cycle", ylim=(0, 1))
    b.bar(ks, [r["cycle_seconds"] or 0 for r in rows])
    b.set(title="cycle wall time (s)", xlabel="cycle")
    for ax in (a, b):
        ax.set_xticks(ks)
    fig.tight_layout()
    png = out_dir / "cycles.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return js, png
