"""Does the live evaluation agree with the in-process one? Differences and their noise.

For each metric, over the same evaluated users and seeds:

  diff  = mean(live) - mean(in-process)                      (means over users, then seeds)
  se    = sd_u(d_u) / sqrt(n),  d_u = mean over seeds of (live_u - in-process_u)
          (paired: how much the difference moves with the sample of users)
  noise = sqrt(se^2 + (sd_s(live)^2 + sd_s(in-process)^2) / S)
          (sd_s = standard deviation of the metric over the S seeds: retraining noise;
          with one seed it cannot be measured and only se counts)
  agree = |diff| <= 2 * noise

The two-sigma band of the difference of two means: numbers that agree "within noise" differ
by no more than two seeds or two samples of users would be expected to.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from evaluation import metrics as m
from evaluation.protocol import Split

#: What the agreement table compares: Table 2's quality and novelty, SER, the path alone.
AGREEMENT_KEYS = (
    "C-H@1",
    "C-N@5",
    "NCP@5/K",
    "CLTP@5/K",
    "SER@5",
    "path C-H@5",
    "path NCP@5/K",
)

UserScores = dict[str, dict[str, float]]  # user -> metric -> value


def user_scores(
    lists: Mapping[str, Sequence[str]], paths: Mapping[str, Sequence[str]], split: Split
) -> UserScores:
    """Every AGREEMENT_KEYS metric per evaluated user, from final lists and paths."""
    from evaluation.runner import category_metrics

    out: UserScores = {}
    for u in split.eval_users:
        t, ranked, path = split.targets[u], lists[u], paths.get(u, [])
        row = category_metrics(ranked, split, u, 1) | category_metrics(ranked, split, u, 5)
        row["path C-H@5"] = m.category_hit(path, t.pref, 5)
        row["path NCP@5/K"] = m.novel_category_share(path, t.hist_full, 5)
        out[u] = {key: row[key] for key in AGREEMENT_KEYS}
    return out


def _sd(values: Sequence[float]) -> float:
    return m.mean_std(values)[1]


def agreement(
    in_process: Sequence[UserScores], live: Sequence[UserScores], keys=AGREEMENT_KEYS
) -> dict[str, dict[str, float | bool | None]]:
    """Per metric: in-process and live means, diff, se, seed sds, noise, agree (see module)."""
    if len(in_process) != len(live) or not live:
        raise ValueError("need the same (non-zero) number of seeds on both sides")
    users = sorted(set.intersection(*(set(s) for s in (*in_process, *live))))
    if not users:
        raise ValueError("no user is scored on both sides")
    n_seeds, out = len(live), {}
    for key in keys:
        a = [[s[u][key] for u in users] for s in in_process]
        b = [[s[u][key] for u in users] for s in live]
        a_means = [sum(v) / len(v) for v in a]
        b_means = [sum(v) / len(v) for v in b]
        d_u = [sum(b[s][i] - a[s][i] for s in range(n_seeds)) / n_seeds for i in range(len(users))]
        se = _sd(d_u) / math.sqrt(len(users))
        sd_a = _sd(a_means) if n_seeds > 1 else None
        sd_b = _sd(b_means) if n_seeds > 1 else None
        seed_var = (sd_a**2 + sd_b**2) / n_seeds if n_seeds > 1 else 0.0
        noise = math.sqrt(se**2 + seed_var)
        diff = sum(b_means) / n_seeds - sum(a_means) / n_seeds
        out[key] = {
            "in_process": sum(a_means) / n_seeds,
            "live": sum(b_means) / n_seeds,
            "diff": diff,
            "se_users": se,
            "sd_seeds_in_process": sd_a,
            "sd_seeds_live": sd_b,
            "noise": noise,
            "agree": abs(diff) <= 2 * noise,
        }
    return out


def agreement_markdown(table: Mapping[str, Mapping], n_users: int, n_seeds: int) -> str:
    """The agreement table as markdown (one row per metric)."""
    lines = [
        f"Live vs in-process CoEA ({n_users} users, {n_seeds} seed(s); agree = |diff| <= "
        "2 noise, see evaluation/agreement.py)",
        "",
        "| metric | in-process | live | diff | noise | agree |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in table.items():
        lines.append(
            f"| {key} | {row['in_process']:.4f} | {row['live']:.4f} | {row['diff']:+.4f} | "
            f"{row['noise']:.4f} | {'yes' if row['agree'] else '**no**'} |"
        )
    if n_seeds < 2:
        lines += ["", "One seed: retraining noise is not measured; noise is the users' only."]
    return "\n".join(lines) + "\n"
