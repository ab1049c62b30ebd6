"""Results of a PCO run as JSON and as a PNG plot (metrics across cycles, like Figure 4)."""

from __future__ import annotations

import json
import math
from pathlib import Path


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def write_json(results: dict, path: str | Path) -> Path:
    """Write results (NaN -> null) with a trailing newline."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(results), indent=1) + "\n")
    return path


PANELS = (
    ("novelty", "novel_share@{m}", "coverage"),
    ("quality", "hit@{m}", "aligned_hit"),
    ("alignment", "aligned_share", "reward_pairwise_acc"),
    ("drift (KL)", "kl_to_ref", "kl_to_base"),
)


def plot(results: dict, path: str | Path) -> Path:
    """A 2x2 grid, one panel per concern; per run one colour and marker, solid for the first
    metric of a panel and dashed for the second."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = results["config"]["m_candidates"]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for ax, (title, first, second) in zip(axes.flat, PANELS, strict=True):
        for i, (name, rows) in enumerate(results["runs"].items()):
            for key, style in ((first, "-"), (second, "--")):
                if key is None:
                    continue
                key = key.format(m=m)
                pts = [(r["cycle"], r[key]) for r in rows if _finite(r.get(key))]
                if pts:
                    ax.plot(
                        *zip(*pts, strict=True), style, color=f"C{i}", marker="os^v"[i % 4],
                        ms=4, alpha=0.85, label=f"{name}: {key}",
                    )  # fmt: skip
        ax.set_title(title)
        ax.set_xlabel("cycle")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"PCO on {results['dataset']} ({results['category_mode']}, "
        f"{results['n_categories']} categories): held-out users, per cycle"
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _finite(v) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


if __name__ == "__main__":  # re-plot a results JSON: python -m learners.pco.report IN.json OUT.png
    import sys

    plot(json.loads(Path(sys.argv[1]).read_text()), sys.argv[2])
